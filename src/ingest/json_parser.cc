// json_parser.cc
// Parser for pveaudit's own JSON event lines (one object per line), as
// printed by `pveam access log --output-format json` or written by a feed.
#include "core/event_json.h"
#include "ingest/parse_util.h"

namespace pveaudit::ingest {
namespace {

class JsonParser : public LineParser {
 public:
  explicit JsonParser(const ParseContext& ctx) : ctx_(ctx) {}
  LineFormat format() const override { return LineFormat::kJson; }

  LineVerdict Parse(std::string_view line, uint64_t line_no, std::vector<Event>* out,
                    std::string* reason) override {
    size_t b = 0;
    while (b < line.size() && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r')) ++b;
    line.remove_prefix(b);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.empty()) return LineVerdict::kIgnored;
    Result<Event> r = EventFromJson(line);
    if (!r.ok()) {
      *reason = r.status().message();
      return LineVerdict::kRejected;
    }
    Event e = std::move(r).value();
    e.id = 0;
    if (e.source.empty()) e.source = "json";
    // Keep the provenance the object carries (the original log file and
    // line); an object without one came from this file.
    if (e.origin.empty()) {
      e.origin = ctx_.origin;
      e.origin_line = line_no;
    }
    out->push_back(std::move(e));
    return LineVerdict::kEvents;
  }

 private:
  ParseContext ctx_;
};

}  // namespace

std::unique_ptr<LineParser> MakeJsonParser(const ParseContext& ctx) {
  return std::make_unique<JsonParser>(ctx);
}

}  // namespace pveaudit::ingest

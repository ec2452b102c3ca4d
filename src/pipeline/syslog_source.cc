#include "pipeline/syslog_source.h"

#include <strings.h>

#include <chrono>

namespace pveaudit {

bool SyslogHostnameNames(std::string_view claimed, std::string_view node) {
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
  };
  if (same(claimed, node)) return true;
  size_t dot = claimed.find('.');
  return dot != std::string_view::npos && node.find('.') == std::string_view::npos &&
         same(claimed.substr(0, dot), node);
}

Status SyslogSource::Start(const ListenOptions& options) {
  PVEAUDIT_RETURN_IF_ERROR(listener_.Start(options));
  ParseContext ctx;
  ctx.origin = "syslog";
  parser_ = MakeLineParser(LineFormat::kAuth, ctx);
  return Status::OK();
}

Status SyslogSource::Poll(EventStore& store) {
  if (pending_events_.empty() && pending_rejected_.empty()) {
    std::vector<SyslogMessage> msgs;
    listener_.Drain(&msgs, 20000, std::chrono::milliseconds(0));
    std::string reason;
    for (const SyslogMessage& m : msgs) {
      ++seq_;
      const std::string origin = "syslog:" + m.peer;
      if (!m.rejected.empty()) {
        pending_rejected_.push_back(RejectedLine{0, origin, seq_, m.rejected, m.line});
        continue;
      }
      reason.clear();
      size_t before = pending_events_.size();
      if (parser_->Parse(m.line, seq_, &pending_events_, &reason) == LineVerdict::kRejected) {
        pending_rejected_.push_back(RejectedLine{0, origin, seq_, reason, m.line});
        continue;
      }
      if (!m.node.empty()) {
        // The allow-list names the node; a line claiming another one is
        // evidence of someone else's node and is kept aside instead.
        for (size_t i = before; i < pending_events_.size(); ++i) {
          const std::string& claimed = pending_events_[i].node;
          if (!SyslogHostnameNames(claimed, m.node)) {
            reason = "node name mismatch: the line claims '" + claimed + "', peer " + m.peer +
                     " is '" + m.node + "' on the allow-list";
            break;
          }
        }
        if (!reason.empty()) {
          pending_events_.resize(before);
          pending_rejected_.push_back(RejectedLine{0, origin, seq_, reason, m.line});
          ++pending_mismatches_;
          continue;
        }
        for (size_t i = before; i < pending_events_.size(); ++i) pending_events_[i].node = m.node;
      }
      for (size_t i = before; i < pending_events_.size(); ++i) pending_events_[i].origin = origin;
    }
    tracker_.Apply(&pending_events_);
  }
  if (pending_events_.empty() && pending_rejected_.empty()) return Status::OK();
  Status st = store.Append(&pending_events_, pending_rejected_, nullptr);
  if (!st.ok()) return st;
  events_ += pending_events_.size();
  rejected_ += pending_rejected_.size();
  node_mismatches_ += pending_mismatches_;
  pending_events_.clear();
  pending_rejected_.clear();
  pending_mismatches_ = 0;
  return Status::OK();
}

}  // namespace pveaudit

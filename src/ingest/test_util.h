// test_util.h (tests only): fixture helpers for the ingest tests.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include "ingest/line_parser.h"

namespace pveaudit::testing {

inline std::vector<std::string> ReadLines(const std::string& name) {
  std::ifstream in(std::string(PVEAUDIT_TESTDATA) + "/ingest/" + name);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

struct Parsed {
  std::vector<LineVerdict> verdicts;
  std::vector<std::string> reasons;  // per line; "" unless rejected
  std::vector<Event> events;
};

inline Parsed ParseAll(LineParser& p, const std::vector<std::string>& lines) {
  Parsed r;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string reason;
    r.verdicts.push_back(p.Parse(lines[i], i + 1, &r.events, &reason));
    r.reasons.push_back(reason);
  }
  return r;
}

}  // namespace pveaudit::testing

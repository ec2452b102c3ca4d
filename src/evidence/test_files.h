// test_files.h (tests only)
// Whole-file reads and writes and fresh temporary directories for the
// evidence tests, which tamper with files byte by byte.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace pveaudit::test {

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline void Spit(const std::filesystem::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}
// A new directory under the system's temporary directory; the caller removes it.
inline std::filesystem::path TempDir(const std::string& what) {
  std::filesystem::path d =
      std::filesystem::temp_directory_path() /
      ("pveaudit-evidence-" + what + "-" + std::to_string(std::random_device()()));
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace pveaudit::test

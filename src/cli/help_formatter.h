// help_formatter.h
// HelpFormatter keeps every line of `--help` within 80 columns, for pveam,
// pveum and pveauditd. CLI11 2.1 prints an option's description on one line
// however long it is (and the program description and footers as given);
// this formatter wraps option and subcommand descriptions at word
// boundaries under their description column, and any other line longer
// than 80 columns under its own indentation.
// Header-only: pveauditd uses it without linking the CLI library.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/version.h"  // kPveauditVersion

namespace pveaudit {

inline constexpr size_t kHelpWidth = 80;

// Splits `text` at its newlines and then at spaces into lines of at most
// `width` columns. A word longer than `width` stays whole on its own line.
inline std::vector<std::string> WrapWords(const std::string& text, size_t width) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string para = text.substr(start, nl - start);
    std::string line;
    size_t p = 0;
    bool any = false;
    while (p < para.size()) {
      size_t q = para.find(' ', p);
      if (q == std::string::npos) q = para.size();
      std::string word = para.substr(p, q - p);
      p = q + 1;
      if (word.empty()) continue;
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        out.push_back(line);
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
      any = true;
    }
    if (any || para.empty()) out.push_back(line);
    start = nl + 1;
  }
  return out;
}

class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter() { column_width(30); }

  std::string make_option(const CLI::Option* opt, bool is_positional) const override {
    return Columns(make_option_name(opt, is_positional) + make_option_opts(opt),
                   make_option_desc(opt));
  }

  std::string make_subcommand(const CLI::App* sub) const override {
    return Columns(sub->get_display_name(true), sub->get_description());
  }

  // The description, usage and footer lines: wrapped under their own
  // indentation when longer than kHelpWidth.
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    std::string text = CLI::Formatter::make_help(app, std::move(name), mode);
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(start, nl - start);
      start = nl + 1;
      if (line.size() <= kHelpWidth) {
        out += line + "\n";
        continue;
      }
      const size_t indent = std::min(line.find_first_not_of(' '), kHelpWidth / 2);
      const std::string pad(indent, ' ');
      for (const std::string& l : WrapWords(line.substr(indent), kHelpWidth - indent))
        out += pad + l + "\n";
    }
    return out;
  }

 private:
  // "  NAME        description" with the description wrapped in its column.
  std::string Columns(const std::string& name, const std::string& desc) const {
    const size_t wid = get_column_width();
    std::string out = "  " + name;
    if (desc.empty()) return out + "\n";
    const std::string pad(wid, ' ');
    if (out.size() >= wid)
      out += "\n" + pad;
    else
      out.resize(wid, ' ');
    bool first = true;
    for (const std::string& l : WrapWords(desc, kHelpWidth - wid)) {
      out += (first ? "" : pad) + l + "\n";
      first = false;
    }
    return out;
  }
};

// Gives `app` (and the subcommands added to it afterwards) the formatter.
inline void UseHelpFormatter(CLI::App* app) { app->formatter(std::make_shared<HelpFormatter>()); }

}  // namespace pveaudit

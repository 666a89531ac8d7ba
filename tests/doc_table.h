// Reads a Markdown table, or a hex dump, of docs/ for tests that check the docs against the
// code's own declarations (settings, detector knobs) and output (wire examples).
// Header-only: each unit-test binary includes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::testing {

// `s` without one pair of surrounding `q` characters, if it has them.
inline std::string Unquote(std::string s, char q) {
  return s.size() >= 2 && s.front() == q && s.back() == q ? s.substr(1, s.size() - 2) : s;
}

// The rows of the first table after the line starting with `heading` in docs/`file`, keyed
// by the first cell without its backticks; each row is its cells, trimmed by one space on
// each side. Empty if the file or heading is missing.
inline std::map<std::string, std::vector<std::string>> DocTable(const std::string& file,
                                                                const std::string& heading) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/" + file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  std::map<std::string, std::vector<std::string>> rows;
  const auto at = doc.find("\n" + heading);
  if (at == std::string::npos) return rows;
  std::istringstream lines(doc.substr(at + 1));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line) && (line.empty() || line[0] == '|' || rows.empty())) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream row(line.substr(1));
    while (std::getline(row, cell, '|')) cells.push_back(cell.substr(1, cell.size() - 2));
    rows[Unquote(cells.at(0), '`')] = cells;
  }
  return rows;
}

// The bytes of the first hex dump (a code block whose lines are "0000  56 47 ...") after the
// line holding `heading` in docs/`file`. Empty if the file, heading or dump is missing.
inline std::vector<std::uint8_t> DocHexDump(const std::string& file, const std::string& heading) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/docs/" + file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto at = doc.find(heading);
  const auto start = doc.find("```\n0000", at);
  if (at == std::string::npos || start == std::string::npos) return {};
  const auto end = doc.find("```", start + 3);
  std::istringstream dump(doc.substr(start + 4, end - start - 4));
  std::vector<std::uint8_t> bytes;
  std::string line, byte;
  while (std::getline(dump, line)) {
    std::istringstream fields(line.substr(std::min<std::size_t>(6, line.size())));
    while (fields >> byte) {
      bytes.push_back(static_cast<std::uint8_t>(std::stoul(byte, nullptr, 16)));
    }
  }
  return bytes;
}

}  // namespace vigil::testing

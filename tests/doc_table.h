// Reads a Markdown table of docs/ for tests that check the docs against the code's own
// declarations (settings, detector knobs). Header-only: each unit-test binary includes it.
#pragma once

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

}  // namespace vigil::testing

#include "ctl/tune_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "ctl/trace_input.h"  // FormatMs

namespace vigil {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Mistake rates span decades and include 0: plotted on a log axis from kRateFloor.
constexpr double kRateFloor = 0.01;

// The plot area and its log scales.
struct Frame {
  double w = 760, h = 480, left = 80, right = 180, top = 40, bottom = 60;
  double lx0 = 0, lx1 = 1, ly0 = 0, ly1 = 1;  // log10 of the axis ranges

  double X(double rate) const {
    return left + (std::log10(std::max(rate, kRateFloor)) - lx0) / (lx1 - lx0) *
                      (w - left - right);
  }
  double Y(double ms) const {
    return top + (1 - (std::log10(ms) - ly0) / (ly1 - ly0)) * (h - top - bottom);
  }
};

Frame FrameFor(const std::vector<Candidate>& all, double budget) {
  Frame f;
  double xmax = budget * 10, ymin = kInf, ymax = 0;
  for (const auto& c : all) {
    xmax = std::max(xmax, c.train.mistakes_per_hour);
    if (std::isfinite(c.train.detection_mean_ms)) {
      ymin = std::min(ymin, c.train.detection_mean_ms);
      ymax = std::max(ymax, c.train.detection_mean_ms);
    }
  }
  if (!std::isfinite(ymin)) ymin = 1;
  if (!(ymax > ymin)) ymax = ymin + 1;
  f.lx0 = std::log10(kRateFloor);
  f.lx1 = std::log10(std::max(xmax, 1.0) * 1.5);
  f.ly0 = std::log10(std::max(1.0, ymin * 0.8));
  f.ly1 = std::log10(ymax * 1.2);
  return f;
}

// Background, title, axes with ticks at decades (and 1-2-5 for time), labels, the budget.
std::string Axes(const Frame& f, double budget, const std::string& title) {
  std::string s = fmt::format(
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" font-family="sans-serif" font-size="12">
<rect width="{0}" height="{1}" fill="white"/>
<text x="{2}" y="22" font-size="14">{3}</text>
)svg",
      f.w, f.h, f.left, title);
  s += fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="black"/>)svg" "\n",
                   f.left, f.h - f.bottom, f.w - f.right);
  s += fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="black"/>)svg" "\n",
                   f.left, f.top, f.h - f.bottom);
  const int first = static_cast<int>(std::ceil(f.lx0));
  for (int e = first; e <= static_cast<int>(std::floor(f.lx1)); ++e) {
    s += fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#ddd"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>)svg" "\n",
                     f.X(std::pow(10.0, e)), f.top, f.h - f.bottom, f.h - f.bottom + 16,
                     e == first ? "≤0.01" : fmt::format("{:g}", std::pow(10.0, e)));
  }
  for (double v = std::pow(10.0, std::floor(f.ly0)); v <= std::pow(10.0, f.ly1); v *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double y = v * m;
      if (std::log10(y) < f.ly0 || std::log10(y) > f.ly1) continue;
      s += fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#eee"/><text x="{3}" y="{4}" text-anchor="end">{5}</text>)svg" "\n",
                       f.left, f.Y(y), f.w - f.right, f.left - 6, f.Y(y) + 4, FormatMs(y));
    }
  }
  s += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle">mistakes per hour (training part)</text>)svg" "\n",
                   (f.left + f.w - f.right) / 2, f.h - 20);
  s += fmt::format(R"svg(<text x="18" y="{0}" transform="rotate(-90 18 {0})" text-anchor="middle">mean detection time</text>)svg" "\n",
                   (f.top + f.h - f.bottom) / 2);
  s += fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#888" stroke-dasharray="4 4"/><text x="{3}" y="{4}" fill="#555">budget {5}/h</text>)svg" "\n",
                   f.X(budget), f.top, f.h - f.bottom, f.X(budget) + 4, f.top + 12, budget);
  return s;
}

// One family: every setting a faint dot, the frontier (the fastest setting at or below each
// mistake rate) a line, its choice circled, and its legend entry.
std::string Family(const Frame& f, const std::vector<Candidate>& all, const std::string& family,
                   const char* color, const Candidate* chosen, int legend_row) {
  std::string s;
  std::vector<std::pair<double, double>> pts;
  for (const auto& c : all) {
    if (c.family != family || !std::isfinite(c.train.detection_mean_ms)) continue;
    pts.emplace_back(c.train.mistakes_per_hour, c.train.detection_mean_ms);
    s += fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="2" fill="{}" opacity="0.35"/>)svg" "\n",
                     f.X(c.train.mistakes_per_hour), f.Y(c.train.detection_mean_ms), color);
  }
  std::sort(pts.begin(), pts.end());
  std::string path;
  double best = kInf;
  for (const auto& [x, y] : pts) {
    if (y >= best) continue;
    best = y;
    path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", f.X(x), f.Y(y));
  }
  if (!path.empty()) {
    s += fmt::format(R"svg(<path d="{}" fill="none" stroke="{}" stroke-width="2"/>)svg" "\n", path, color);
  }
  if (chosen != nullptr) {
    s += fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="6" fill="none" stroke="{}" stroke-width="2"/>)svg" "\n",
                     f.X(chosen->train.mistakes_per_hour), f.Y(chosen->train.detection_mean_ms), color);
  }
  const double ly = f.top + 20 + 36 * legend_row;
  s += fmt::format(R"svg(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}" stroke-width="2"/><text x="{4}" y="{5}">{6}</text>)svg" "\n",
                   f.w - f.right + 10, ly, f.w - f.right + 30, color, f.w - f.right + 36, ly + 4, family);
  if (chosen != nullptr) {
    s += fmt::format(R"svg(<text x="{}" y="{}" fill="#555" font-size="10">chosen: {}</text>)svg" "\n",
                     f.w - f.right + 36, ly + 18, FormatMs(chosen->train.detection_mean_ms));
  }
  return s;
}

}  // namespace

std::string TunePlotSvg(const std::vector<Candidate>& all, const TuneChoices& chosen,
                        double budget, const std::string& title) {
  const Frame f = FrameFor(all, budget);
  std::string s = Axes(f, budget, title);
  const std::map<std::string, const char*> colors = {{"adaptive", "#d62728"}, {"phi", "#1f77b4"},
                                                     {"phi-exponential", "#2ca02c"},
                                                     {"timeout", "#7f7f7f"}};
  int row = 0;
  for (const auto& [family, color] : colors) {
    const auto it = chosen.families.find(family);
    s += Family(f, all, family, color, it == chosen.families.end() ? nullptr : it->second.candidate,
                row++);
  }
  return s + "</svg>\n";
}

}  // namespace vigil

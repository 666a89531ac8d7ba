// The SVG trade-off plot of vigilctl tune: mistakes per hour (log) against mean detection
// time (log), every setting a dot, each family's frontier a line, the choices circled.
#pragma once

#include <string>
#include <vector>

#include "quality/tune.h"

namespace vigil {

std::string TunePlotSvg(const std::vector<Candidate>& all, const TuneChoices& chosen,
                        double budget, const std::string& title);

}  // namespace vigil

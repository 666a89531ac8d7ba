#include "quality/trace_generator.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace vigil {

std::string_view TraceScenarioName(TraceScenario s) {
  switch (s) {
    case TraceScenario::kLan:
      return "lan";
    case TraceScenario::kWan:
      return "wan";
    case TraceScenario::kBursty:
      return "bursty";
    case TraceScenario::kStalls:
      return "stalls";
    case TraceScenario::kRegimes:
      return "regimes";
  }
  return "lan";
}

std::optional<TraceScenario> ParseTraceScenario(std::string_view name) {
  for (auto s : AllTraceScenarios()) {
    if (TraceScenarioName(s) == name) return s;
  }
  return std::nullopt;
}

const std::vector<TraceScenario>& AllTraceScenarios() {
  static const std::vector<TraceScenario> all = {TraceScenario::kLan, TraceScenario::kWan,
                                                 TraceScenario::kBursty, TraceScenario::kStalls,
                                                 TraceScenario::kRegimes};
  return all;
}

namespace {

// Network conditions: the delay and loss models a scenario (or a regime of one) uses.
struct Network {
  double base_ms = 0.2;
  double jitter_ms = 0.05;       // scale of the log-normal jitter
  double jitter_sigma = 0.5;     // its log-space spread
  double correlation_s = 5;      // time constant of the AR(1) jitter process
  double episodes_per_min = 0;   // congestion episodes (Pareto peak delay)
  double episode_peak_ms = 50;   // Pareto scale of the peak
  double episode_mean_s = 1;     // mean episode length
  double loss_good = 0.001;      // Gilbert–Elliott: loss in the good state
  double loss_bad = 0;           //                  loss in the bad state
  double to_bad = 0;             //                  per heartbeat, good -> bad
  double to_good = 1;            //                  per heartbeat, bad -> good
};

Network Calm() { return Network{}; }

Network Wan() {
  Network n;
  n.base_ms = 30;
  n.jitter_ms = 4;
  n.jitter_sigma = 0.8;
  n.episodes_per_min = 1;
  n.episode_peak_ms = 40;
  n.loss_good = 0.005;
  return n;
}

Network Bursty() {
  Network n;
  n.base_ms = 10;
  n.jitter_ms = 1;
  n.loss_good = 0.001;
  n.loss_bad = 0.7;
  n.to_bad = 0.002;
  n.to_good = 0.25;
  return n;
}

Network Noisy() {
  Network n = Wan();
  n.loss_bad = 0.6;
  n.to_bad = 0.004;
  n.to_good = 0.3;
  n.episodes_per_min = 3;
  return n;
}

class Generator {
 public:
  explicit Generator(const TraceGeneratorOptions& o)
      : o_(o), rng_(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(o.scenario)) {}

  Trace Run() {
    const double interval_ms = ToMillis(o_.interval);
    const double length_ms = ToMillis(o_.length);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::exponential_distribution<double> exp1(1.0);

    Network net = Initial();
    bool calm = true;
    double regime_end_ms = o_.scenario == TraceScenario::kRegimes ? exp1(rng_) * 10 * 60'000 : 1e300;
    double next_stall_ms = o_.scenario == TraceScenario::kStalls ? exp1(rng_) * 90'000 : 1e300;
    double next_episode_ms = NextEpisode(net, 0);
    double episode_start = -1, episode_end = -1, episode_peak = 0;
    double z = 0;
    bool bad = false;
    double clock_ms = 0;  // when the sender's timer lets it send the next heartbeat
    double last_t = 0;

    Trace trace;
    std::vector<TraceRow> rows;
    for (std::uint64_t seq = 1;; ++seq) {
      double send = static_cast<double>(seq) * interval_ms;
      // Timer jitter of the sender: ±1 % of the interval, the mean stays exact.
      send += (unit(rng_) - 0.5) * 0.02 * interval_ms;
      if (send < clock_ms) send = clock_ms + 0.05;  // catching up after a stall: back to back
      if (send >= next_stall_ms) {
        // The sender stalls (GC, VM pause): nothing leaves until it resumes, then every
        // missed heartbeat goes out at once.
        const double stall = 200 + unit(rng_) * 2800;
        clock_ms = next_stall_ms + stall;
        next_stall_ms = clock_ms + exp1(rng_) * 90'000;
        send = clock_ms;
      }
      if (send > length_ms) break;
      clock_ms = send;

      if (send >= regime_end_ms) {
        calm = !calm;
        net = calm ? Calm() : Noisy();
        regime_end_ms = send + exp1(rng_) * (calm ? 10 : 4) * 60'000;
        next_episode_ms = NextEpisode(net, send);
      }

      // Jitter: an AR(1) process in log space, correlated over `correlation_s`.
      const double dt = send - last_t;
      last_t = send;
      const double rho = std::exp(-dt / (net.correlation_s * 1000));
      z = rho * z + std::sqrt(1 - rho * rho) * normal(rng_);
      double delay = net.base_ms + net.jitter_ms * std::exp(net.jitter_sigma * z);

      // Congestion episodes: the delay ramps up to a Pareto-distributed peak and back down.
      if (send >= next_episode_ms) {
        episode_start = send;
        episode_end = send + exp1(rng_) * net.episode_mean_s * 1000;
        episode_peak = std::min(3000.0, net.episode_peak_ms / std::pow(1 - unit(rng_), 1 / 1.5));
        next_episode_ms = NextEpisode(net, episode_end);
      }
      if (send >= episode_start && send < episode_end) {
        const double x = (send - episode_start) / (episode_end - episode_start);
        delay += episode_peak * (1 - std::abs(2 * x - 1));
      }

      // Loss: Gilbert–Elliott.
      if (bad) {
        if (unit(rng_) < net.to_good) bad = false;
      } else if (unit(rng_) < net.to_bad) {
        bad = true;
      }
      if (unit(rng_) < (bad ? net.loss_bad : net.loss_good)) continue;

      rows.push_back(TraceRow{seq, send, send + delay});
    }
    // The receiver sees them in arrival order.
    std::stable_sort(rows.begin(), rows.end(),
                     [](const TraceRow& a, const TraceRow& b) { return a.recv_ms < b.recv_ms; });
    // Keep the 3 decimals the file format has, so a generated trace and its CSV replay alike.
    for (auto& r : rows) {
      r.send_ms = std::round(*r.send_ms * 1000) / 1000;
      r.recv_ms = std::round(r.recv_ms * 1000) / 1000;
    }
    trace.rows = std::move(rows);
    return trace;
  }

 private:
  Network Initial() const {
    switch (o_.scenario) {
      case TraceScenario::kWan:
        return Wan();
      case TraceScenario::kBursty:
        return Bursty();
      case TraceScenario::kLan:
      case TraceScenario::kStalls:
      case TraceScenario::kRegimes:
        break;
    }
    return Calm();
  }

  double NextEpisode(const Network& n, double from) {
    if (n.episodes_per_min <= 0) return 1e300;
    std::exponential_distribution<double> e(n.episodes_per_min / 60'000.0);
    return from + e(rng_);
  }

  TraceGeneratorOptions o_;
  std::mt19937_64 rng_;
};

}  // namespace

Trace GenerateTrace(const TraceGeneratorOptions& options) { return Generator(options).Run(); }

}  // namespace vigil

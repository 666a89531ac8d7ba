#include "quality/replay.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "base/duration.h"

namespace vigil {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

MonoTime AtMs(double ms) {
  return MonoTime{} + Duration(static_cast<Duration::rep>(std::llround(ms * 1e6)));
}

double MsOf(MonoTime t) {
  if (t == kNever) return kInf;
  return static_cast<double>((t - MonoTime{}).count()) / 1e6;
}

double Percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

std::optional<Duration> InferInterval(const Trace& trace) {
  std::vector<double> per_step;
  const TraceRow* prev = nullptr;
  for (const auto& r : trace.rows) {
    if (prev != nullptr && r.seq > prev->seq) {
      per_step.push_back((r.recv_ms - prev->recv_ms) / static_cast<double>(r.seq - prev->seq));
    }
    if (prev == nullptr || r.seq > prev->seq) prev = &r;
  }
  if (per_step.empty()) return std::nullopt;
  std::nth_element(per_step.begin(), per_step.begin() + static_cast<std::ptrdiff_t>(per_step.size() / 2),
                   per_step.end());
  const double ms = per_step[per_step.size() / 2];
  if (!(ms > 0)) return std::nullopt;
  return Duration(static_cast<Duration::rep>(std::llround(ms * 1e6)));
}

std::vector<double> Replay(const Trace& trace, const DetectorOptions& options, Duration interval) {
  auto detector = MakeDetector(options, interval);
  const double threshold = detector->threshold();
  std::vector<double> out;
  out.reserve(trace.rows.size());
  std::uint64_t newest = 0;
  double s = kInf;
  for (const auto& r : trace.rows) {
    if (r.seq > newest) {
      newest = r.seq;
      detector->Heartbeat(AtMs(r.recv_ms), r.seq);
      const auto crossing = detector->CrossingTime(threshold);
      s = crossing ? MsOf(*crossing) : kInf;
    }
    out.push_back(s);
  }
  return out;
}

QosFigures ScoreQos(const Trace& trace, const std::vector<double>& suspect_at) {
  return ScoreQos(std::span<const TraceRow>(trace.rows), std::span<const double>(suspect_at));
}

QosFigures ScoreQos(std::span<const TraceRow> rows, std::span<const double> suspect_at) {
  QosFigures q;
  q.heartbeats = rows.size();
  q.send_times_known = !rows.empty();
  std::vector<double> detection;
  detection.reserve(rows.size());
  double wrong_ms = 0;
  std::uint64_t newest = 0;
  std::optional<double> first_recv;
  double last_recv = 0;
  double pending_s = kInf;  // S of the newest heartbeat so far
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TraceRow& r = rows[i];
    if (!r.send_ms) q.send_times_known = false;
    if (r.seq > newest) {
      if (first_recv) {
        // The detector's verdict between the previous new heartbeat and this one.
        if (pending_s < r.recv_ms) {
          ++q.mistakes;
          wrong_ms += r.recv_ms - pending_s;
        }
      } else {
        first_recv = r.recv_ms;
      }
      newest = r.seq;
      last_recv = r.recv_ms;
      pending_s = suspect_at[i];
    }
    const double s = suspect_at[i];
    if (std::isinf(s)) {
      ++q.never_detected;
    } else {
      detection.push_back(s - (r.send_ms ? *r.send_ms : r.recv_ms));
    }
  }
  const double observed_ms = first_recv ? last_recv - *first_recv : 0;
  q.observed_hours = observed_ms / 3'600'000.0;
  if (observed_ms > 0) {
    q.mistakes_per_hour = static_cast<double>(q.mistakes) / q.observed_hours;
    q.query_accuracy = 1.0 - wrong_ms / observed_ms;
  }
  if (q.mistakes > 0) q.mistake_mean_ms = wrong_ms / static_cast<double>(q.mistakes);
  if (!detection.empty()) {
    std::sort(detection.begin(), detection.end());
    double sum = 0;
    for (double d : detection) sum += d;
    q.detection_mean_ms = sum / static_cast<double>(detection.size());
    q.detection_p50_ms = Percentile(detection, 0.50);
    q.detection_p99_ms = Percentile(detection, 0.99);
    q.detection_max_ms = detection.back();
  }
  if (q.never_detected > 0) q.detection_max_ms = kInf;
  return q;
}

Duration HindsightBestTimeout(const Trace& trace, double mistakes_per_hour) {
  std::vector<double> gaps;
  std::uint64_t newest = 0;
  std::optional<double> prev, first;
  for (const auto& r : trace.rows) {
    if (r.seq <= newest) continue;
    newest = r.seq;
    if (prev) gaps.push_back(r.recv_ms - *prev);
    if (!first) first = r.recv_ms;
    prev = r.recv_ms;
  }
  if (gaps.empty()) return Duration::zero();
  const double hours = (*prev - *first) / 3'600'000.0;
  const auto allowed = static_cast<std::size_t>(std::floor(mistakes_per_hour * hours + 1e-9));
  std::sort(gaps.begin(), gaps.end(), std::greater<>());
  // A timeout of exactly the (allowed+1)-th largest gap makes no mistake on it (suspicion
  // starts when silence reaches the timeout, and a heartbeat at that instant is in time).
  const double ms = allowed < gaps.size() ? gaps[allowed] : 0.0;
  return Duration(static_cast<Duration::rep>(std::ceil(ms * 1e6)));
}

}  // namespace vigil

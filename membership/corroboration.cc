// MembershipNode::Subject: corroboration (docs/membership.md, "Corroboration"). Other
// observers' reports are evidence of their own: an observer that holds L of them convicts
// its subject on less silence than it would alone, so the H-th observer of a crashed member
// is not much later than the first, while a live subject refutes the reports first.
#include <algorithm>
#include <cstddef>

#include "membership/watched_subject.h"

namespace vigil::membership {

void MembershipNode::Corroborate(const Report& report, MonoTime now) {
  const auto it = subjects_.find(report.subject);
  if (it == subjects_.end() || report.observer == options_.self) return;
  auto& reports = it->second->reports;
  const auto same = std::find_if(reports.begin(), reports.end(), [&](const auto& heard) {
    return heard.observer == report.observer;
  });
  if (same == reports.end()) {
    reports.push_back({report.observer, report.incarnation, now});
  } else {
    *same = {report.observer, std::max(same->incarnation, report.incarnation), now};
  }
  Corroborate(report.subject, now);
}

void MembershipNode::Corroborate(const std::string& subject, MonoTime now) {
  const auto it = subjects_.find(subject);
  const auto s = graph_->Find(subject);
  if (it == subjects_.end() || !s) return;
  Subject& watched = *it->second;
  // What counts: reports of its current incarnation or a newer one (an older one is
  // refuted), from members that still observe it, within their lifetime, that came after
  // the last heartbeat this node's detector accepted (which broke the silence they saw).
  // The others are dropped.
  const std::uint64_t current =
      std::max(watched.monitor->incarnation(), KnownIncarnation(subject));
  const MonoTime heard = watched.monitor->detector().last_heartbeat().value_or(MonoTime::min());
  const Duration lifetime = options_.cut.report_lifetime;
  std::erase_if(watched.reports, [&](const Subject::HeardReport& r) {
    const auto o = graph_->Find(r.observer);
    return r.incarnation < current || r.at <= heard || r.at + lifetime <= now || !o ||
           graph_->ObserverSlot(*s, *o) < 0;
  });
  const auto needed = static_cast<std::size_t>(cut_->low());
  if (watched.reports.size() < needed) {
    watched.corroborated_until = MonoTime::min();
    return;
  }
  // The L-th most recent report first among the L most recent (the order is of no use).
  const auto lth = watched.reports.begin() + static_cast<std::ptrdiff_t>(needed - 1);
  std::nth_element(watched.reports.begin(), lth, watched.reports.end(),
                   [](const auto& a, const auto& b) { return a.at > b.at; });
  // A live subject got the same reports and refutes them to its observers: that goes first.
  if (now >= watched.corroborated_until) {
    watched.corroborated_from = now + options_.corroboration_wait;
  }
  // Corroborated while L of those reports live.
  watched.corroborated_until = lth->at + lifetime;
}

void MembershipNode::Recorroborate(MonoTime now) {
  for (const auto& [id, watched] : subjects_) Corroborate(id, now);
}

bool MembershipNode::Subject::ConvictsCorroborated(const MembershipOptions& options,
                                                   MonoTime now) const {
  const auto at = CorroboratedDeadline(options);
  return at && now >= *at && now < corroborated_until;
}

std::optional<MonoTime> MembershipNode::Subject::CorroboratedDeadline(
    const MembershipOptions& options) const {
  if (convicted || monitor->state() == PeerState::kDown) return std::nullopt;
  const FailureDetector& detector = monitor->detector();
  const auto crossing = detector.CrossingTime(options.corroborated_level * detector.threshold());
  const auto last = detector.last_heartbeat();
  if (!crossing || !last) return std::nullopt;
  // Never before a heartbeat is a whole interval overdue: the observer's own evidence.
  const MonoTime at = std::max({*crossing, *last + 2 * options.interval, corroborated_from});
  if (at >= corroborated_until) return std::nullopt;
  return at;
}

}  // namespace vigil::membership

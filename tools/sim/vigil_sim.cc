// vigil-sim: a cluster of vigil members in simulated time (docs/membership.md). Runs the
// membership code vigild will run, for thousands of members in one process; crashes some at
// once after a warm-up and prints what issue 15's targets ask: crash -> removal at every live
// member, false removals, cuts per member, traffic per member. Seeded and reproducible.
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>

#include "sim/cluster_figures.h"
#include "sim/cluster_simulation.h"
#include "tools/tool_options.h"

namespace po = boost::program_options;
using namespace vigil;

namespace {

// The observers' default detector knobs (membership/membership_node.h).
AdaptiveKnobs Observer() {
  return *membership::ObserverDetectorDefaults().knobs_if<AdaptiveKnobs>();
}

struct Args {
  std::size_t nodes = 1000;
  std::size_t crash = 10;
  bool leave = false;
  double warmup_s = 300, spread_s = 0, after_s = 60;
  double loss = 0, delay_ms = 1, jitter_ms = 1, interval_ms = 1000;
  int observers = 8, high = 5, low = 2;
  double max_hold_s = 2, settle_s = 0.5, lifetime_s = 10;
  double gather_ms = ToMillis(membership::MembershipOptions().pass_on_gather);
  double corroborated_level = membership::MembershipOptions().corroborated_level;
  double target_mistakes = Observer().target_mistakes_per_hour;
  double margin = Observer().margin;
  std::size_t freeze = 0;
  double freeze_for_s = 10;
  std::size_t starve = 0;
  double starve_for_s = 60, starve_share = 0.05;
  double partition = 0, partition_for_s = 0;
  bool cold_start = false;
  std::size_t join = 0, seeds = 3;
  double start_spread_s = 5;
  std::uint64_t seed = 1;
};

// The members a node must hold to see 99.9 % of the others (itself included).
std::size_t FullView(std::size_t nodes) {
  return static_cast<std::size_t>(std::ceil(0.999 * static_cast<double>(nodes - 1))) + 1;
}

// Cold start or joins: how long each started member took to hold a full view and to be in
// every running member's view: in a cold start from the start of the run, else from its own
// start.
void PrintJoins(const Args& a, const sim::ClusterSimulation& c, std::size_t first) {
  const MonoTime run_start = c.start();
  std::vector<MonoTime> known_at(c.size(), MonoTime::min());
  for (const auto& r : c.readmissions()) {
    if (!c.crashed(r.by)) known_at[r.removed] = std::max(known_at[r.removed], r.at);
  }
  auto since = [&](MonoTime t, std::size_t i) {
    return std::chrono::duration<double>(t - (a.cold_start ? run_start : c.started_at(i)))
        .count();
  };
  std::vector<double> full, known;
  std::size_t apart = 0;
  for (std::size_t i = first; i < c.size(); ++i) {
    if (c.crashed(i)) continue;  // its view is not kept; it is apart from all (see crashes)
    if (c.view_full_at(i) != kNever) full.push_back(since(c.view_full_at(i), i));
    std::size_t missing = 0;
    for (std::size_t j = 0; j < c.size(); ++j) {
      if (j != i && !c.crashed(j) && !c.node(j).view().Find(sim::ClusterSimulation::IdOf(i))) {
        ++missing;
      }
    }
    apart += missing;
    if (missing == 0 && !a.cold_start) known.push_back(since(known_at[i], i));
  }
  const auto f = sim::Summarize(full);
  std::printf("%s %zu members from %zu seeds over %g s: a view of >= 99.9 %% of the members "
              "(%zu) at %zu of them, %s p50 %.2f s, p99 %.2f s, max %.2f s; (member, joined "
              "member) pairs apart at the end: %zu\n",
              a.cold_start ? "cold start:" : "joins:", c.size() - first, a.seeds,
              a.start_spread_s, FullView(a.nodes - a.crash), f.count,
              a.cold_start ? "from the start of the run" : "after each started", f.p50, f.p99,
              f.max, apart);
  if (!a.cold_start) {
    const auto k = sim::Summarize(known);
    std::printf("joined members in every live member's view: %zu, p50 %.2f s, max %.2f s "
                "after each started\n",
                k.count, k.p50, k.max);
  }
}

void PrintTraffic(const char* what, const sim::ClusterFigures& f) {
  std::printf("%s: sent per live member (UDP payload) mean %.0f B/s, p99 %.0f B/s, max %.0f B/s; "
              "datagrams mean %.1f/s, p99 %.0f/s, max %.0f/s\n",
              what, f.bytes_per_second.mean, f.bytes_per_second.p99, f.bytes_per_second.max,
              f.datagrams_per_second.mean, f.datagrams_per_second.p99,
              f.datagrams_per_second.max);
}

// `healed`: the figures from the end of the partition to the end of the run, if it ended.
void Print(const Args& a, const sim::ClusterFigures& steady, const sim::ClusterFigures& f,
           const sim::ClusterFigures* healed, double real_s) {
  std::printf("vigil-sim: %zu members, K %d, H %d, L %d, interval %.0f ms, loss %.1f %%, "
              "delay %.1f ms + U(0, %.1f ms), corroborated level %g, seed %llu\n",
              a.nodes, a.observers, a.high, a.low, a.interval_ms, a.loss * 100, a.delay_ms,
              a.jitter_ms, a.corroborated_level, static_cast<unsigned long long>(a.seed));
  PrintTraffic("steady (the second half of the warm-up)", steady);
  PrintTraffic("from the first crash to the end", f);
  if (healed != nullptr) PrintTraffic("from the end of the partition to the end", *healed);
  const char* gone = a.leave ? "left" : "crashed";
  std::printf("%s %zu (%.0f..%.0f s): %zu of %zu (live member, %s) pairs removed, %zu as "
              "left; %s -> removal p50 %.2f s, p99 %.2f s, max %.2f s\n",
              gone, f.crashed, a.warmup_s, a.warmup_s + a.spread_s, f.pairs_removed,
              f.pairs_expected, gone, f.pairs_left, a.leave ? "leave" : "crash",
              f.detection_s.p50, f.detection_s.p99, f.detection_s.max);
  const double hours = (a.warmup_s + a.spread_s + a.after_s) / 3600;
  if (a.freeze > 0) {
    std::printf("froze %zu live members for %.0f s at %.0f s: %zu removals of them\n", a.freeze,
                a.freeze_for_s, a.warmup_s, f.frozen_removals);
  }
  if (a.starve > 0) {
    std::printf("starved %zu live members to %g %% of a core for %.0f s at %.0f s: %zu "
                "removals of them\n",
                a.starve, a.starve_share * 100, a.starve_for_s, a.warmup_s, f.starved_removals);
  }
  if (a.partition > 0) {
    std::printf("partition of %g %% of the members from %.0f s for %.0f s: %zu removals "
                "across it\n",
                a.partition * 100, a.warmup_s, a.partition_for_s, f.across_partition_removals);
    for (const auto& side : f.sides_at_heal) {
      std::printf("  before the heal, a side of %zu live members: %zu said they held a "
                  "majority (reach %.3f..%.3f)\n",
                  side.members, side.majority, side.reach_min, side.reach_max);
    }
  }
  if (a.freeze + a.starve > 0 || a.partition > 0) {
    std::printf("members taken out while alive and back in every live member's view: %zu, "
                "p50 %.2f s, max %.2f s after they could be heard again; (live member, such "
                "member) pairs still out at the end: %zu\n",
                f.back_s.count, f.back_s.p50, f.back_s.max, f.still_out);
  }
  std::printf("datagrams refused by live members: %llu unconfirmed (%llu answers), %llu old "
              "sequence\n",
              static_cast<unsigned long long>(f.unconfirmed),
              static_cast<unsigned long long>(f.unconfirmed_answered),
              static_cast<unsigned long long>(f.old_sequence));
  std::printf("false removals: %zu; convictions by observers %llu (%.1f per member-hour, "
              "%llu on corroboration), refutations %llu, reports held back by members in doubt "
              "of themselves %llu\ncuts per live member:",
              f.false_removals, static_cast<unsigned long long>(f.convictions),
              static_cast<double>(f.convictions) / (static_cast<double>(a.nodes) * hours),
              static_cast<unsigned long long>(f.corroborated),
              static_cast<unsigned long long>(f.refutations),
              static_cast<unsigned long long>(f.abstentions));
  for (std::size_t cuts = 0; cuts < f.cuts_histogram.size(); ++cuts) {
    if (f.cuts_histogram[cuts] > 0) std::printf(" %zu: %zu;", cuts, f.cuts_histogram[cuts]);
  }
  const double simulated = static_cast<double>(a.nodes) * (a.warmup_s + a.spread_s + a.after_s);
  std::printf("\nspeed: %.0f simulated member-seconds per second (%.1f s)\n",
              simulated / real_s, real_s);
}

// What is wrong with the options, or null.
const char* Invalid(const Args& a) {
  if (a.crash + a.freeze + a.starve + a.join >= a.nodes) {
    return "need --crash + --freeze + --starve + --join < --nodes";
  }
  if (a.cold_start && a.join > 0) return "--cold-start and --join exclude each other";
  if ((a.cold_start || a.join > 0) && (a.seeds < 1 || a.seeds > a.nodes - a.join)) {
    return "need 1 <= --seeds <= the members started first";
  }
  if (!(a.start_spread_s >= 0)) return "need --start-spread >= 0";
  if (!(a.starve_share > 0 && a.starve_share < 1)) return "need 0 < --starve-share < 1";
  if (a.observers < 1 || a.observers > 64) return "need 1 <= --observers <= 64";
  if (a.low < 1 || a.low > a.high) return "need 1 <= --low <= --high";
  if (!(a.loss >= 0 && a.loss <= 1)) return "need 0 <= --loss <= 1";
  if (!(a.partition >= 0 && a.partition < 1)) return "need 0 <= --partition < 1";
  if (!(a.interval_ms >= 1)) return "need --interval >= 1 (milliseconds)";
  if (!(a.delay_ms >= 0 && a.jitter_ms >= 0)) return "need --delay, --jitter >= 0";
  if (!(a.spread_s >= 0 && a.warmup_s >= 0 && a.after_s >= 0 && a.freeze_for_s >= 0 &&
        a.partition_for_s >= 0 && a.starve_for_s >= 0)) {
    return "need every duration >= 0";
  }
  if (!(a.settle_s >= 0 && a.max_hold_s > 0)) return "need --settle >= 0 and --max-hold > 0";
  if (!(a.gather_ms >= 0)) return "need --pass-on-gather >= 0 (milliseconds)";
  if (!(a.corroborated_level > 0 && a.corroborated_level <= 1)) {
    return "need 0 < --corroborated-level <= 1";
  }
  if (!(a.lifetime_s > 4)) return "need --report-lifetime > 4 (seconds)";
  return nullptr;
}

Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

sim::ClusterOptions ClusterOptionsOf(const Args& a) {
  sim::ClusterOptions o;
  o.nodes = a.nodes;
  o.loss = a.loss;
  o.delay = seconds(a.delay_ms / 1000);
  o.jitter = seconds(a.jitter_ms / 1000);
  o.seed = a.seed;
  o.unstarted = a.cold_start ? a.nodes : a.join;
  o.seeds = a.seeds;
  o.member.observers = a.observers;
  o.member.interval = seconds(a.interval_ms / 1000);
  o.member.cut.high = a.high;
  o.member.cut.low = a.low;
  o.member.cut.max_hold = seconds(a.max_hold_s);
  o.member.cut.settle = seconds(a.settle_s);
  o.member.cut.report_lifetime = seconds(a.lifetime_s);
  o.member.pass_on_gather = seconds(a.gather_ms / 1000);
  o.member.corroborated_level = a.corroborated_level;
  AdaptiveKnobs knobs;
  knobs.target_mistakes_per_hour = a.target_mistakes;
  knobs.margin = a.margin;
  o.member.detector.knobs = knobs;
  return o;
}

// Crashes, freezes, starves and partitions members of `c` as `a` says; starts the unstarted.
void Schedule(const Args& a, sim::ClusterSimulation& c) {
  std::mt19937_64 starts(a.seed ^ 0x570a7);
  std::uniform_real_distribution<double> start(0, a.start_spread_s);
  const double begin = a.cold_start ? 0 : a.warmup_s;
  for (std::size_t i = a.cold_start ? 0 : a.nodes - a.join; i < a.nodes; ++i) {
    c.StartAt(i, c.now() + seconds(begin + start(starts)));
  }
  if (a.cold_start || a.join > 0) {
    // Of the members that stay: the crashed ones leave every view.
    c.WatchViews(FullView(a.nodes - a.crash), std::chrono::milliseconds(100));
  }
  // Crashed, frozen, starved: among the members started first (all, in a cold start).
  std::vector<std::size_t> order(a.nodes - a.join);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(a.seed ^ 0x5eed);
  std::shuffle(order.begin(), order.end(), rng);
  std::uniform_real_distribution<double> when(0, a.spread_s);
  const MonoTime first = c.now() + seconds(a.warmup_s);
  for (std::size_t n = 0; n < a.crash; ++n) {
    const MonoTime at = a.spread_s > 0 ? first + seconds(when(rng)) : first;
    if (a.leave) {
      c.LeaveAt(order[n], at);
    } else {
      c.CrashAt(order[n], at);
    }
  }
  // Frozen, then starved: the next members of the shuffled order, so never a crashed one.
  // The partition's side: a share of the members drawn apart from that order.
  for (std::size_t n = a.crash; n < a.crash + a.freeze; ++n) {
    c.FreezeAt(order[n], first, seconds(a.freeze_for_s));
  }
  for (std::size_t n = a.crash + a.freeze; n < a.crash + a.freeze + a.starve; ++n) {
    c.StarveAt(order[n], first, seconds(a.starve_for_s), a.starve_share);
  }
  if (a.partition > 0) {
    std::vector<std::size_t> side(order.begin(), order.end());
    std::shuffle(side.begin(), side.end(), rng);
    side.resize(static_cast<std::size_t>(a.partition * static_cast<double>(side.size())));
    const double length = a.partition_for_s > 0 ? a.partition_for_s : a.spread_s + a.after_s;
    c.PartitionAt(std::move(side), first, seconds(length));
  }
}

// vigil-sim's options, bound to `a`.
po::options_description Describe(Args& a) {
  po::options_description options("vigil-sim [options]");
  options.add_options()("help", "this help")
      ("nodes", po::value(&a.nodes)->default_value(a.nodes), "members")
      ("crash", po::value(&a.crash)->default_value(a.crash), "members crashed")
      ("leave", po::bool_switch(&a.leave),
       "the --crash members leave instead, as a stopping vigild does (they say so)")
      ("warmup", po::value(&a.warmup_s)->default_value(a.warmup_s), "seconds before crashes")
      ("spread", po::value(&a.spread_s)->default_value(a.spread_s),
       "crash times uniform over this many seconds after the warm-up (0: all at once)")
      ("after", po::value(&a.after_s)->default_value(a.after_s), "seconds after the last")
      ("loss", po::value(&a.loss)->default_value(a.loss), "iid loss per datagram, 0..1")
      ("delay", po::value(&a.delay_ms)->default_value(a.delay_ms), "one-way delay, ms")
      ("jitter", po::value(&a.jitter_ms)->default_value(a.jitter_ms), "uniform extra delay, ms")
      ("interval", po::value(&a.interval_ms)->default_value(a.interval_ms), "heartbeat, ms")
      ("observers", po::value(&a.observers)->default_value(a.observers), "K")
      ("high", po::value(&a.high)->default_value(a.high), "H")
      ("low", po::value(&a.low)->default_value(a.low), "L")
      ("max-hold", po::value(&a.max_hold_s)->default_value(a.max_hold_s), "seconds")
      ("settle", po::value(&a.settle_s)->default_value(a.settle_s), "seconds")
      ("report-lifetime", po::value(&a.lifetime_s)->default_value(a.lifetime_s),
       "seconds; more than the 4 s between an observer's repeated reports")
      ("pass-on-gather", po::value(&a.gather_ms)->default_value(a.gather_ms),
       "ms a member gathers the news it floods before passing it on (0: at once)")
      ("corroborated-level", po::value(&a.corroborated_level)->default_value(a.corroborated_level),
       "fraction of its threshold at which an observer convicts once L others reported (1: alone)")
      ("freeze", po::value(&a.freeze)->default_value(a.freeze),
       "members (never crashed) frozen at the end of the warm-up")
      ("freeze-for", po::value(&a.freeze_for_s)->default_value(a.freeze_for_s), "seconds")
      ("starve", po::value(&a.starve)->default_value(a.starve),
       "members (never crashed or frozen) CPU-starved at the end of the warm-up")
      ("starve-for", po::value(&a.starve_for_s)->default_value(a.starve_for_s), "seconds")
      ("starve-share", po::value(&a.starve_share)->default_value(a.starve_share),
       "the share of a core they get, 0..1 (a quota per 100 ms period)")
      ("partition", po::value(&a.partition)->default_value(a.partition),
       "share of the members cut off from the rest at the end of the warm-up (0: none)")
      ("partition-for", po::value(&a.partition_for_s)->default_value(a.partition_for_s),
       "seconds (0: to the end)")
      ("target-mistakes", po::value(&a.target_mistakes)->default_value(a.target_mistakes),
       "each observer's adaptive detector: target_mistakes_per_hour")
      ("margin", po::value(&a.margin)->default_value(a.margin), "adaptive detector: margin")
      ("cold-start", po::bool_switch(&a.cold_start),
       "no member runs at first: all start over --start-spread seconds and join by the seeds")
      ("join", po::value(&a.join)->default_value(a.join),
       "members that join at the end of the warm-up, over --start-spread seconds")
      ("seeds", po::value(&a.seeds)->default_value(a.seeds),
       "joining members ask the first this many members")
      ("start-spread", po::value(&a.start_spread_s)->default_value(a.start_spread_s), "seconds")
      ("seed", po::value(&a.seed)->default_value(a.seed), "random seed");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  const po::options_description options = Describe(a);
  if (auto status = ParseToolOptions(argc, argv, options, "vigil-sim")) return *status;
  if (const char* problem = Invalid(a)) {
    std::fprintf(stderr, "vigil-sim: %s\n", problem);
    return 2;
  }
  const sim::ClusterOptions o = ClusterOptionsOf(a);
  const auto started = std::chrono::steady_clock::now();
  sim::ClusterSimulation c(o);
  Schedule(a, c);
  c.RunFor(seconds(a.warmup_s + a.spread_s + a.after_s));
  const double real_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto warmup = static_cast<std::size_t>(a.warmup_s);
  const auto end = static_cast<std::size_t>(a.warmup_s + a.spread_s + a.after_s);
  const auto heal = static_cast<std::size_t>(a.warmup_s + a.partition_for_s);
  std::optional<sim::ClusterFigures> healed;
  if (a.partition > 0 && a.partition_for_s > 0 && heal < end) healed = sim::Measure(c, heal, end);
  Print(a, sim::Measure(c, warmup / 2, warmup), sim::Measure(c, warmup, end),
        healed ? &*healed : nullptr, real_s);
  if (a.cold_start || a.join > 0) {
    PrintJoins(a, c, a.cold_start ? 0 : a.nodes - a.join);
    const auto from = static_cast<std::size_t>(a.cold_start ? 0 : a.warmup_s);
    PrintTraffic(a.cold_start ? "from the start of the run for 30 s"
                              : "from the end of the warm-up for 30 s",
                 sim::Measure(c, from, from + 30));
  }
  if (c.unusable_datagrams() > 0) {
    std::fprintf(stderr, "vigil-sim: %llu membership datagrams could not be encoded or were "
                 "rejected by their receiver: a bug, the figures above are wrong\n",
                 static_cast<unsigned long long>(c.unusable_datagrams()));
    return 1;
  }
  return 0;
}

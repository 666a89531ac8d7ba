#!/usr/bin/env python3
"""The simulator against real vigild members: the same scenarios, side by side (docs/benchmarks.md).

  bench/calibrate_members.py [--bin build/release] [--members 200] [--only crash,loss,...]

For each scenario, N real vigild processes (bench/real_cluster.py: a network namespace of
their own, only seeds and a key) run it, then `vigil-sim` runs it on N simulated members
with the same settings, twice: on its default network (1 ms + U(0, 1 ms) of delay) and on
one whose jitter is measured from the real members (see jitter_from_lag). Prints one row per
figure: real, simulated on each network, and the simulator's figure over the real one.
Scenarios: steady and crash (5 crashed over 20 s), loss (10 % of datagrams dropped, 10
crashed over 60 s), mass (10 % crashed at once), freeze (one member stopped for 10 s),
starve (one member held to 5 % of a core for 60 s), partition (50/50 for 30 s, then
healed). Needs root (ip netns, nft, the cgroup v1 cpu controller).
"""
import argparse, datetime, math, os, random, re, signal, statistics, subprocess, sys, time

from real_cluster import RealCluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTERS = ["vigil_cluster_datagrams_sent_total", "vigil_cluster_convictions_total",
            "vigil_cluster_refutations_total", "vigil_cluster_cuts_total",
            "vigil_receive_buffer_drops_total", "vigil_local_stalls_total",
            "vigil_cluster_reports_held_total", "vigil_cluster_receive_overflows_total"]
SCENARIOS = {  # name: (warm-up s, crashed, spread s, after s, extra vigil-sim options)
    "crash": (60, 5, 20, 30, []),
    "loss": (120, 10, 60, 30, ["--loss", "0.1"]),
    "mass": (60, 0.1, 0, 30, []),
    "freeze": (60, 0, 0, 30, ["--freeze", "1", "--freeze-for", "10"]),
    "starve": (60, 0, 0, 90, ["--starve", "1", "--starve-for", "60"]),
    "partition": (60, 0, 0, 60, ["--partition", "0.5", "--partition-for", "30"]),  # heal at 30
}


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def delta(before, after, name, members):
    return [after[m][name] - before[m][name] for m in members if m in before and m in after]


def rate(before, after, name, members):
    """Per member, the counter's increase per second between its two reads."""
    return [(after[m][name] - before[m][name]) / (after[m]["at"] - before[m]["at"])
            for m in members if m in before and m in after]


def rank(values, q):
    """The nearest-rank quantile, as vigil-sim takes it (sim/cluster_figures.cc)."""
    values = sorted(values)
    return values[min(max(math.ceil(q * len(values)), 1), len(values)) - 1]


def lag_quantiles(before, after):
    """The p50 and p99 of the members' 50 ms tick lateness, in ms: the upper bound of the
    histogram bucket that holds each (vigil's buckets are cumulative, as Prometheus's)."""
    buckets = {}
    for m in after:
        for k, v in after[m].items():
            if k.startswith("vigil_loop_lag_seconds_bucket") and m in before:
                le = k.split('le="', 1)[1].split('"', 1)[0]
                buckets[le] = buckets.get(le, 0) + v - before[m].get(k, 0)
    bounds = sorted((float(le), n) for le, n in buckets.items())
    total = bounds[-1][1] if bounds else 0

    def q(p):
        for le, n in bounds:
            if n >= p * total:
                return le * 1000
        return float("inf")
    return q(0.5), q(0.99)


def jitter_from_lag(p99_ms):
    """The sim's U(0, J) jitter for a measured tick lateness: a heartbeat waits for its
    sender's timer and its receiver's wake-up, each as late as a tick, so J = 2 x p99."""
    return max(1, round(2 * min(p99_ms, 1000.0)))  # beyond the last bucket: 1 s


def detection(cluster, kills, events):
    """Seconds from each kill to each live member's removal of it; pairs never removed."""
    first = {}
    for obs, kind, member, at in events:
        if kind == "out" and member in kills and at >= kills[member] and (obs, member) not in first:
            first[(obs, member)] = (at - kills[member]).total_seconds()
    pairs = [(o, v) for v in kills for o in cluster.live()]
    return [first[p] for p in pairs if p in first], sum(p not in first for p in pairs)


def back_in(cluster, heard_at, events, counted=lambda obs, member: True):
    """As vigil-sim measures a comeback: the removals that counted(obs, member) says are of
    members alive; for each member so removed that is in every live member's view at the end,
    seconds from heard_at to the last time a member took it back; and (live member, such
    member) pairs still out at the end. The log's last line for a pair says if it is out."""
    removals, removed, back_at, last = 0, set(), {}, {}
    for obs, kind, member, at in sorted(events, key=lambda e: e[3]):
        if not counted(obs, member):
            continue
        if kind == "out":
            removals += 1
            removed.add(member)
        elif obs in cluster.live():
            back_at[member] = max(back_at.get(member, at), at)
        last[(obs, member)] = kind
    out = {m: sum(1 for (o, mm), k in last.items() if mm == m and k == "out" and
                  o in cluster.live()) for m in removed}
    back = [(back_at[m] - heard_at).total_seconds() for m in removed
            if out[m] == 0 and m in back_at]
    return removals, sorted(back), sum(out.values())


def real_run(args, name):
    warmup, crashed, spread, after, _ = SCENARIOS[name]
    rng = random.Random(args.seed)
    cluster = RealCluster(args.vigild, args.members)  # cleans up itself if it fails
    fig = {}
    try:
        fig["start"] = cluster.start()
        if name == "loss":
            cluster.loss(0.1)
        t_warm = utc_now()
        c0 = cluster.counters(COUNTERS)
        time.sleep(warmup - 20)
        s0 = cluster.counters(COUNTERS)
        time.sleep(20)
        s1 = cluster.counters(COUNTERS)
        fig["datagrams/s"] = statistics.mean(rate(s0, s1, COUNTERS[0], cluster.live()))
        fig["lag_p50_ms"], fig["lag_p99_ms"] = lag_quantiles(s0, s1)
        fig.update(scenario(cluster, name, crashed, spread, after, rng))
        c1 = cluster.counters(COUNTERS)
        # Counted by the members alive at the end, as vigil-sim counts them.
        live = [m for m in cluster.live() if m in c1]
        fig["convictions"] = round(sum(delta(c0, c1, COUNTERS[1], live)))
        fig["refutations"] = round(sum(delta(c0, c1, COUNTERS[2], live)))
        fig["reports held back"] = round(sum(delta(c0, c1, COUNTERS[6], live)))
        cuts = delta(c0, c1, COUNTERS[3], live)
        fig["cuts per member"] = f"{min(cuts):.0f}..{max(cuts):.0f}"
        # Real only: what one machine running them all adds (the simulator has no CPU).
        fig["receive-buffer drops"] = round(sum(delta(c0, c1, COUNTERS[4], live)))
        fig["local stalls"] = round(sum(delta(c0, c1, COUNTERS[5], live)))
        fig["receive overflows"] = round(sum(delta(c0, c1, COUNTERS[7], live)))
        until = fig.pop("until")
        fig.setdefault("false removals",
                       sum(1 for _, kind, member, _ in cluster.log_events(t_warm, until)
                           if kind == "out" and member not in fig["expected"]))
        del fig["expected"]
    except BaseException:
        cluster.close(keep=True)
        print(f"{name}: failed; logs kept in {cluster.work}", file=sys.stderr)
        raise
    cluster.close(keep=args.keep)
    if args.keep:
        print(f"{name}: logs kept in {cluster.work}", file=sys.stderr)
    return fig


def scenario(cluster, name, crashed, spread, after, rng):
    """Runs the fault of scenario name on a warm cluster; returns its figures."""
    fig, candidates = {}, cluster.ids  # any member, as in vigil-sim
    count = round(crashed * cluster.n) if isinstance(crashed, float) else crashed
    if count:
        victims = rng.sample(candidates, count)
        times = sorted(rng.uniform(0, spread) for _ in victims)
        t0, kills = time.monotonic(), {}
        for victim, at in zip(victims, times):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            kills[victim] = cluster.signal(victim, signal.SIGKILL)
        time.sleep(after)
        fig["until"] = utc_now()
        times, missing = detection(cluster, kills,
                                   cluster.log_events(min(kills.values()), fig["until"]))
        fig["crash->removal p50"], fig["crash->removal p99"] = rank(times, .5), rank(times, .99)
        fig["crash->removal max"], fig["pairs never removed"] = max(times), missing
        fig["expected"] = set(victims)
    elif name in ("freeze", "starve"):
        # vigil-sim runs `after` seconds from the fault's start, whatever the fault's length.
        held = 10 if name == "freeze" else 60
        member = rng.choice(candidates)
        since = utc_now()
        if name == "freeze":
            cluster.signal(member, signal.SIGSTOP)
        else:
            cluster.starve(member, 0.05)
        time.sleep(held)
        if name == "freeze":
            heard = cluster.signal(member, signal.SIGCONT)
        else:
            cluster.starve(member, None)
            heard = utc_now()
        time.sleep(after - held)
        fig["until"] = utc_now()
        removals, back, still = back_in(cluster, heard, cluster.log_events(since, fig["until"]),
                                        lambda obs, m: m == member)
        fig[f"removals of the {'frozen' if name == 'freeze' else 'starved'}"] = removals
        fig["pairs still out"] = still
        if name == "freeze":
            fig["back everywhere max"] = max(back) if back else 0.0
        fig["expected"] = {member}
    elif name == "partition":
        side = set(rng.sample(cluster.ids, cluster.n // 2))
        cut = utc_now()
        cluster.partition(side)
        time.sleep(28)
        fig["majority claimed before heal"] = sum(
            1 for m in cluster.ids if (cluster.cluster(m) or {}).get("majority"))
        time.sleep(2)
        heal = utc_now()
        cluster.partition(set())
        time.sleep(after - 30)
        fig["until"] = utc_now()
        events = cluster.log_events(cut, fig["until"])
        removals, back, still = back_in(cluster, heal, events,
                                        lambda obs, m: (obs in side) != (m in side))
        fig["removals across"], fig["pairs still out"] = removals, still
        fig["false removals"] = sum(1 for obs, kind, member, _ in events
                                    if kind == "out" and (obs in side) == (member in side))
        fig["back everywhere p50"] = rank(back, .5) if back else 0.0
        fig["back everywhere max"] = max(back) if back else 0.0
        fig["expected"] = set(cluster.ids)
    return fig


SIM_FIGURES = [  # (figure, regex on vigil-sim's output)
    ("datagrams/s", r"^steady .* datagrams mean ([\d.]+)/s"),
    ("crash->removal p50", r"crash -> removal p50 ([\d.]+) s"),
    ("crash->removal p99", r"crash -> removal p50 [\d.]+ s, p99 ([\d.]+) s"),
    ("crash->removal max", r"crash -> removal .* max ([\d.]+) s"),
    ("pairs never removed", r"crashed \d+ .*: (\d+) of (\d+) \(live"),
    ("false removals", r"false removals: (\d+)"),
    ("convictions", r"convictions by observers (\d+)"),
    ("refutations", r"refutations (\d+)"),
    ("reports held back", r"reports held back by members in doubt of themselves (\d+)"),
    ("cuts per member", r"cuts per live member: (.*)"),
    ("removals of the frozen", r"froze \d+ .*: (\d+) removals of them"),
    ("removals of the starved", r"starved \d+ .*: (\d+) removals of them"),
    ("removals across", r"partition of .*: (\d+) removals across it"),
    ("majority claimed before heal", r"before the heal, a side"),
    ("back everywhere p50", r"back in every live member's view: \d+, p50 ([\d.]+) s"),
    ("back everywhere max", r"back in every live member's view: .* max ([\d.]+) s after"),
    ("pairs still out", r"pairs still out at the end: (\d+)"),
]


REAL_ONLY = ["receive-buffer drops", "local stalls", "receive overflows"]


def sim_run(args, name, jitter):
    warmup, crashed, spread, after, extra = SCENARIOS[name]
    count = round(crashed * args.members) if isinstance(crashed, float) else crashed
    argv = [args.sim, "--nodes", str(args.members), "--crash", str(count), "--spread",
            str(spread), "--warmup", str(warmup), "--after", str(after), "--jitter",
            str(jitter), "--seed", str(args.seed)] + extra
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    fig = {}
    for figure, pattern in SIM_FIGURES:
        found = re.findall(pattern, out, re.M)
        if not found:
            continue
        if figure == "pairs never removed":
            fig[figure] = sum(int(t) - int(r) for r, t in found)
        elif figure == "cuts per member":  # "1: 180; 2: 20;" -> "1..2"
            counts = [int(c) for c in re.findall(r"(\d+): \d+;", found[0])]
            fig[figure] = f"{min(counts)}..{max(counts)}"
        elif figure == "majority claimed before heal":
            fig[figure] = sum(int(x) for x in re.findall(r"side of \d+ live members: (\d+) said",
                                                         out))
        else:
            fig[figure] = float(found[0]) if "." in found[0] else int(found[0])
    return " ".join(argv[1:]), fig


def show(value):
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}"
    return str(value)


def ratio(sim, real):
    if isinstance(sim, str) or isinstance(real, str):
        return "same" if str(sim) == str(real) else "differs"
    if real == 0:
        return "same" if sim == 0 else "differs"
    r = sim / real
    return f"{r:.2f}{'' if 0.8 <= r <= 1.2 else ' (outside +-20 %)'}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the members' logs")
    args = ap.parse_args()
    args.vigild = os.path.join(args.bin, "daemon/vigild")
    args.sim = os.path.join(args.bin, "tools/vigil-sim")
    for binary in (args.vigild, args.sim):
        if not os.access(binary, os.X_OK):
            sys.exit(f"calibrate_members.py: no {binary} (build the release preset: "
                     "cmake --build --preset release --target vigild vigil-sim)")
    if os.geteuid() != 0:
        sys.exit("calibrate_members.py: needs root (it makes a network namespace and nft rules)")
    for name in args.only.split(","):
        if name not in SCENARIOS:
            sys.exit(f"calibrate_members.py: no scenario '{name}' (one of {', '.join(SCENARIOS)})")
    # Stopped with SIGTERM, it still stops its members and removes the namespace.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for name in args.only.split(","):
        real = real_run(args, name)
        jitter = jitter_from_lag(real["lag_p99_ms"])
        cmd1, sim1 = sim_run(args, name, 1)
        cmdj, simj = sim_run(args, name, jitter)
        print(f"\n== {name}: {args.members} real members (all views full {real['start']:.1f} s "
              f"after the first launch; their 50 ms ticks late p50 {real['lag_p50_ms']:g} ms, "
              f"p99 {real['lag_p99_ms']:g} ms)\n   vigil-sim {cmd1}\n   vigil-sim {cmdj}")
        print(f"   {'figure':30} {'real':>12} {'sim, 1 ms':>12} {'ratio':>26} "
              f"{f'sim, {jitter} ms':>12} {'ratio':>26}")
        for figure in REAL_ONLY:
            print(f"   {figure:30} {show(real[figure]):>12}")
        for figure, _ in SIM_FIGURES:
            if figure in real:
                a, b = sim1.get(figure, "-"), simj.get(figure, "-")
                print(f"   {figure:30} {show(real[figure]):>12} {show(a):>12} "
                      f"{ratio(a, real[figure]):>26} {show(b):>12} {ratio(b, real[figure]):>26}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

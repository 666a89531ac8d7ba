#!/usr/bin/env python3
"""One vigild watching a million presences, end to end (issue 14: the scale test).

  bench/measure_million.py [--bin build/release] [--peers 1000000] [--rate 100000]
                           [--kill-every 100] [--detector adaptive|timeout]
                           [--ring-size 4096]

Runs on 127.0.0.1 and stops by itself (about 6 minutes at the defaults):
  1. starts vigild with enrollment (no peer listed), 10 s interval (peers / rate), and
     enrolls every sender once with vigil-loadgen (authenticated, paced); RSS before and
     after, and the difference per enrolled peer;
  2. feeds the real load: every sender every 10 s, paced evenly (--rate), for --feed seconds;
     at --kill-at seconds every --kill-every-th sender (1 %) stops at once;
  3. meanwhile: a quiet window (--quiet s, the feed and the state file's writes only: how
     late the loop's ticks were, vigil_loop_lag_seconds, and the slowest of /v1/health probes
     sent every 2 ms); then the API latencies (summary, pages, a filtered page, single peers, remembered
     or not), the event loop's lag (vigil_loop_lag_seconds, and a client probing /v1/health
     every 2 ms: its slowest answer is the longest the loop did not serve), RSS, every
     transition from /v1/events, and the peers judged per second (vigil_deadline_evaluations_total);
  4. checks the killed: each one's down event against its detector bound
     (down_after_silence_ms, from /v1/peers?state=down after the fact, with its last
     heartbeat), and counts any down among the senders that never stopped (false alarms);
  5. restarts vigild (SIGTERM, then start with the state file) under the same feed: stop
     time, start-up time until the API answers and until the table is restored, the state
     file's size, and false downs after the restart.
vigild runs with the environment the shipped unit sets (systemd/vigil.service.in:
transparent huge pages for malloc). Needs the release build (vigild, vigilctl,
vigil-loadgen). Prints one report.
"""
import argparse, json, os, signal, socket, subprocess, sys, tempfile, threading, time

from measure_daemon import free_ports, http_get, rss_kib, wait_for
from measure_ingest import cpu_seconds, metrics, total


def timed_get(sock, target, timeout=120):
    t0 = time.monotonic()
    status, body = http_get(sock, target, timeout=timeout)
    return (time.monotonic() - t0) * 1000, status, body


class EventWatcher(threading.Thread):
    """Reads /v1/events and keeps every transition (resuming with Last-Event-ID if dropped)."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.events, self.gaps, self.drops, self.stop = sock, [], 0, 0, False
        self.last_id = None

    def run(self):
        while not self.stop:
            try:
                self.follow()
            except OSError:
                pass
            if not self.stop:
                self.drops += 1
                time.sleep(0.2)

    def follow(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.connect(self.sock)
        resume = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
        s.sendall(f"GET /v1/events HTTP/1.1\r\nHost: x\r\n{resume}\r\n".encode())
        buf, kind = b"", None
        while not self.stop:
            chunk = s.recv(1 << 20)
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            now = time.time() * 1000
            for line in lines:
                if line.startswith(b"event: "):
                    kind = line[7:].decode()
                elif line.startswith(b"data: ") and kind == "transition":
                    e = json.loads(line[6:])
                    e["received"] = now
                    self.events.append(e)
                    self.last_id = e["id"]
                elif line.startswith(b"data: ") and kind == "gap":
                    self.gaps += 1


class Prober(threading.Thread):
    """Asks /v1/health every 2 ms; the slowest answer bounds how long the loop did not serve."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.samples, self.stop = sock, [], False

    def run(self):
        while not self.stop:
            try:
                ms, _, _ = timed_get(self.sock, "/v1/health", timeout=30)
                self.samples.append((time.monotonic(), ms))
            except OSError:
                time.sleep(0.05)
            time.sleep(0.002)

    def worst(self, since=0.0):
        return max((ms for t, ms in self.samples if t >= since), default=0.0)


def unit_environment():
    """The Environment= settings of systemd/vigil.service.in (how vigild runs in production)."""
    unit = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "systemd",
                        "vigil.service.in")
    env = {}
    with open(unit) as f:
        for line in f:
            if line.startswith("Environment="):
                key, _, value = line.strip()[len("Environment="):].partition("=")
                env[key] = value
    return env


class Vigild:
    def __init__(self, bins, work, peers, interval, detector, ring_size):
        self.bins, self.work = bins, work
        self.port, = free_ports(1)
        self.sock = os.path.join(work, "obs.sock")
        self.keys = os.path.join(work, "keys")
        self.state = os.path.join(work, "state")
        subprocess.run([os.path.join(bins, "ctl", "vigilctl"), "keygen", "--output", self.keys],
                       check=True, capture_output=True)
        self.config = os.path.join(work, "obs.yaml")
        lines = [f'node: {{id: obs, bind: "127.0.0.1:{self.port}"}}',
                 f"api: {{socket: {self.sock}, sse_buffer: 67108864}}",
                 f"state: {{directory: {self.state}}}", "log: {level: warn}",
                 f"heartbeat: {{interval: {interval}}}", f"events: {{ring_size: {ring_size}}}",
                 f"security: {{keyring: {self.keys}}}",
                 f"enrollment: {{enabled: true, max_peers: {peers + 100}, retention: 1h}}"]
        if detector == "timeout":
            lines.append("detector: {kind: timeout, timeout: 30s}")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(work, "obs.log"), "ab")

    def start(self):
        """Starts vigild as the shipped unit does; returns seconds until the API answered."""
        t0 = time.monotonic()
        self.proc = subprocess.Popen([os.path.join(self.bins, "daemon", "vigild"), "--config",
                                      self.config], stdout=self.log, stderr=self.log,
                                     env={**os.environ, **unit_environment()})
        if not wait_for(lambda: http_get(self.sock, "/v1/health")[0] == 200, 600):
            self.proc.kill()
            sys.exit("vigild did not start:\n" + open(self.log.name).read()[-2000:])
        return time.monotonic() - t0

    def summary(self):
        return json.loads(http_get(self.sock, "/v1/summary", timeout=60)[1])


def loadgen(bins, port, keys, *args, background=False):
    cmd = [os.path.join(bins, "tools", "vigil-loadgen"), "--to", f"127.0.0.1:{port}",
           "--keyring", keys, "--incarnation", 1_000_000, *args]
    cmd = list(map(str, cmd))
    if background:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def enroll(v, a, interval):
    """One paced round (vigild keeps up while enrolling), repeated until every sender is up."""
    for rounds in range(1, 6):
        loadgen(v.bins, v.port, v.keys, "--senders", a.peers, "--interval", interval,
                "--first-sequence", rounds, "--rate", 50_000, "--count", a.peers,
                "--seconds", a.peers / 50_000 + 10)
        if wait_for(lambda: v.summary()["peers"]["up"] >= a.peers, 30):
            return rounds
    sys.exit(f"enrollment stalled: {v.summary()}")


def api_latencies(v, a):
    out = {}
    width = len(str(a.peers - 1))
    prefix = "user-" + f"{a.peers // 2:0{width}d}"[:max(1, width - 2)]  # 100 ids
    for name, target in [("summary", "/v1/summary"), ("page of 100", "/v1/peers?limit=100"),
                         ("page of 1000", "/v1/peers?limit=1000"),
                         (f"prefix={prefix}", f"/v1/peers?prefix={prefix}&limit=100")]:
        ms = [timed_get(v.sock, target)[0] for _ in range(5)]
        out[name] = (sorted(ms)[2], max(ms))
    # Paging on: each next page from the cursor of the one before.
    cursor, ms = None, []
    for _ in range(20):
        t, _, body = timed_get(v.sock, "/v1/peers?limit=100" + (f"&cursor={cursor}" if cursor else ""))
        ms.append(t)
        cursor = json.loads(body)["next_cursor"]
    out["next page of 100 (20)"] = (sorted(ms)[10], max(ms))
    ids = [f"user-{(i * 7919) % a.peers:0{width}d}" for i in range(100)]
    ms = sorted(timed_get(v.sock, f"/v1/peers/{i}")[0] for i in ids)
    out["single peer (100)"] = (ms[50], ms[-1])
    return out


def read_counting(sock_path, target, needle, timeout=900):
    """GET `target` (Connection: close) and count `needle` in the body as it streams in,
    keeping none of it: this process stays small and never holds the GIL for long (a probe
    thread beside it would otherwise time the copy of a 500 MB body, not vigild)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, total, count, tail = b"", 0, 0, b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        if head is not None and b"\r\n\r\n" not in head + chunk:
            head += chunk
            continue
        if head is not None:
            head, _, chunk = (head + chunk).partition(b"\r\n\r\n")
            status, head = int(head.split()[1]), None
        total += len(chunk)
        data = tail + chunk
        count += data.count(needle)
        # Kept for the next read: too short to hold a needle, so none is counted twice, and
        # one split across two reads is counted once.
        tail = data[-(len(needle) - 1):]
    s.close()
    return status, total, count


def whole_list(v, prober):
    """GET /v1/peers without a limit, streamed: how long, how big, how many peers, the
    slowest /v1/health probe meanwhile, vigild's latest loop tick and RSS growth meanwhile."""
    rss0, peak, done = rss_kib(v.proc.pid), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(v.proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lag0 = metrics(v.sock)
    t0 = time.monotonic()
    status, size, peers = read_counting(v.sock, "/v1/peers", b'"id":"')
    ms = (time.monotonic() - t0) * 1000
    probe = prober.worst(t0)
    done.set()
    sampler.join()
    lag1 = metrics(v.sock)
    late = {le: total(lag1, f'vigil_loop_lag_seconds_bucket{{le="+Inf"}}') -
            total(lag0, f'vigil_loop_lag_seconds_bucket{{le="+Inf"}}') -
            (total(lag1, f'vigil_loop_lag_seconds_bucket{{le="{le}"}}') -
             total(lag0, f'vigil_loop_lag_seconds_bucket{{le="{le}"}}'))
            for le in ("0.01", "0.05")}
    return {"ms": ms, "status": status, "mb": size / 1e6, "peers": peers,
            "probe_max_ms": probe, "late": late,
            "rss_growth_mib": max(0, peak[0] - rss0) / 1024}


def feed_phase(v, a, interval, rounds):
    """The real load with the kill; returns the report of detection and the loop."""
    watcher, prober = EventWatcher(v.sock), Prober(v.sock)
    watcher.start()
    prober.start()
    time.sleep(1)
    m0, c0, t0 = metrics(v.sock), cpu_seconds(v.proc.pid), time.monotonic()
    gen = loadgen(v.bins, v.port, v.keys, "--senders", a.peers, "--interval", interval,
                  "--first-sequence", rounds + 1, "--rate", a.rate, "--seconds", a.feed,
                  "--silence-every", a.kill_every, "--silence-at", a.kill_at, background=True)
    # A quiet window first: the feed, the probes and the state file's periodic writes only.
    time.sleep(5)
    q0, tq = metrics(v.sock), time.monotonic()
    time.sleep(a.quiet)
    quiet = {"m0": q0, "m1": metrics(v.sock), "probe_max": prober.worst(tq),
             "seconds": time.monotonic() - tq}
    lat = api_latencies(v, a)
    whole = whole_list(v, prober)
    rss_live = rss_kib(v.proc.pid) / 1024
    while time.monotonic() - t0 < a.kill_at - 2:
        time.sleep(0.2)
    m_kill, t_kill = metrics(v.sock), time.monotonic()
    killed = {f"user-{i:0{len(str(a.peers - 1))}d}" for i in range(0, a.peers, a.kill_every)}
    deadline = t_kill + 120
    while time.monotonic() < deadline:
        down = {e["peer"] for e in watcher.events if e["to"] == "down"}
        if killed <= down:
            break
        time.sleep(0.5)
    m_done, c_done, t_done = metrics(v.sock), cpu_seconds(v.proc.pid), time.monotonic()
    # Each killed peer's bound and last heartbeat, one small request each (one page of
    # 10,000 would be a body of megabytes built in one turn of the loop).
    bounds, ms = {}, []
    for peer in sorted(killed):
        t, status, body = timed_get(v.sock, f"/v1/peers/{peer}")
        ms.append(t)
        if status == 200:
            bounds[peer] = json.loads(body)
    return {"quiet": quiet, "gen": gen, "watcher": watcher, "prober": prober, "killed": killed, "bounds": bounds,
            "lat": lat, "whole": whole, "killed_ms": sorted(ms), "rss_live": rss_live, "m0": m0, "m_kill": m_kill,
            "m_done": m_done, "cpu": c_done - c0, "t0": t0, "t_kill": t_kill, "t_done": t_done}


def detection_report(r, a):
    firsts = {}
    for e in r["watcher"].events:
        if e["to"] == "down" and e["peer"] not in firsts:
            firsts[e["peer"]] = e
    false_down = sorted(p for p in firsts if p not in r["killed"])
    over, detect, delivered, missing = [], [], [], []
    for peer in sorted(r["killed"]):
        e, p = firsts.get(peer), r["bounds"].get(peer)
        if not e or not p or p.get("last_heartbeat") is None:
            missing.append(peer)
            continue
        took = e["time"] - p["last_heartbeat"]
        detect.append(took)
        over.append(took - p["down_after_silence_ms"])
        delivered.append(e["received"] - e["time"])
    q = lambda xs, f: sorted(xs)[min(len(xs) - 1, int(f * len(xs)))] if xs else float("nan")
    print(f"\n== 1 % killed at once ({len(r['killed'])} of {a.peers}) ==")
    print(f"down events for the killed: {len(detect)} (missing {len(missing)}"
          f"{': ' + ', '.join(missing[:5]) if missing else ''})")
    print(f"last heartbeat -> down: median {q(detect, .5):.0f} ms, p99 {q(detect, .99):.0f} ms, "
          f"max {max(detect, default=float('nan')):.0f} ms")
    print(f"beyond the detector bound (down_after_silence_ms): median {q(over, .5):.0f} ms, "
          f"max {max(over, default=float('nan')):.0f} ms (target <= 1000 ms)")
    print(f"event delivered to the SSE client after the transition: median {q(delivered, .5):.0f}"
          f" ms, max {max(delivered, default=float('nan')):.0f} ms; drops {r['watcher'].drops}, "
          f"gaps {r['watcher'].gaps}")
    print(f"false downs among the {a.peers - len(r['killed'])} that kept sending: "
          f"{len(false_down)}{' ' + ', '.join(false_down[:5]) if false_down else ''}")
    ev = lambda m: total(m, "vigil_deadline_evaluations_total")
    quiet = (ev(r["m_kill"]) - ev(r["m0"])) / max(r["t_kill"] - r["t0"], 1e-9)
    busy = (ev(r["m_done"]) - ev(r["m_kill"])) / max(r["t_done"] - r["t_kill"], 1e-9)
    print(f"peers judged per second (deadline evaluations): {quiet:.0f}/s before the kill, "
          f"{busy:.0f}/s while the killed went down (of {a.peers} tracked; no scan)")


def quiet_report(q):
    d = lambda name: total(q["m1"], name) - total(q["m0"], name)
    count = d("vigil_loop_lag_seconds_count")
    over = {le: count - d(f'vigil_loop_lag_seconds_bucket{{le="{le}"}}') for le in ("0.005", "0.01", "0.02")}
    writes = d('vigil_state_writes_total{result="ok"}')
    print(f"\n== quiet window: the feed and the state file only ({q['seconds']:.0f} s, "
          f"{writes:.0f} writes of the whole table) ==")
    print(f"ticks late by more than 5 / 10 / 20 ms: {over['0.005']:.0f} / {over['0.01']:.0f} / "
          f"{over['0.02']:.0f} of {count:.0f}; slowest /v1/health probe {q['probe_max']:.1f} ms")
    step = total(q["m1"], "vigil_state_snapshot_longest_step_seconds") * 1000
    print(f"longest step of the last snapshot on the loop (a 5,000-peer slice): {step:.1f} ms "
          f"(vigil_state_snapshot_longest_step_seconds; the lag above also counts the two cores "
          f"shared with the load generator and the writer thread)")


def loop_report(r, v):
    m = r["m_done"]
    delta = lambda name: total(m, name) - total(r["m0"], name)
    count = delta("vigil_loop_lag_seconds_count")
    over10 = count - delta('vigil_loop_lag_seconds_bucket{le="0.01"}')
    writes = total(m, 'vigil_state_writes_total{result="ok"}') - \
        total(r["m0"], 'vigil_state_writes_total{result="ok"}')
    print(f"\n== the event loop during the feed ({r['t_done'] - r['t0']:.0f} s, {writes:.0f} "
          f"state-file writes of the whole table) ==")
    print(f"ticks late by more than 10 ms: {over10:.0f} of {count:.0f}; latest tick since start "
          f"{total(m, 'vigil_loop_lag_max_seconds') * 1000:.1f} ms")
    s = sorted(ms for _, ms in r["prober"].samples)
    print(f"/v1/health probes: {len(s)}, median {s[len(s) // 2]:.2f} ms, p99.9 "
          f"{s[int(len(s) * .999)]:.1f} ms, slowest {s[-1]:.1f} ms")
    print(f"vigild CPU: {r['cpu'] / (r['t_done'] - r['t0']) * 100:.0f} % of a core; RSS "
          f"{r['rss_live']:.0f} MiB")


def restart_phase(v, a, r):
    """SIGTERM at --restart-at seconds into the feed, which goes on; then a start."""
    while time.monotonic() - r["t0"] < a.restart_at:
        time.sleep(0.2)
    t0 = time.monotonic()
    v.proc.send_signal(signal.SIGTERM)
    v.proc.wait(timeout=300)
    stopped = time.monotonic() - t0
    size = os.path.getsize(os.path.join(v.state, "state.bin"))
    ready = v.start()
    t1 = time.monotonic()
    wait_for(lambda: v.summary()["peers"]["total"] >= a.peers * 0.99, 300)
    restored = time.monotonic() - t1 + ready
    watcher = EventWatcher(v.sock)
    watcher.start()
    out = r["gen"].communicate(timeout=a.feed + 120)[0]
    summary = v.summary()
    watcher.stop = True
    downs = [e for e in watcher.events if e["to"] == "down" and e["peer"] not in r["killed"]]
    print(f"\n== restart under load (SIGTERM, then start with the state file) ==")
    print(f"stop (final state-file write included): {stopped:.1f} s; state file {size / 1e6:.1f} MB")
    print(f"start-up: API answers after {ready:.1f} s, {summary['peers']['total']} peers "
          f"restored after {restored:.1f} s")
    print(f"after the restart: {summary['peers']['up']} up, {summary['peers']['down']} down "
          f"(the killed stay down); down events for senders still sending, until the feed ended "
          f"{a.feed - a.restart_at - restored:.0f} s later: {len(downs)}")
    print(f"feed: {out.strip().splitlines()[-1] if out.strip() else '(no report)'}")
    print(f"RSS after the restart: {rss_kib(v.proc.pid) / 1024:.0f} MiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", default="build/release")
    ap.add_argument("--peers", type=int, default=1_000_000)
    ap.add_argument("--rate", type=int, default=100_000)
    ap.add_argument("--feed", type=float, default=300)
    ap.add_argument("--restart-at", type=float, default=230)
    ap.add_argument("--kill-at", type=float, default=150)
    ap.add_argument("--quiet", type=float, default=60, help="seconds of the quiet window")
    ap.add_argument("--kill-every", type=int, default=100)
    ap.add_argument("--detector", choices=["adaptive", "timeout"], default="adaptive")
    ap.add_argument("--ring-size", type=int, default=4096,
                    help="events.ring_size (vigild's default; the tables before 2026-12-06 "
                    "afternoon ran with 1000000, which holds every peer's first event)")
    a = ap.parse_args()
    bins = os.path.abspath(a.bin)
    interval = f"{a.peers / a.rate:g}s"
    print(f"vigil at a million, {time.strftime('%Y-%m-%d %H:%M')}, bin {a.bin}, {a.peers} "
          f"senders every {interval} ({a.rate}/s), detector {a.detector}")
    with tempfile.TemporaryDirectory(prefix="vigil-million-") as work:
        v = Vigild(bins, work, a.peers, interval, a.detector, a.ring_size)
        ready = v.start()
        empty_kib = rss_kib(v.proc.pid)
        t0 = time.monotonic()
        rounds = enroll(v, a, interval)
        full_kib = rss_kib(v.proc.pid)
        print(f"fresh start: API after {ready:.2f} s; {a.peers} senders enrolled in "
              f"{time.monotonic() - t0:.0f} s ({rounds} round(s) at 50,000/s); RSS "
              f"{full_kib / 1024:.0f} MiB, {empty_kib / 1024:.0f} MiB before: "
              f"{(full_kib - empty_kib) * 1024 / a.peers:.0f} bytes per enrolled peer "
              f"(events.ring_size {a.ring_size})")
        r = feed_phase(v, a, interval, rounds)
        r["watcher"].stop = r["prober"].stop = True
        print("\n== API latency at", a.peers, "peers, under the feed (median / max of 5; ms) ==")
        for name, (med, worst) in r["lat"].items():
            print(f"{name:<26} {med:8.1f} {worst:8.1f}")
        w = r["whole"]
        print(f"{'whole list, streamed':<26} {w['ms']:8.0f} ms: status {w['status']}, "
              f"{w['peers']} peers, {w['mb']:.0f} MB; slowest /v1/health meanwhile "
              f"{w['probe_max_ms']:.1f} ms; loop ticks late by more than 10 / 50 ms "
              f"meanwhile: {w['late']['0.01']:.0f} / {w['late']['0.05']:.0f}; vigild RSS "
              f"+{w['rss_growth_mib']:.0f} MiB")
        k = r["killed_ms"]
        print(f"{'single peer, killed (' + str(len(k)) + ')':<26} {k[len(k) // 2]:8.1f} {k[-1]:8.1f}"
              " (after the kill)")
        quiet_report(r["quiet"])
        detection_report(r, a)
        loop_report(r, v)
        restart_phase(v, a, r)
        v.proc.send_signal(signal.SIGKILL)
        v.proc.wait()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What one heartbeat costs vigild, against a receiver that does nothing (issue 14, item 3).

  bench/measure_ingest.py [--bin build/release] [--only flat,paced,redis] [--repeat 1]
                          [--paced-seconds 10] [--flat-count 2000000]

Every figure is a ratio taken in one run, vigild and the baseline on the same feed, one after
the other (never at once: they would share the two cores):
  flat:  vigil-loadgen flat out (UDP GSO, prebuilt datagrams) from 1,000 and 10,000 senders,
         unauthenticated (listed peers) and authenticated (enrolled peers; wire version 3,
         SipHash tags, and version 2, BLAKE2b tags): vigild's CPU per
         datagram against vigil-bare-receiver's (a blocking recvmmsg that does nothing), the
         heartbeats vigild accepted, what the kernel dropped, and the accepted rate;
  paced: evenly paced feeds (10,000/s from 100,000 senders, 100,000/s from 1,000,000, every
         sender every 10 s, authenticated, enrolled; --paced changes them): vigild with
         node.receive_coalesce 2ms (the longest the issue allows), 1ms (the default) and 0s
         against the bare receiver waking for each datagram;
  redis: the seed's design at the paced 100,000/s: a real redis-server (Debian's package) given
         `SET user:<id> 1 EX 30` per heartbeat; its CPU per heartbeat and memory per user, and
         vigild's from the paced run.
CPU is user + system time from /proc/<pid>/stat (vigild, redis-server) or getrusage (the bare
receiver), from the start of a feed until everything sent was handled. vigild's includes its
own timers and state-file writes over that time: that is what it costs. Runs on 127.0.0.1
and stops by itself; needs the release build, and redis-server for `redis`.
"""
import argparse, json, os, re, shutil, signal, subprocess, sys, tempfile, time

from measure_daemon import free_ports, http_get, rss_kib, wait_for

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def metrics(sock):
    _, body = http_get(sock, "/metrics", timeout=60)
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = out.get(name, 0.0) + float(value)
    return out


def total(m, family):
    return sum(v for k, v in m.items() if k == family or k.startswith(family + "{"))


class Vigild:
    """One vigild on 127.0.0.1: enrolling signed senders (auth) or listing them (unauth)."""

    def __init__(self, bins, work, senders, auth, coalesce="1ms", interval="10s"):
        self.port, = free_ports(1)
        self.sock = os.path.join(work, "obs.sock")
        self.keys = os.path.join(work, "keys")
        config = os.path.join(work, "obs.yaml")
        lines = [f'node: {{id: obs, bind: "127.0.0.1:{self.port}", receive_coalesce: {coalesce}}}',
                 f"api: {{socket: {self.sock}}}",
                 f"state: {{directory: {os.path.join(work, 'state')}}}", "log: {level: warn}"]
        if auth:
            subprocess.run([os.path.join(bins, "ctl", "vigilctl"), "keygen", "--output",
                            self.keys], check=True, capture_output=True)
            lines += [f"heartbeat: {{interval: {interval}}}",
                      f"security: {{keyring: {self.keys}}}",
                      f"enrollment: {{enabled: true, max_peers: {senders + 100}, retention: 1h}}"]
        else:
            # Listed peers, heard from 127.1.x.y (so no source check); vigild sends them one
            # round at start and then once an hour.
            width = len(str(senders - 1))
            lines += ["heartbeat: {interval: 1h}", "security: {check_source_address: false}",
                      "peers:"]
            lines += [f'  - {{id: user-{i:0{width}d}, address: "127.2.{i // 250}.{i % 250 + 1}:9"}}'
                      for i in range(senders)]
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(work, "obs.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(bins, "daemon", "vigild"), "--config", config],
                                     stdout=self.log, stderr=self.log)
        if not wait_for(lambda: http_get(self.sock, "/v1/health")[0] == 200, 300):
            self.proc.kill()
            with open(os.path.join(work, "obs.log")) as f:
                sys.exit("vigild did not start:\n" + f.read()[-2000:])

    def settle(self, expected, timeout=120):
        """Waits until vigild has seen `expected` datagrams, or nothing more arrives."""
        last, still = -1, time.monotonic()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            seen = total(metrics(self.sock), "vigil_datagrams_received_total")
            if seen >= expected:
                return
            if seen != last:
                last, still = seen, time.monotonic()
            elif time.monotonic() - still > 1.5:
                return
            time.sleep(0.2)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)


def loadgen(bins, port, *args):
    out = subprocess.run([os.path.join(bins, "tools", "vigil-loadgen"), "--to",
                          f"127.0.0.1:{port}", *map(str, args)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_vigild(bins, senders, auth, feed, coalesce="1ms", interval="10s", wire=3):
    """Warms vigild up until every sender is tracked (enrolled, or heard if listed), then
    measures `feed`: the measured run has no enrollment in it. `wire`: the senders' wire
    version (3 signs with SipHash-2-4-128, 2 with BLAKE2b-256)."""
    with tempfile.TemporaryDirectory(prefix="vigil-ingest-") as work:
        v = Vigild(bins, work, senders, auth, coalesce, interval)
        common = ["--senders", senders, "--incarnation", 1_000_000, "--interval", interval,
                  "--wire-version", wire] + (["--keyring", v.keys] if auth else [])
        # Rounds at a pace vigild keeps up with while it enrolls (a flat-out round would
        # overflow the socket buffer), until every sender is tracked.
        rounds = 0
        while rounds < 10:
            rounds += 1
            loadgen(bins, v.port, *common, "--first-sequence", rounds, "--rate", 50_000,
                    "--count", senders, "--seconds", senders / 50_000 + 5)
            v.settle(senders * rounds)
            m = metrics(v.sock)
            if total(m, "vigil_peers") - total(m, 'vigil_peers{state="unknown"}') >= senders:
                break
        time.sleep(1)
        m0, c0 = metrics(v.sock), cpu_seconds(v.proc.pid)
        sent = loadgen(bins, v.port, *common, "--first-sequence", rounds + 1, *feed)
        v.settle(total(m0, "vigil_datagrams_received_total") + sent["sent"])
        c1, m1 = cpu_seconds(v.proc.pid), metrics(v.sock)
        d = {k: total(m1, k) - total(m0, k) for k in (
            "vigil_datagrams_received_total", "vigil_heartbeats_accepted_total",
            "vigil_receive_buffer_drops_total", "vigil_receive_wakeups_total",
            "vigil_datagrams_rejected_total")}
        rss = rss_kib(v.proc.pid)
        v.stop()
    got = d["vigil_datagrams_received_total"]
    return {"sent": sent["sent"], "send_seconds": sent["seconds"], "received": got,
            "accepted": d["vigil_heartbeats_accepted_total"],
            "rejected": d["vigil_datagrams_rejected_total"],
            "dropped": d["vigil_receive_buffer_drops_total"],
            "wakeups": d["vigil_receive_wakeups_total"], "cpu": c1 - c0,
            "ns": (c1 - c0) / max(got, 1) * 1e9, "rss_mib": rss / 1024}


def run_bare(bins, feed, senders, wire=3):
    port, = free_ports(1)
    p = subprocess.Popen([os.path.join(bins, "bench", "vigil-bare-receiver"), "--port", str(port),
                          "--idle-exit-ms", "1500"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    sent = loadgen(bins, port, "--senders", senders, "--wire-version", wire, *feed)
    r = json.loads(p.stdout.readline())
    p.wait(timeout=30)
    return {"sent": sent["sent"], "received": r["received"], "wakeups": r["wakeups"],
            "cpu": r["cpu_seconds"], "ns": r["cpu_seconds"] / max(r["received"], 1) * 1e9}


def flat(bins, count, repeat):
    print("\n== flat out: UDP GSO from 127.1.x.y, prebuilt datagrams ==")
    print(f"{'feed':<22} {'vigild ns/hb':>12} {'bare ns/dg':>10} {'ratio':>6} {'accepted':>9} "
          f"{'dropped':>8} {'acc/s wall':>10} {'acc/cpu-s':>10}")
    # Authenticated twice: wire version 3 (SipHash-2-4-128, what vigild and the documented
    # senders use) and 2 (BLAKE2b-256, older senders), so the MAC's share shows in one run.
    for auth, wire in ((False, 3), (True, 3), (True, 2)):
        for senders in (1000, 10000):
            for _ in range(repeat):
                feed = ["--count", count, "--gso", "--seconds", 120]
                v = run_vigild(bins, senders, auth, feed, wire=wire)
                b = run_bare(bins, feed, senders, wire)
                name = f"{f'auth v{wire}' if auth else 'unauth'} {senders} senders"
                print(f"{name:<22} {v['ns']:12.0f} {b['ns']:10.0f} {v['ns'] / b['ns']:6.2f} "
                      f"{v['accepted']:9.0f} {v['dropped']:8.0f} "
                      f"{v['accepted'] / v['send_seconds']:10.0f} "
                      f"{v['accepted'] / max(v['cpu'], 1e-9):10.0f}", flush=True)


def paced(bins, seconds, repeat, feeds):
    print("\n== paced evenly, authenticated, enrolled; every sender once per SENDERS/RATE s ==")
    print(f"{'feed':<28} {'receiver':<18} {'ns/hb':>7} {'vs bare':>7} {'wakeups/hb':>10} "
          f"{'accepted':>9} {'dropped':>8} {'RSS MiB':>8}")
    results = {}
    for rate, senders in feeds:
        for _ in range(repeat):
            interval = f"{senders / rate:g}s"  # every sender once a round
            feed = ["--rate", rate, "--seconds", seconds]
            b = run_bare(bins, feed, senders)
            name = f"{rate}/s from {senders}"
            print(f"{name:<28} {'bare receiver':<18} {b['ns']:7.0f} {1:7.2f} "
                  f"{b['wakeups'] / max(b['received'], 1):10.3f} {b['received']:9.0f}", flush=True)
            for coalesce in ("2ms", "1ms", "0s"):
                v = run_vigild(bins, senders, True, feed, coalesce, interval)
                results[(rate, coalesce)] = v
                print(f"{name:<28} {'vigild coalesce ' + coalesce:<18} {v['ns']:7.0f} "
                      f"{v['ns'] / b['ns']:7.2f} {v['wakeups'] / max(v['received'], 1):10.3f} "
                      f"{v['accepted']:9.0f} {v['dropped']:8.0f} {v['rss_mib']:8.0f}", flush=True)
    return results


def redis(bins, seconds, vigil_paced):
    print("\n== the seed's design: redis-server, SET user:<id> 1 EX 30 per heartbeat ==")
    server = shutil.which("redis-server")
    if not server:
        print("skipped: redis-server is not installed "
              "(apt-get install --no-install-recommends redis-server)")
        return
    rate, senders = 100_000, 1_000_000
    port, = free_ports(1)
    p = subprocess.Popen([server, "--port", str(port), "--save", "", "--appendonly", "no",
                          "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"],
                                               capture_output=True).returncode == 0)
        # One round first, so every user has a key, as every vigild peer is enrolled.
        loadgen(bins, port, "--redis", "--senders", senders, "--rate", 200_000,
                "--count", senders, "--seconds", senders / 200_000 + 5, "--sources", 50,
                "--prefix", "user:")
        c0 = cpu_seconds(p.pid)
        sent = loadgen(bins, port, "--redis", "--senders", senders, "--rate", rate,
                       "--seconds", seconds, "--sources", 50, "--prefix", "user:")
        c1 = cpu_seconds(p.pid)
        info = subprocess.run(["redis-cli", "-p", str(port), "info", "memory"],
                              capture_output=True, text=True).stdout
        keys = int(subprocess.run(["redis-cli", "-p", str(port), "dbsize"],
                                  capture_output=True, text=True).stdout)
        used = int(re.search(r"used_memory:(\d+)", info).group(1))
        rss = rss_kib(p.pid)
    finally:
        p.terminate()
        p.wait(timeout=30)
    ns = (c1 - c0) / max(sent["sent"], 1) * 1e9
    print(f"redis-server: {ns:.0f} ns CPU per heartbeat ({sent['sent']} sent, {sent['errors']} "
          f"unanswered), {used / keys:.0f} B per user (used_memory / {keys} keys), "
          f"RSS {rss / 1024:.0f} MiB")
    v = vigil_paced.get((rate, "1ms")) if vigil_paced else None
    if v:
        print(f"vigild (same feed, coalesce 1ms): {v['ns']:.0f} ns per heartbeat -> "
              f"redis / vigild = {ns / v['ns']:.1f}x; RSS {v['rss_mib']:.0f} MiB for "
              f"{senders} tracked peers")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", default="build/release")
    ap.add_argument("--only", default="flat,paced,redis")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--paced-seconds", type=float, default=10)
    ap.add_argument("--flat-count", type=int, default=2_000_000)
    ap.add_argument("--paced", default="10000:100000,100000:1000000",
                    help="paced feeds, RATE:SENDERS,... (every sender every SENDERS/RATE s)")
    a = ap.parse_args()
    only = set(a.only.split(","))
    bins = os.path.abspath(a.bin)
    print(f"vigil ingest benchmark, {time.strftime('%Y-%m-%d %H:%M')}, bin {a.bin}, "
          f"{os.cpu_count()} CPUs")
    if "flat" in only:
        flat(bins, a.flat_count, a.repeat)
    feeds = [tuple(int(x) for x in f.split(":")) for f in a.paced.split(",")]
    results = paced(bins, a.paced_seconds, a.repeat, feeds) if only & {"paced", "redis"} else None
    if "redis" in only:
        redis(bins, a.paced_seconds, results)


if __name__ == "__main__":
    main()

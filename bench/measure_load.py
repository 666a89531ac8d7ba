#!/usr/bin/env python3
"""vigild under load, with real processes on loopback (issue 12, items 2 and 5).

  bench/measure_load.py [--bin build/release] [--only flood,scale] [--scale-peers 100000]

Prints:
  flood: floods of invalid datagrams at an authenticated 3-node cluster from the peers' own
     address, 127.0.0.1 (paced as in the issue, and as fast as one sender can): the rate
     sent, what vigild rejected and what the kernel dropped, false downs, and the latency
     of GET /v1/peers/n2 during the flood;
  scale: one vigild with --scale-peers configured peers at a 1 s interval (all but two on
     loopback addresses where a socket that never reads drops what arrives): its CPU, the length of a heartbeat round,
     its health throughout, and how long after its last heartbeat a SIGKILLed peer among
     them is reported down, against the detector's bound; before it, vigil-bare-sender
     sends the same rounds to the same addresses for as long, doing nothing else: its CPU
     is the baseline (the kernel's send path) vigild's is a ratio to.
Everything stays on 127.0.0.1 and stops by itself.
"""
import argparse, base64, hashlib, json, os, signal, socket, statistics, subprocess, sys, tempfile, threading, time

from measure_daemon import EventCounter, Node, first_time, free_ports, http_get, pct, rss_kib, wait_for


def metric(sock, name):
    _, body = http_get(sock, "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def flood(vigild, vigilctl, udpflood, kind, rate, seconds, count=0, max_size=1400, senders=1):
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as work:
        keys = os.path.join(work, "keys")
        subprocess.run([vigilctl, "keygen", "--output", keys], check=True, capture_output=True)
        ports = free_ports(3)
        ids = ["n1", "n2", "n3"]
        nodes = [Node(vigild, work, ids[i], ports[i],
                      [(ids[j], ports[j]) for j in range(3) if j != i],
                      extra=f"security: {{keyring: {keys}}}") for i in range(3)]
        for n in nodes:
            n.start()
        assert wait_for(lambda: all(nodes[0].state_of(p) == "up" for p in ("n2", "n3")))
        time.sleep(2)
        target = nodes[0]
        downs = EventCounter(target.sock, "down")
        downs.start()
        downs.ready.wait(10)
        rejected0 = metric(target.sock, "vigil_datagrams_rejected_total")
        drops0 = metric(target.sock, "vigil_receive_buffer_drops_total")
        lat, failures, stop = [], [0], threading.Event()

        def probe():
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    status, _ = http_get(target.sock, "/v1/peers/n2", timeout=5)
                    if status != 200:
                        failures[0] += 1
                    lat.append((time.perf_counter() - t0) * 1000.0)
                except OSError:
                    failures[0] += 1
                stop.wait(0.02)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        cmd = [udpflood, "--to", f"127.0.0.1:{target.port}", "--kind", kind, "--rate", str(rate),
               "--seconds", str(seconds), "--id", "n2", "--max-size", str(max_size)]
        if count:
            cmd += ["--count", str(count)]
        if kind == "forged":
            # The key id is the first byte of an unkeyed 16-byte BLAKE2b hash of the key
            # (transport/keyring.cc): forged tags then make vigild compute a MAC each.
            with open(keys) as f:
                key = base64.b64decode(f.readline().strip())
            cmd += ["--key-id", str(hashlib.blake2b(key, digest_size=16).digest()[0])]
        # Several senders at once (each its own process and seed) to reach what this machine
        # can send, not what one sender can.
        procs = [subprocess.Popen(cmd + ["--seed", str(i + 1)], stdout=subprocess.PIPE, text=True)
                 for i in range(senders)]
        results = [json.loads(p.communicate()[0]) for p in procs]
        sent = {"sent": sum(r["sent"] for r in results), "seconds": max(r["seconds"] for r in results)}
        sent["rate"] = sent["sent"] / sent["seconds"]
        time.sleep(2)  # any conviction the flood caused shows by now
        stop.set()
        prober.join()
        downs.stop.set()
        downs.join(2)
        rejected = metric(target.sock, "vigil_datagrams_rejected_total") - rejected0
        drops = metric(target.sock, "vigil_receive_buffer_drops_total") - drops0
        states = [target.state_of(p) for p in ("n2", "n3")]
        for n in nodes:
            n.stop()
        return sent, downs.count, states, lat, failures[0], rejected, drops


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_sender(bins, port, n_peers, seconds):
    """The same rounds as vigild's at 1 s, sent by a program that does nothing else."""
    out = subprocess.run([os.path.join(bins, "bench", "vigil-bare-sender"), "--port", str(port),
                          "--peers", str(n_peers), "--seconds", str(seconds)],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["cpu_seconds"] / r["seconds"], r["sent"] / r["seconds"]


def scale(vigild, n_peers, bins):
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as work:
        ports = free_ports(4)
        ids = ["n1", "n2", "n3"]
        silent = [(f"s{i}", None) for i in range(n_peers - 2)]
        nodes = [Node(vigild, work, ids[i], ports[i],
                      [(ids[j], ports[j]) for j in range(3) if j != i], interval="1s")
                 for i in range(3)]
        # n1 also watches n_peers - 2 loopback addresses where nobody listens.
        with open(nodes[0].config) as f:
            text = f.read()
        extra = "".join(f"  - {{id: s{i}, address: \"127.{1 + i // 65536}.{(i // 256) % 256}."
                        f"{i % 256}:{ports[3]}\"}}\n" for i in range(n_peers - 2))
        text = text.replace("api: {", extra + "api: {", 1)
        with open(nodes[0].config, "w") as f:
            f.write(text)
        # A socket on every 127/8 address at the peers' port that never reads: the datagrams
        # are dropped as they arrive (its buffer stays full), as a remote host's would be
        # taken, instead of each making the kernel build an ICMP "port unreachable" on
        # the sender's time (which a profile put at a fifth of the cost of sending).
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        sink.bind(("0.0.0.0", ports[3]))
        # The baseline first, alone on the machine: the same rounds to the same addresses
        # from a program that only sends.
        bare_cpu, bare_rate = bare_sender(bins, ports[3], n_peers - 2, 20)
        for n in nodes[1:]:
            n.start()
        t0 = time.monotonic()
        nodes[0].start(timeout=300)
        start_s = time.monotonic() - t0
        n1 = nodes[0]
        assert wait_for(lambda: all(n1.state_of(p) == "up" for p in ("n2", "n3")), 60)
        downs = EventCounter(n1.sock, "down")
        downs.start()
        downs.ready.wait(10)
        health, stop = [], threading.Event()

        def watch():
            while not stop.is_set():
                _, body = http_get(n1.sock, "/v1/health")
                health.append(json.loads(body)["status"])
                stop.wait(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        sent0 = metric(n1.sock, "vigil_heartbeats_sent_total")  # a scrape: before the window
        c0, w0 = cpu_seconds(n1.proc.pid), time.monotonic()
        time.sleep(20)
        elapsed = time.monotonic() - w0
        cpu = (cpu_seconds(n1.proc.pid) - c0) / elapsed
        rate = (metric(n1.sock, "vigil_heartbeats_sent_total") - sent0) / elapsed
        bound0 = json.loads(http_get(n1.sock, "/v1/peers/n2")[1])["down_after_silence_ms"]
        nodes[1].proc.send_signal(signal.SIGKILL)
        wait_for(lambda: any(e["peer"] == "n2" and e["to"] == "down" for e in downs.events), 60)
        stop.set()
        watcher.join()
        peer = json.loads(http_get(n1.sock, "/v1/peers/n2")[1])
        down = [e for e in downs.events if e["peer"] == "n2" and e["to"] == "down"]
        detection = down[0]["time"] - peer["last_heartbeat"] if down else None
        bound = max(bound0, peer["down_after_silence_ms"] or 0)
        me = json.loads(http_get(n1.sock, "/v1/self")[1])
        rss = rss_kib(n1.proc.pid)
        others_down = sum(1 for e in downs.events if e["to"] == "down" and e["peer"] != "n2")
        for n in nodes:
            n.stop()
        sink.close()
        with open(os.path.join(work, "n1.log")) as f:
            warnings = [line.strip() for line in f if " warn" in line or " error" in line]
        return dict(peers=n_peers, start_s=round(start_s, 1), cpu_percent=round(100 * cpu, 1),
                    sent_per_s=round(rate), bare_sender_cpu_percent=round(100 * bare_cpu, 1),
                    bare_sender_rate=round(bare_rate), vs_bare=round(cpu / bare_cpu, 2),
                    detection_ms=detection, bound_ms=bound, rss_mib=round(rss / 1024, 1),
                    send=me.get("send"), local_health=me.get("local_health"),
                    health_polls={s: health.count(s) for s in set(health)},
                    other_downs=others_down, n1_warnings=warnings[:10])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "release"))
    ap.add_argument("--only", default="flood,scale", help="comma-separated: flood, scale")
    ap.add_argument("--scale-peers", type=int, default=100000)
    args = ap.parse_args()
    vigild = os.path.join(args.bin, "daemon", "vigild")
    if not os.access(vigild, os.X_OK):
        sys.exit(f"no vigild at {vigild}: cmake --preset release && cmake --build --preset release")
    only = set(args.only.split(","))
    if "flood" in only:
        vigilctl = os.path.join(args.bin, "ctl", "vigilctl")
        udpflood = os.path.join(args.bin, "tools", "vigil-udpflood")
        for kind, rate, seconds, count, size, senders in (("random", 67000, 10, 200000, 1400, 1),
                                                          ("random", 2000, 10, 0, 50, 1),
                                                          ("random", 0, 10, 0, 1400, 1),
                                                          ("random", 0, 10, 0, 50, 1),
                                                          ("random", 0, 10, 0, 50, 2),
                                                          ("forged", 0, 10, 0, 1400, 1),
                                                          ("forged", 0, 10, 0, 1400, 2)):
            sent, downs, states, lat, fails, rejected, drops = flood(
                vigild, vigilctl, udpflood, kind, rate, seconds, count, size, senders)
            print(f"flood {kind} (max {size} bytes) from {senders} sender(s) at "
                  f"{'max' if rate == 0 else rate}/s: sent "
                  f"{sent['sent']} in {sent['seconds']:.1f} s ({sent['rate']:.0f}/s); rejected "
                  f"{rejected:.0f}, kernel drops {drops:.0f}; false downs {downs}, peers now "
                  f"{states}; API p50 {statistics.median(lat):.1f} ms, p99 {pct(lat, 99):.1f} ms, "
                  f"max {max(lat):.1f} ms over {len(lat)} requests, {fails} failed")
    if "scale" in only:
        print("scale:", json.dumps(scale(vigild, args.scale_peers, args.bin)))



if __name__ == "__main__":
    main()

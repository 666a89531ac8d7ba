#!/usr/bin/env python3
"""Daemon-level figures for vigil, measured with real vigild processes on loopback.

  bench/measure_daemon.py [--bin build/release] [--trials 10]

  bench/measure_daemon.py --only flood,scale [--scale-peers 100000]

Prints:
  1. time from SIGKILL of a node to the SSE `down` event at each of the other two nodes
     (100 ms interval, default detector), median and max over --trials;
  2. latency of GET /v1/peers with 1000 configured peers that all send heartbeats;
  3. resident memory (VmRSS) of vigild with 3 and with 1000 peers;
  4. (flood) floods of invalid datagrams at an authenticated 3-node cluster from the peers'
     own address, 127.0.0.1: the rate sent, false downs, API p99 during the flood;
  5. (scale) one vigild with --scale-peers configured peers at a 1 s interval: its CPU, the
     length of a heartbeat round, and how long after its last heartbeat a SIGKILLed peer
     among them is reported down, against the detector's bound.
Everything stays on 127.0.0.1 and stops by itself.
"""
import argparse, base64, hashlib, json, os, signal, socket, statistics, struct, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_ports(n):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def http_get(sock_path, target, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def wait_for(pred, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(0.01)
    return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Node:
    def __init__(self, vigild, workdir, node_id, port, peers, interval="100ms", extra=""):
        self.id, self.port = node_id, port
        self.sock = os.path.join(workdir, node_id + ".sock")
        self.config = os.path.join(workdir, node_id + ".yaml")
        lines = [f"node: {{id: {node_id}, bind: \"127.0.0.1:{port}\"}}",
                 f"heartbeat: {{interval: {interval}}}", "peers:"]
        lines += [f"  - {{id: {pid}, address: \"127.0.0.1:{pport}\"}}" for pid, pport in peers]
        lines += [f"api: {{socket: {self.sock}}}",
                  f"state: {{directory: {os.path.join(workdir, node_id + '-state')}}}",
                  "log: {level: warn}"]
        if extra:
            lines.append(extra)
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.vigild, self.proc = vigild, None
        self.log = open(os.path.join(workdir, node_id + ".log"), "ab")

    def start(self, timeout=20):
        self.proc = subprocess.Popen([self.vigild, "--config", self.config],
                                     stdout=self.log, stderr=self.log)
        if not wait_for(lambda: http_get(self.sock, "/v1/health")[0] == 200, timeout):
            raise RuntimeError(f"{self.id} did not start; see its log")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def state_of(self, peer):
        status, body = http_get(self.sock, f"/v1/peers/{peer}")
        return json.loads(body)["state"] if status == 200 else None


class SseWatcher(threading.Thread):
    """Records the monotonic time at which `peer` -> `to` arrives on a node's event stream."""

    def __init__(self, sock_path, peer, to):
        super().__init__(daemon=True)
        self.sock_path, self.peer, self.to = sock_path, peer, to
        self.at = None
        self.ready = threading.Event()

    def run(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.sock_path)
        s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        buf = b""
        while self.at is None:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
            if b"retry:" in buf:
                self.ready.set()
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if line.startswith(b"data: "):
                        e = json.loads(line[6:])
                        if e["peer"] == self.peer and e["to"] == self.to:
                            self.at = time.monotonic()
        s.close()


def kill_to_event(vigild, trials):
    samples = []
    for trial in range(trials):
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as work:
            ports = free_ports(3)
            ids = ["n1", "n2", "n3"]
            nodes = [Node(vigild, work, ids[i], ports[i],
                          [(ids[j], ports[j]) for j in range(3) if j != i]) for i in range(3)]
            for n in nodes:
                n.start()
            assert wait_for(lambda: all(nodes[0].state_of(p) == "up" for p in ("n2", "n3")))
            time.sleep(2)  # let the detectors learn the interval distribution
            watchers = [SseWatcher(nodes[i].sock, "n3", "down") for i in (0, 1)]
            for w in watchers:
                w.start()
                w.ready.wait(10)
            t0 = time.monotonic()
            nodes[2].proc.send_signal(signal.SIGKILL)
            for w in watchers:
                w.join(30)
                samples.append((w.at - t0) * 1000.0)
            for n in nodes:
                n.stop()
    return samples


def many_peers(vigild, n_peers, requests):
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as work:
        port, = free_ports(1)
        # 1000 fake peers, all sending heartbeats at 1 s from one UDP socket.
        peer_ids = [f"peer-{i:04d}" for i in range(n_peers)]
        fake_ports = [20000 + i for i in range(n_peers)]  # addresses we send *to*; nobody listens
        node = Node(vigild, work, "obs", port, list(zip(peer_ids, fake_ports)), interval="1s")
        node.start()
        stop = threading.Event()

        def sender():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            seq, inc = 0, int(time.time() * 1e6)
            while not stop.is_set():
                seq += 1
                start = time.monotonic()
                for pid in peer_ids:
                    b = pid.encode()
                    msg = bytes([0x56, 0x47, 1, 1, 0, len(b), 0, 0]) + \
                        struct.pack(">QQIQ", inc, seq, 1000000, int(start * 1e6)) + b
                    s.sendto(msg, ("127.0.0.1", port))
                stop.wait(max(0, 1.0 - (time.monotonic() - start)))
            s.close()

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        ok = wait_for(lambda: json.loads(http_get(node.sock, "/v1/self")[1])["peers_by_state"]["up"] == n_peers, 30)
        time.sleep(3)
        lat = []
        size = 0
        for _ in range(requests):
            t0 = time.perf_counter()
            status, body = http_get(node.sock, "/v1/peers")
            lat.append((time.perf_counter() - t0) * 1000.0)
            size = len(body)
        rss = rss_kib(node.proc.pid)
        stop.set()
        t.join()
        node.stop()
        return ok, lat, size, rss


def rss_three(vigild):
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as work:
        ports = free_ports(3)
        ids = ["n1", "n2", "n3"]
        nodes = [Node(vigild, work, ids[i], ports[i],
                      [(ids[j], ports[j]) for j in range(3) if j != i]) for i in range(3)]
        for n in nodes:
            n.start()
        wait_for(lambda: all(nodes[0].state_of(p) == "up" for p in ("n2", "n3")))
        time.sleep(3)
        rss = rss_kib(nodes[0].proc.pid)
        for n in nodes:
            n.stop()
        return rss


class EventCounter(threading.Thread):
    """Counts transitions to `to` on a node's event stream until stopped."""

    def __init__(self, sock_path, to):
        super().__init__(daemon=True)
        self.sock_path, self.to, self.count, self.events = sock_path, to, 0, []
        self.ready, self.stop = threading.Event(), threading.Event()

    def run(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(0.5)
        s.connect(self.sock_path)
        s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        buf = b""
        while not self.stop.is_set():
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            if b"retry:" in buf:
                self.ready.set()
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if line.startswith(b"data: "):
                        e = json.loads(line[6:])
                        self.events.append(e)
                        if e.get("to") == self.to:
                            self.count += 1
        s.close()


def metric(sock, name):
    _, body = http_get(sock, "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def flood(vigild, vigilctl, udpflood, kind, rate, seconds, count=0, max_size=1400):
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
        sent = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
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


def scale(vigild, n_peers):
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
        c0, w0 = cpu_seconds(n1.proc.pid), time.monotonic()
        time.sleep(20)
        cpu = (cpu_seconds(n1.proc.pid) - c0) / (time.monotonic() - w0)
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
        return dict(peers=n_peers, start_s=round(start_s, 1), cpu_percent=round(100 * cpu, 1),
                    detection_ms=detection, bound_ms=bound, rss_mib=round(rss / 1024, 1),
                    send=me["send"], local_health=me["local_health"],
                    health_polls={s: health.count(s) for s in set(health)},
                    other_downs=others_down)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--peers", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--only", default="kill,peers,rss",
                    help="comma-separated: kill, peers, rss, flood, scale")
    ap.add_argument("--scale-peers", type=int, default=100000)
    args = ap.parse_args()
    vigild = os.path.join(args.bin, "daemon", "vigild")
    if not os.access(vigild, os.X_OK):
        sys.exit(f"no vigild at {vigild}: cmake --preset release && cmake --build --preset release")
    only = set(args.only.split(","))
    if "flood" in only:
        vigilctl = os.path.join(args.bin, "ctl", "vigilctl")
        udpflood = os.path.join(args.bin, "tools", "vigil-udpflood")
        for kind, rate, seconds, count, size in (("random", 67000, 10, 200000, 1400),
                                                 ("random", 2000, 10, 0, 50),
                                                 ("random", 0, 10, 0, 1400),
                                                 ("random", 0, 10, 0, 50),
                                                 ("forged", 0, 10, 0, 1400)):
            sent, downs, states, lat, fails, rejected, drops = flood(
                vigild, vigilctl, udpflood, kind, rate, seconds, count, size)
            print(f"flood {kind} (max {size} bytes) at {'max' if rate == 0 else rate}/s: sent "
                  f"{sent['sent']} in {sent['seconds']:.1f} s ({sent['rate']:.0f}/s); rejected "
                  f"{rejected:.0f}, kernel drops {drops:.0f}; false downs {downs}, peers now "
                  f"{states}; API p50 {statistics.median(lat):.1f} ms, p99 {pct(lat, 99):.1f} ms, "
                  f"max {max(lat):.1f} ms over {len(lat)} requests, {fails} failed")
    if "scale" in only:
        print("scale:", json.dumps(scale(vigild, args.scale_peers)))
    if not only & {"kill", "peers", "rss"}:
        return

    if "kill" not in only:
        return
    k = kill_to_event(vigild, args.trials)
    print(f"SIGKILL -> SSE 'down' event at the other nodes ({len(k)} samples, {args.trials} trials, "
          f"100 ms interval, default detector): median {statistics.median(k):.0f} ms, "
          f"min {min(k):.0f} ms, max {max(k):.0f} ms")
    ok, lat, size, rss1000 = many_peers(vigild, args.peers, args.requests)
    print(f"GET /v1/peers with {args.peers} peers (all up: {ok}; {size} bytes): "
          f"median {statistics.median(lat):.2f} ms, p99 {pct(lat, 99):.2f} ms, max {max(lat):.2f} ms "
          f"over {len(lat)} requests")
    print(f"vigild VmRSS: {rss_three(vigild)} KiB with 3 peers (2 others), {rss1000} KiB with {args.peers} peers")


if __name__ == "__main__":
    main()

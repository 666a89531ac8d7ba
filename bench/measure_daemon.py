#!/usr/bin/env python3
"""Daemon-level figures for vigil, measured with real vigild processes on loopback.

  bench/measure_daemon.py [--bin build/release] [--trials 10]

Prints:
  1. time from SIGKILL of a node to the SSE `down` event at each of the other two nodes
     (100 ms interval, default detector), median and max over --trials;
  2. latency of GET /v1/peers with 1000 configured peers that all send heartbeats;
  3. resident memory (VmRSS) of vigild with 3 and with 1000 peers.
Everything stays on 127.0.0.1 and stops by itself. Floods and 100,000 peers:
bench/measure_load.py.
"""
import argparse, json, os, signal, socket, statistics, struct, subprocess, sys, tempfile, threading, time

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
    chunks = []
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    s.close()
    data = b"".join(chunks)
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


class EventCounter(threading.Thread):
    """Follows a node's event stream until stopped: every event with the monotonic time it
    arrived (`events`, `times`), and how many went to state `to` (`count`)."""

    def __init__(self, sock_path, to):
        super().__init__(daemon=True)
        self.sock_path, self.to, self.count, self.events, self.times = sock_path, to, 0, [], []
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
                        self.times.append(time.monotonic())
                        if e.get("to") == self.to:
                            self.count += 1
        s.close()


def first_time(counter, peer, to, timeout=30):
    """When `peer` -> `to` arrived on `counter`'s stream (None if not within timeout)."""
    def find():
        for e, t in zip(counter.events, counter.times):
            if e["peer"] == peer and e["to"] == to:
                return t
        return None
    wait_for(lambda: find() is not None, timeout)
    return find()


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
            watchers = [EventCounter(nodes[i].sock, "down") for i in (0, 1)]
            for w in watchers:
                w.start()
                w.ready.wait(10)
            t0 = time.monotonic()
            nodes[2].proc.send_signal(signal.SIGKILL)
            for w in watchers:
                at = first_time(w, "n3", "down")
                w.stop.set()
                if at is None:
                    sys.exit(f"trial {trial}: no 'down' event for n3 within 30 s; see {work}")
                samples.append((at - t0) * 1000.0)
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


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--peers", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    vigild = os.path.join(args.bin, "daemon", "vigild")
    if not os.access(vigild, os.X_OK):
        sys.exit(f"no vigild at {vigild}: cmake --preset release && cmake --build --preset release")
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

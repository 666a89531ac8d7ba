#!/usr/bin/env python3
"""What a remembered peer costs: a real vigild restoring a million of them (issue 14, item 2).

  bench/measure_remembered.py [--bin build/release] [--baseline-vigild PATH]
                              [--peers 1000000] [--id-length 10]

A presence service remembers every user it has ever seen: enrolled peers silent past
enrollment.retention leave the detector tables and only their last seen, state, since,
incarnation and replay marks are kept. This writes a state file (format 3, as
docs/operations.md describes it) holding --peers such peers, all last heard two days ago,
and for each vigild binary (this build's, and --baseline-vigild, e.g. an older build, side
by side in one run):
  1. starts it once with no state file: the resident memory of an empty daemon;
  2. starts it on the state file: start-up time until the API answers and until every peer
     is remembered, resident memory, vigil_remembered_bytes;
  3. asks GET /v1/peers/{id} for 200 remembered peers (latency; each must say remembered),
     and waits for one periodic state-file write: the longest loop step it took;
  4. stops it (SIGTERM): stop time, the state file's size; starts it again on what it wrote
     and checks every peer is still remembered (the second run).
Bytes per remembered peer = (resident memory on the state file - empty) / peers, before
and after the first periodic write (a large file's buffer is given back after the write);
the peak (VmHWM) includes start-up, which decodes the whole file at once.
"""
import argparse, hashlib, json, os, random, shutil, signal, struct, subprocess, sys, tempfile
import time

from measure_daemon import free_ports, http_get, rss_kib, wait_for
from measure_ingest import metrics

NODE_ID = b"obs"
TWO_DAYS_MS = 2 * 86_400_000


def peer_id(i, length):
    return ("u" + str(i).rjust(length - 1, "0")).encode()


def write_state(path, peers, id_length):
    """A state file of `peers` enrolled peers last heard two days ago (docs/operations.md)."""
    now_ms = int(time.time() * 1000)
    out = bytearray(b"VGSTATE\0")
    out += struct.pack(">IIQqQQ", 3, 0, 1, now_ms - TWO_DAYS_MS, 0, peers)
    out += bytes([len(NODE_ID)]) + NODE_ID
    rec = struct.Struct(">BBqqQQI")
    for i in range(peers):
        pid = peer_id(i, id_length)
        last = now_ms - TWO_DAYS_MS - i
        out += bytes([len(pid)]) + pid
        # down (3); flags: enrolled, a last heartbeat follows
        # Incarnations as senders make them (microseconds since the epoch at their start).
        out += rec.pack(3, 0x03, last + 35_000, last, now_ms * 1000 - i * 997, 8_000 + i % 100_000,
                        10_000_000)
    out += hashlib.blake2b(bytes(out), digest_size=16).digest()
    with open(path, "wb") as f:
        f.write(out)


class Run:
    def __init__(self, vigild, work):
        self.vigild, self.work = vigild, work
        self.port, = free_ports(1)
        self.sock = os.path.join(work, "obs.sock")
        self.state = os.path.join(work, "state")
        os.makedirs(self.state, exist_ok=True)
        keys = os.path.join(work, "keys")
        with open(keys, "w") as f:
            f.write("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
        os.chmod(keys, 0o600)
        self.config = os.path.join(work, "obs.yaml")
        with open(self.config, "w") as f:
            f.write(f'node: {{id: obs, bind: "127.0.0.1:{self.port}"}}\n'
                    f"api: {{socket: {self.sock}}}\nstate: {{directory: {self.state}}}\n"
                    "log: {level: warn}\nheartbeat: {interval: 10s}\n"
                    f"security: {{keyring: {keys}}}\n"
                    "enrollment: {enabled: true, max_peers: 2000000, retention: 1h}\n")
        self.log = open(os.path.join(work, "obs.log"), "ab")

    def start(self, remembered):
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.vigild, "--config", self.config], stdout=self.log,
                                     stderr=self.log)
        if not wait_for(lambda: http_get(self.sock, "/v1/health")[0] == 200, 600):
            self.proc.kill()
            sys.exit("vigild did not start:\n" + open(self.log.name).read()[-2000:])
        api = time.monotonic() - t0
        if not wait_for(lambda: self.summary().get("remembered") == remembered, 600):
            sys.exit(f"not every peer remembered: {self.summary()}")
        return api, time.monotonic() - t0

    def summary(self):
        return json.loads(http_get(self.sock, "/v1/summary", timeout=60)[1])

    def settled_rss_mib(self):
        time.sleep(2)  # what start-up freed is given back by then
        return rss_kib(self.proc.pid) / 1024

    def stop(self):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=600)
        return time.monotonic() - t0


def peak_rss_mib(pid):
    """VmHWM: the most resident memory the process had at any time (start-up included)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1.0


def lookups(run, peers, id_length):
    times = []
    for i in random.Random(1).sample(range(peers), 200):
        t0 = time.monotonic()
        status, body = http_get(run.sock, "/v1/peers/" + peer_id(i, id_length).decode())
        times.append((time.monotonic() - t0) * 1000)
        peer = json.loads(body)
        if status != 200 or not peer.get("remembered"):
            sys.exit(f"peer {i} not answered as remembered: {status} {body[:200]}")
    times.sort()
    return times[len(times) // 2], times[-1]


def measure(vigild, peers, id_length, template):
    with tempfile.TemporaryDirectory(prefix="vigil-remembered-") as work:
        empty = Run(vigild, os.path.join(work, "empty"))
        empty.start(0)
        base = empty.settled_rss_mib()
        empty.stop()
        run = Run(vigild, os.path.join(work, "full"))
        shutil.copy(template, os.path.join(run.state, "state.bin"))
        api, restored = run.start(peers)
        rss = run.settled_rss_mib()
        table = metrics(run.sock).get("vigil_remembered_bytes")
        median, worst = lookups(run, peers, id_length)
        # One periodic write (every max(5 s, 20 us per record)): its longest loop step.
        written = lambda: metrics(run.sock).get('vigil_state_writes_total{result="ok"}', 0) >= 1
        if not wait_for(written, 180):
            sys.exit("no periodic state-file write within 180 s")
        step = metrics(run.sock)["vigil_state_snapshot_longest_step_seconds"] * 1000
        # What the write leaves behind (a small file's buffer is kept for the next write).
        rss_written = run.settled_rss_mib()
        peak = peak_rss_mib(run.proc.pid)
        stopped = run.stop()
        size = os.path.getsize(os.path.join(run.state, "state.bin"))
        _, again = run.start(peers)
        rss_again = run.settled_rss_mib()
        run.stop()
        return dict(base=base, rss=rss, per_peer=(rss - base) * 1048576 / peers,
                    per_peer_again=(rss_again - base) * 1048576 / peers, table=table,
                    api=api, restored=restored, again=again, stop=stopped, size=size,
                    lookup_median=median, lookup_max=worst, step=step,
                    per_peer_written=(rss_written - base) * 1048576 / peers, peak=peak)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/release")
    ap.add_argument("--baseline-vigild", help="another vigild to measure side by side")
    ap.add_argument("--peers", type=int, default=1_000_000)
    ap.add_argument("--id-length", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-remembered-file-") as d:
        template = os.path.join(d, "state.bin")
        write_state(template, a.peers, a.id_length)
        binaries = [("this build", os.path.join(a.bin, "daemon", "vigild"))]
        if a.baseline_vigild:
            binaries.append(("baseline", a.baseline_vigild))
        print(f"{a.peers:,} remembered peers, {a.id_length}-byte ids; state file "
              f"{os.path.getsize(template) / 1e6:.1f} MB as written by this script")
        for name, path in binaries:
            r = measure(path, a.peers, a.id_length, template)
            table = f"{r['table'] / a.peers:.1f} B/peer" if r["table"] else "n/a"
            print(f"{name}: RSS {r['rss']:.0f} MiB (empty daemon {r['base']:.0f} MiB): "
                  f"{r['per_peer']:.1f} B per remembered peer "
                  f"({r['per_peer_again']:.1f} B after a restart; {r['per_peer_written']:.1f} B "
                  f"once a periodic write has left its buffer; peak RSS {r['peak']:.0f} MiB); "
                  f"vigil_remembered_bytes "
                  f"{table}; API up after {r['api']:.2f} s, all remembered after "
                  f"{r['restored']:.2f} s ({r['again']:.2f} s the second time); stop "
                  f"{r['stop']:.2f} s; state file {r['size'] / 1e6:.1f} MB; "
                  f"GET /v1/peers/{{id}} median {r['lookup_median']:.2f} ms, "
                  f"max {r['lookup_max']:.2f} ms; longest loop step of a periodic state-file "
                  f"write {r['step']:.1f} ms")


if __name__ == "__main__":
    main()

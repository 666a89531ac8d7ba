"""N real vigild cluster members in a network namespace of their own (bench/calibrate_members.py).

Each member listens on 127.0.0.1:BASE_PORT+i inside the namespace and is given only
`cluster.seeds` (the first three members) and one shared key. The namespace has its own
loopback, so loss and partitions are nftables rules that touch no other traffic on the
machine. The API sockets are files, reachable from outside the namespace. Requires root
(ip netns, nft).
"""
import base64, datetime, json, os, shutil, signal, subprocess, tempfile, time

from measure_daemon import http_get
from measure_ingest import metrics

BASE_PORT = 20001


def run(*argv, stdin=None):
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True)


class RealCluster:
    """Starts, faults and reads a cluster; close() stops every process and the namespace."""

    def __init__(self, vigild, n, interval="1s", seeds=3, log_level="debug"):
        self.ns = f"vcal{os.getpid()}"
        self.work = tempfile.mkdtemp(prefix="vigil-calibrate-")
        self.n, self.ports = n, [BASE_PORT + i for i in range(n)]
        self.ids = [f"m{i + 1}" for i in range(n)]
        self.procs, self.stopped = {}, set()
        self.vigild = vigild
        try:
            run("ip", "netns", "add", self.ns)
            run("ip", "-n", self.ns, "link", "set", "lo", "up")
            run("ip", "netns", "exec", self.ns, "nft", "add", "table", "inet", "cal")
            self.write_configs(interval, seeds, log_level)
        except BaseException:
            self.close()
            raise

    def write_configs(self, interval, seeds, log_level):
        keyfile = os.path.join(self.work, "cluster.keys")
        with open(keyfile, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        os.chmod(keyfile, 0o600)
        seed_list = ", ".join(f'"127.0.0.1:{p}"' for p in self.ports[:seeds])
        for mid, port in zip(self.ids, self.ports):
            with open(self.path(mid, ".yaml"), "w") as f:
                f.write(f'node: {{id: {mid}, bind: "127.0.0.1:{port}"}}\n'
                        f"heartbeat: {{interval: {interval}}}\n"
                        f"security: {{keyring: {keyfile}}}\n"
                        f"cluster: {{seeds: [{seed_list}]}}\n"
                        f"api: {{socket: {self.path(mid, '.sock')}}}\n"
                        f"state: {{directory: {self.path(mid, '-state')}}}\n"
                        f"log: {{level: {log_level}}}\n")

    def path(self, mid, suffix):
        return os.path.join(self.work, mid + suffix)

    def start(self, deadline=300.0):
        """Launches every member, then waits until each lists all n. Returns the seconds taken."""
        t0 = time.monotonic()
        for mid in self.ids:
            log = open(self.path(mid, ".log"), "ab")
            # ip netns exec execs vigild, so the pid is vigild's own and signals reach it.
            self.procs[mid] = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, self.vigild, "--config", self.path(mid, ".yaml")],
                stdout=log, stderr=log)
        waiting = set(self.ids)
        while waiting and time.monotonic() - t0 < deadline:
            waiting = {mid for mid in waiting if (self.cluster(mid) or {}).get("members") != self.n}
            time.sleep(0.5)
        if waiting:
            raise RuntimeError(f"{len(waiting)} of {self.n} members never listed all "
                               f"{self.n} in {deadline:.0f} s; logs in {self.work}")
        return time.monotonic() - t0

    def live(self):
        return [mid for mid in self.ids if mid not in self.stopped]

    def cluster(self, mid):
        """The cluster object of GET /v1/summary, or None if the member does not answer."""
        try:
            status, body = http_get(self.path(mid, ".sock"), "/v1/summary", timeout=5)
        except OSError:
            return None
        return json.loads(body).get("cluster") if status == 200 else None

    def counters(self, names):
        """{member: {name: value}} for every live member (a member that fails is left out)."""
        out = {}
        for mid in self.live():
            try:
                m = metrics(self.path(mid, ".sock"))
            except OSError:
                continue
            out[mid] = {"at": time.monotonic()}
            out[mid].update({name: sum(v for k, v in m.items() if k == name or
                                  k.startswith(name + "{")) for name in names})
            for k, v in m.items():
                if k.startswith("vigil_loop_lag_seconds_bucket"):
                    out[mid][k] = v
        return out

    def signal(self, mid, sig):
        """Sends sig; returns the wall-clock time just before (UTC, as the logs)."""
        at = datetime.datetime.now(datetime.timezone.utc)
        self.procs[mid].send_signal(sig)
        if sig == signal.SIGKILL:
            self.procs[mid].wait()
            self.stopped.add(mid)
        return at

    def starve(self, mid, share):
        """Holds mid to share of a core (a CFS quota per 100 ms period, cgroup v1 cpu
        controller); share None releases it."""
        group = f"/sys/fs/cgroup/cpu/{self.ns}"
        if share is None:
            with open("/sys/fs/cgroup/cpu/cgroup.procs", "w") as f:
                f.write(str(self.procs[mid].pid))
            os.rmdir(group)
            return
        os.mkdir(group)
        with open(os.path.join(group, "cpu.cfs_quota_us"), "w") as f:
            f.write(str(round(share * 100000)))
        with open(os.path.join(group, "cgroup.procs"), "w") as f:
            f.write(str(self.procs[mid].pid))

    def nft(self, rules):
        """Replaces the namespace's input chain by rules (nft syntax, one per line)."""
        script = ("flush table inet cal\n"
                  "add chain inet cal in { type filter hook input priority 0; }\n" +
                  "".join(f"add rule inet cal in {r}\n" for r in rules))
        run("ip", "netns", "exec", self.ns, "nft", "-f", "-", stdin=script)

    def loss(self, share):
        """Drops each UDP datagram of the cluster with probability share, independently."""
        per_mille = round(share * 1000)
        self.nft([f"udp dport {self.ports[0]}-{self.ports[-1]} "
                  f"numgen random mod 1000 < {per_mille} drop"] if per_mille else [])

    def partition(self, side):
        """Drops every datagram between the members in side and the others ([] heals)."""
        if not side:
            self.nft([])
            return
        a = "{ " + ", ".join(str(self.ports[self.ids.index(m)]) for m in side) + " }"
        b = "{ " + ", ".join(str(p) for m, p in zip(self.ids, self.ports) if m not in side) + " }"
        self.nft([f"udp sport {a} udp dport {b} drop", f"udp sport {b} udp dport {a} drop"])

    def log_events(self, since, until):
        """(observer, kind, member, time) from each live member's log from since to until,
        where kind is 'out' (taken out) or 'in' (in this node's view); time is a UTC
        datetime. The members run on while it reads: until keeps what they log meanwhile
        out."""
        events = []
        for mid in self.live():
            with open(self.path(mid, ".log"), errors="replace") as f:
                for line in f:
                    kind = ("out" if "' taken out (" in line else
                            "in" if "' in this node's view" in line else None)
                    if kind is None or "cluster: member '" not in line:
                        continue
                    at = datetime.datetime.fromisoformat(line.split()[0])
                    if since <= at <= until:
                        member = line.split("cluster: member '", 1)[1].split("'", 1)[0]
                        events.append((mid, kind, member, at))
        return events

    def close(self, keep=False):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        if os.path.isdir(f"/sys/fs/cgroup/cpu/{self.ns}"):
            os.rmdir(f"/sys/fs/cgroup/cpu/{self.ns}")  # empty once its member is killed
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)

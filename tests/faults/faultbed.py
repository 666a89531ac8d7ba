"""A test bed of real hosts in network namespaces, each running a real vigild.

Topology (see ../shared/TESTBED.md): one hub namespace holding a bridge, and N host
namespaces, each with a veth whose other end (pN) sits on the bridge. Host i has address
10.231.0.i and runs vigild on port 7946 with every other host as a peer.

Faults:
  * loss on a host: nftables rule on that host's input hook (`numgen random`);
  * loss or a one-way cut on one link: nftables bridge rule in the hub, matched on
    iifname/oifname;
  * a cable pull (two-way partition): the hub's port for that host goes down;
  * delay with jitter: iptables-legacy NFQUEUE on the host's output + vigil-netdelay;
  * frozen process: SIGSTOP/SIGCONT; crash: SIGKILL; CPU starvation: a cgroup-v1 cpu quota
    shared with a busy loop.

Everything a Bed creates (namespaces, which carry their own nftables and iptables rules,
cgroups, processes) is removed by close(), which also runs at exit and on SIGTERM/SIGINT,
and a new Bed first sweeps away beds left behind by runs that were SIGKILLed.

Timing: the harness reads events as they stream and stamps them with time.monotonic() on
arrival, so "detection time" below is fault injection -> event delivered to a client, the
figure an application sees.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

PORT = 7946
PREFIX = "vf"  # namespace names: vf<pid>h (hub), vf<pid>n<i> (hosts)
CGROUP_CPU = "/sys/fs/cgroup/cpu"


class Skip(Exception):
    """The machine cannot run this suite; the message says why."""


def run(*args, check=True, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def realtime_allowed():
    """True if this process may start programs at a real-time priority (chrt)."""
    if not shutil.which("chrt"):
        return False
    return subprocess.run(["chrt", "--fifo", "20", "true"], capture_output=True).returncode == 0


def preflight(need_delay=False, netdelay=None):
    if os.geteuid() != 0:
        raise Skip("needs root for network namespaces")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            raise Skip(f"'{tool}' not installed (scripts/bootstrap installs it)")
    probe = f"{PREFIX}probe{os.getpid()}"
    r = run("ip", "netns", "add", probe, check=False)
    if r.returncode != 0:
        raise Skip(f"cannot create a network namespace: {r.stderr.strip()}")
    try:
        r = run("ip", "netns", "exec", probe, "nft", "add", "table", "inet", "probe", check=False)
        if r.returncode != 0:
            raise Skip(f"nftables unusable in a namespace: {r.stderr.strip()}")
        if need_delay:
            if not netdelay or not os.access(netdelay, os.X_OK):
                raise Skip("vigil-netdelay not built (needs libnetfilter-queue-dev)")
            if shutil.which("iptables-legacy") is None:
                raise Skip("iptables-legacy not installed")
    finally:
        run("ip", "netns", "del", probe, check=False)


def sweep_stale():
    """Removes namespaces and cgroups left by earlier runs whose process is gone."""
    r = run("ip", "netns", "list", check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX):
            continue
        digits = "".join(c for c in name[len(PREFIX):] if c.isdigit() or c in "hn")
        pid = digits.split("h")[0].split("n")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            run("ip", "netns", "del", name, check=False)
    if os.path.isdir(CGROUP_CPU):
        for name in os.listdir(CGROUP_CPU):
            if name.startswith(PREFIX):
                pid = name[len(PREFIX):]
                if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    try:
                        os.rmdir(os.path.join(CGROUP_CPU, name))
                    except OSError:
                        pass


class Api:
    """HTTP/1.1 over the daemon's Unix socket; one request per connection."""

    def __init__(self, path):
        self.path = path

    def get(self, target, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.path)
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      .encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, body.decode()

    def json(self, target):
        status, body = self.get(target)
        if status != 200:
            raise RuntimeError(f"GET {target}: {status} {body}")
        return json.loads(body)

    def metric(self, name, labels=""):
        """The value of one sample of /metrics, e.g. metric('vigil_local_stalls_total')."""
        _, body = self.get("/metrics")
        want = name + (("{" + labels + "}") if labels else "")
        for line in body.splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if key == want:
                return float(value)
        return None


class EventLog:
    """Follows /v1/events of one daemon; resumes with Last-Event-ID across restarts.

    Each event is a dict from the stream plus 't' (time.monotonic() on arrival).
    """

    def __init__(self, observer, socket_path):
        self.observer = observer
        self.socket_path = socket_path
        self.events = []
        self.gaps = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_id = None
        self._sock = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self._follow()
            except OSError:
                pass
            self._stop.wait(0.05)

    def _follow(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1.0)
        s.connect(self.socket_path)
        self._sock = s
        resume = f"Last-Event-ID: {self._last_id}\r\n" if self._last_id is not None else ""
        s.sendall(f"GET /v1/events HTTP/1.1\r\nHost: localhost\r\n{resume}\r\n".encode())
        buf = b""
        header_done = False
        while not self._stop.is_set():
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return
            buf += chunk
            if not header_done:
                if b"\r\n\r\n" not in buf:
                    continue
                _, _, buf = buf.partition(b"\r\n\r\n")
                header_done = True
            while b"\n\n" in buf:
                block, _, buf = buf.partition(b"\n\n")
                self._on_block(block.decode())

    def _on_block(self, block):
        kind, data, eid = "message", None, None
        for line in block.split("\n"):
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line.startswith("id: "):
                eid = int(line[4:])
        if kind == "gap":
            self.gaps += 1
        if kind != "transition" or data is None:
            return
        ev = json.loads(data)
        ev["t"] = time.monotonic()
        with self._lock:
            self.events.append(ev)
        if eid is not None:
            self._last_id = eid

    def snapshot(self, peer=None, to=None, since=None):
        with self._lock:
            evs = list(self.events)
        return [e for e in evs
                if (peer is None or e["peer"] == peer) and (to is None or e["to"] == to)
                and (since is None or e["t"] >= since)]

    def close(self):
        self._stop.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=3)


class Host:
    def __init__(self, bed, index):
        self.bed = bed
        self.index = index
        self.id = f"n{index}"
        self.ns = f"{bed.name}n{index}"
        self.port = f"p{index}"
        self.addr = f"10.231.0.{index}"
        self.dir = os.path.join(bed.dir, self.id)
        os.makedirs(self.dir)
        self.socket = os.path.join(self.dir, "api.sock")
        self.api = Api(self.socket)
        self.proc = None
        self.events = None
        self.log = None

    def exec_args(self, *args):
        return ["ip", "netns", "exec", self.ns, *args]

    def sh(self, *args, check=True):
        return run(*self.exec_args(*args), check=check)

    def write_config(self, extra=""):
        peers = "".join(f"  - id: {h.id}\n    address: \"{h.addr}:{PORT}\"\n"
                        for h in self.bed.hosts if h is not self)
        cfg = (f"node:\n  id: {self.id}\n  bind: \"{self.addr}:{PORT}\"\n"
               f"heartbeat:\n  interval: {self.bed.interval}\n"
               f"peers:\n{peers}"
               f"api:\n  socket: {self.socket}\n"
               f"state:\n  directory: {self.dir}/state\n"
               # Arrival traces for the post-mortem of a failed scenario (VIGIL_FAULTS_KEEP=1
               # keeps them): <dir>/<host>/state/traces/<peer>.csv.
               f"recording:\n  enabled: true\n"
               f"{self.bed.extra_yaml}{extra}")
        with open(os.path.join(self.dir, "vigil.yaml"), "w") as f:
            f.write(cfg)

    def start(self):
        self.log = open(os.path.join(self.dir, "vigild.log"), "a")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
        self.proc = subprocess.Popen(
            self.exec_args(self.bed.vigild, "--config", os.path.join(self.dir, "vigil.yaml")),
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: self._api_up(), 30, f"{self.id}'s API to answer")
        if self.events is None:
            self.events = EventLog(self.id, self.socket)

    def _api_up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.id}: vigild exited with {self.proc.returncode}; "
                               f"log:\n{self.tail_log()}")
        try:
            return self.api.get("/v1/health", timeout=1)[0] == 200
        except OSError:
            return False

    def tail_log(self, lines=30):
        try:
            with open(os.path.join(self.dir, "vigild.log")) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def send_signal(self, sig):
        # `ip netns exec` execs vigild, so the child's pid is vigild's.
        os.kill(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    def peer(self, peer_id):
        for p in self.api.json("/v1/peers")["peers"]:
            if p["id"] == peer_id:
                return p
        raise KeyError(peer_id)

    def states(self):
        return {p["id"]: p["state"] for p in self.api.json("/v1/peers")["peers"]}


_idle = threading.Event()  # never set: waiting on it is a plain pause


def hold(seconds):
    """Lets a phase of a scenario run for `seconds` (a fault held on, a settling period):
    the daemons run meanwhile. Not a wait for a condition: those use wait_until."""
    if seconds > 0:
        _idle.wait(seconds)


def wait_until(predicate, timeout, what):
    """Polls `predicate` every 50 ms until it is true; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        _idle.wait(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Bed:
    def __init__(self, hosts, vigild, netdelay=None, interval="100ms", extra_yaml=""):
        sweep_stale()
        self.name = f"{PREFIX}{os.getpid()}"
        self.vigild = vigild
        self.netdelay = netdelay
        self.interval = interval
        self.extra_yaml = extra_yaml
        self.dir = tempfile.mkdtemp(prefix="vigil-faults-")
        self.hub = f"{self.name}h"
        self.hosts = []
        self.helpers = []
        self.cgroups = []
        self.closed = False
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            run("ip", "netns", "add", self.hub)
            run("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
            run("ip", "-n", self.hub, "link", "set", "br0", "up")
            for i in range(1, hosts + 1):
                h = Host(self, i)
                self.hosts.append(h)
                run("ip", "netns", "add", h.ns)
                run("ip", "-n", h.ns, "link", "add", "eth0", "type", "veth", "peer", "name",
                    h.port, "netns", self.hub)
                run("ip", "-n", self.hub, "link", "set", h.port, "master", "br0")
                run("ip", "-n", self.hub, "link", "set", h.port, "up")
                run("ip", "-n", h.ns, "addr", "add", f"{h.addr}/24", "dev", "eth0")
                run("ip", "-n", h.ns, "link", "set", "eth0", "up")
                run("ip", "-n", h.ns, "link", "set", "lo", "up")
            # Static neighbour entries: a one-way cut must stay one-way. With ARP, the cut side's
            # replies are lost too, and a few seconds in, the other direction stalls in
            # neighbour resolution (its heartbeats queued for a second or more): a real
            # effect on one L2 segment, but not the fault the scenario means.
            macs = {}
            for h in self.hosts:
                info = json.loads(run("ip", "-n", h.ns, "-j", "link", "show", "eth0").stdout)
                macs[h.addr] = info[0]["address"]
            for h in self.hosts:
                for other, mac in macs.items():
                    if other != h.addr:
                        run("ip", "-n", h.ns, "neigh", "replace", other, "lladdr", mac,
                            "dev", "eth0", "nud", "permanent")
            # The hub's fault table: per-link rules go into its forward chain.
            run("ip", "netns", "exec", self.hub, "nft", "add table bridge faults; "
                "add chain bridge faults links { type filter hook forward priority 0; }")
        except Exception:
            self.close()
            raise

    def _on_signal(self, signum, _frame):
        self.close()
        os._exit(128 + signum)

    def host(self, i):
        return self.hosts[i - 1]

    def start(self, extra_yaml=""):
        for h in self.hosts:
            h.write_config(extra_yaml)
        for h in self.hosts:
            h.start()
        wait_until(lambda: all(s == "up" for h in self.hosts for s in h.states().values()),
                   30, "every host to see every other up")

    # --- faults -----------------------------------------------------------------------

    def host_loss(self, h, percent):
        """Drops `percent` % of heartbeats arriving at host h (input hook, so senders see no
        error, as on a real network)."""
        h.sh("nft", f"add table inet faults; add chain inet faults in "
             f"{{ type filter hook input priority 0; }}; "
             f"add rule inet faults in udp dport {PORT} numgen random mod 100 < {percent} drop")

    def clear_host_loss(self, h):
        h.sh("nft", "delete table inet faults", check=False)

    def link_rule(self, src, dst, statement):
        """Adds a rule for traffic from host src to host dst; returns its handle."""
        r = run("ip", "netns", "exec", self.hub, "nft", "--echo", "--handle", "add", "rule",
                "bridge", "faults", "links", "iifname", src.port, "oifname", dst.port,
                *statement.split())
        return int(re.search(r"# handle (\d+)", r.stdout).group(1))

    def link_loss(self, src, dst, percent):
        return self.link_rule(src, dst, f"numgen random mod 100 < {percent} drop")

    def cut_one_way(self, src, dst):
        return self.link_rule(src, dst, "drop")

    def delete_rule(self, handle):
        run("ip", "netns", "exec", self.hub, "nft", "delete", "rule", "bridge", "faults", "links",
            "handle", str(handle))

    def cable(self, h, up):
        run("ip", "-n", self.hub, "link", "set", h.port, "up" if up else "down")

    def delay(self, h, delay_ms, jitter_ms, seed=1):
        """Holds every heartbeat h sends for delay ± jitter ms (uniform)."""
        if not self.netdelay:
            raise Skip("vigil-netdelay not built")
        queue = h.index
        # Its late releases go to a file the post-mortem of a failed scenario reads. It runs
        # at a real-time priority: a delay a kernel qdisc would keep to the microsecond must
        # not stretch to a second because the helper waited for a CPU (a CI run once saw a
        # 1.1 s silence of one host on an otherwise healthy bed).
        log_path = os.path.join(h.dir, "netdelay.log")
        rt = ["chrt", "--fifo", "20"] if realtime_allowed() else []
        with open(log_path, "a") as log:
            proc = subprocess.Popen(
                h.exec_args(*rt, self.netdelay, "--queue", str(queue), "--delay-ms",
                            str(delay_ms), "--jitter-ms", str(jitter_ms), "--seed", str(seed)),
                stdout=subprocess.PIPE, stderr=log, text=True)
        self.helpers.append(proc)
        line = proc.stdout.readline().strip()
        if line != "ready":
            proc.kill()
            proc.wait()
            with open(log_path) as f:
                raise RuntimeError(f"vigil-netdelay did not start: {f.read()}")
        h.sh("iptables-legacy", "-A", "OUTPUT", "-p", "udp", "--dport", str(PORT),
             "-j", "NFQUEUE", "--queue-num", str(queue))
        return proc

    def starve(self, h, quota_percent, period_us=1_000_000):
        """Puts h's vigild in a cgroup limited to quota_percent of one CPU, together with a
        busy loop that eats whatever vigild leaves, so vigild only runs in short slices."""
        if not os.path.isdir(CGROUP_CPU):
            raise Skip("no cgroup-v1 cpu controller at " + CGROUP_CPU)
        path = os.path.join(CGROUP_CPU, self.name)
        os.mkdir(path)
        self.cgroups.append(path)
        with open(os.path.join(path, "cpu.cfs_period_us"), "w") as f:
            f.write(str(period_us))
        with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
            f.write(str(period_us * quota_percent // 100))
        hog = subprocess.Popen(["python3", "-c", "while True: pass"])
        self.helpers.append(hog)
        for pid in (hog.pid, h.proc.pid):
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        return hog, path

    def unstarve(self, h, hog, path):
        with open(os.path.join(CGROUP_CPU, "cgroup.procs"), "w") as f:
            f.write(str(h.proc.pid))
        hog.kill()
        hog.wait()
        try:
            os.rmdir(path)
            self.cgroups.remove(path)
        except OSError:
            pass

    # --- teardown ---------------------------------------------------------------------

    def close(self):
        if self.closed:
            return
        self.closed = True
        for h in self.hosts:
            if h.events is not None:
                h.events.close()
        for p in self.helpers:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        for h in self.hosts:
            if h.proc is not None and h.proc.poll() is None:
                # Out of any cgroup first so a starved daemon can shut down promptly.
                try:
                    with open(os.path.join(CGROUP_CPU, "cgroup.procs"), "w") as f:
                        f.write(str(h.proc.pid))
                except OSError:
                    pass
                h.stop()
            if h.log is not None:
                h.log.close()
        for path in self.cgroups:
            try:
                os.rmdir(path)
            except OSError:
                pass
        # Deleting a namespace removes its links and its nftables/iptables rules with it.
        for h in self.hosts:
            run("ip", "netns", "del", h.ns, check=False)
        run("ip", "netns", "del", self.hub, check=False)
        if os.environ.get("VIGIL_FAULTS_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        return "\n".join(f"--- {h.id} ---\n{h.tail_log()}" for h in self.hosts)

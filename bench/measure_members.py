#!/usr/bin/env python3
"""Cluster figures with real vigild members on loopback (docs/benchmarks.md).

  bench/measure_members.py [--bin build/release] [--members 50] [--interval 1s] [--seeds 3]

N vigild processes, each given only `cluster.seeds` (the first --seeds of them) and one
shared key, are started together. Prints:
  1. the cold start: per member, the time from the first launch until its /v1/members
     lists all N (p50, max; polled, so as coarse as a round of polls, which it prints);
  2. per member in the steady state: resident memory, CPU (% of one core) and the
     datagrams sent per second (vigil_cluster_datagrams_sent_total);
  3. a SIGKILLed member (not a seed): the time until each other member took it out, from
     the millisecond timestamps of their log lines (p50, max), and whether any other
     member was ever listed down (a false removal).
Everything stays on 127.0.0.1 and stops by itself.
"""
import argparse, base64, datetime, json, os, random, shutil, signal, statistics, subprocess, sys, tempfile, time

from measure_daemon import free_ports, http_get, pct, rss_kib
from measure_ingest import cpu_seconds, metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def members(node):
    try:
        status, body = http_get(node["sock"], "/v1/members", timeout=5)
    except OSError:
        return None
    return json.loads(body) if status == 200 else None


def metric(node, name):
    try:
        return metrics(node["sock"]).get(name)
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release"))
    ap.add_argument("--members", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--deadline", type=float, default=120.0)
    args = ap.parse_args()
    vigild = os.path.join(args.bin, "daemon/vigild")
    work = tempfile.mkdtemp(prefix="vigil-members-")
    keyfile = os.path.join(work, "cluster.keys")
    with open(keyfile, "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    os.chmod(keyfile, 0o600)
    ports = free_ports(args.members)
    seeds = ", ".join(f'"127.0.0.1:{p}"' for p in ports[:args.seeds])
    nodes = []
    for i, port in enumerate(ports):
        node = {"id": f"m{i + 1}", "sock": os.path.join(work, f"m{i + 1}.sock")}
        config = os.path.join(work, f"m{i + 1}.yaml")
        with open(config, "w") as f:
            f.write(f'node: {{id: {node["id"]}, bind: "127.0.0.1:{port}"}}\n'
                    f"heartbeat: {{interval: {args.interval}}}\n"
                    f"security: {{keyring: {keyfile}}}\n"
                    f"cluster: {{seeds: [{seeds}]}}\n"
                    f'api: {{socket: {node["sock"]}}}\n'
                    f"state: {{directory: {os.path.join(work, node['id'] + '-state')}}}\n"
                    "log: {level: info}\n")
        node["config"] = config
        nodes.append(node)
    try:
        run(args, vigild, work, nodes)
    finally:
        for node in nodes:
            if node.get("proc") and node["proc"].poll() is None:
                node["proc"].kill()
                node["proc"].wait()
    shutil.rmtree(work)  # kept on a failure (sys.exit above): the logs say why


def run(args, vigild, work, nodes):
    n = len(nodes)
    t0 = time.monotonic()
    for node in nodes:
        log = open(os.path.join(work, node["id"] + ".log"), "ab")
        node["proc"] = subprocess.Popen([vigild, "--config", node["config"]], stdout=log,
                                        stderr=log)
    launched = time.monotonic() - t0
    full_at, rounds = {}, []
    while len(full_at) < n and time.monotonic() - t0 < args.deadline:
        round_start = time.monotonic()
        for node in nodes:
            if node["id"] in full_at:
                continue
            doc = members(node)
            if doc and doc["members"] == n:
                full_at[node["id"]] = time.monotonic() - t0
        rounds.append(time.monotonic() - round_start)
        time.sleep(0.2)
    print(f"members: {n}, interval {args.interval}, {args.seeds} seeds; all launched in "
          f"{launched:.1f} s; a round of polls took up to {max(rounds):.1f} s")
    if len(full_at) < n:
        print(f"cold start: only {len(full_at)} of {n} full after {args.deadline:.0f} s; "
              f"logs in {work}")
        sys.exit(1)
    full = list(full_at.values())
    print(f"cold start, every view full: p50 {pct(full, 50):.1f} s, max {max(full):.1f} s "
          f"after the first launch ({max(full) - launched:.1f} s after the last)")
    steady(nodes)
    victim = random.Random(1).choice(nodes[args.seeds:])
    victim["proc"].send_signal(signal.SIGKILL)
    killed_wall = datetime.datetime.now(datetime.timezone.utc)
    victim["proc"].wait()
    killed = time.monotonic()
    others = [node for node in nodes if node is not victim]
    down, false_down = set(), set()
    while len(down) < len(others) and time.monotonic() - killed < args.deadline:
        for node in others:
            doc = members(node) if node["id"] not in down else None
            for e in (doc or {}).get("list", []):
                if e["state"] == "down" and e["id"] == victim["id"]:
                    down.add(node["id"])
                elif e["state"] == "down":
                    false_down.add(e["id"])
        time.sleep(0.1)
    if len(down) < len(others):
        print(f"SIGKILL of {victim['id']}: down at only {len(down)} of {len(others)} "
              f"after {args.deadline:.0f} s; logs in {work}")
        sys.exit(1)
    # When each member took it out, from its log line (millisecond timestamps).
    marker = f"cluster: member '{victim['id']}' taken out"
    downs = []
    for node in others:
        with open(os.path.join(work, node["id"] + ".log"), errors="replace") as f:
            for line in f:
                if marker in line:
                    at = datetime.datetime.fromisoformat(line.split()[0])
                    downs.append((at - killed_wall).total_seconds())
                    break
    print(f"SIGKILL of {victim['id']}: taken out by every other member (their logs), "
          f"p50 {pct(downs, 50):.2f} s, max {max(downs):.2f} s; other members ever listed "
          f"down: {len(false_down)}")


def steady(nodes, window=10.0):
    cpu0 = {node["id"]: cpu_seconds(node["proc"].pid) for node in nodes}
    sent0 = {node["id"]: metric(node, "vigil_cluster_datagrams_sent_total") for node in nodes}
    time.sleep(window)
    cpu = [100 * (cpu_seconds(node["proc"].pid) - cpu0[node["id"]]) / window for node in nodes]
    sent = [(metric(node, "vigil_cluster_datagrams_sent_total") - sent0[node["id"]]) / window
            for node in nodes]
    rss = [rss_kib(node["proc"].pid) / 1024 for node in nodes]
    print(f"steady, per member over {window:.0f} s: RSS median {statistics.median(rss):.1f} MiB; "
          f"CPU median {statistics.median(cpu):.2f} % of a core, max {max(cpu):.2f} %; "
          f"datagrams sent median {statistics.median(sent):.1f}/s, max {max(sent):.1f}/s")


if __name__ == "__main__":
    main()

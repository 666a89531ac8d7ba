"""What a failed fault scenario prints so that one CI log is enough to tell a detector's
mistake from a stall of the machine it ran on.

For an unexpected `down`, the observer's recorded arrivals of that peer (its trace file) show
how long the peer was really silent and when it was heard again; every host's own view of
itself (local-health episodes, the latest loop tick, late send rounds) and every
vigil-netdelay's late releases show whether a process on the path was not running. A silence
longer than the bound with a stall on the sender's side is the machine, not the detector.
"""

import csv
import os


def arrival_gaps(trace_path, t_event_s, before_s=5.0, after_s=1.0, top=3):
    """The longest silences (ms) between arrivals in [t_event - before, t_event + after],
    each with its start and end relative to the event, from a trace file of
    seq,send_ms,recv_ms rows (recv_ms on CLOCK_MONOTONIC, as time.monotonic())."""
    lo, hi = (t_event_s - before_s) * 1000.0, (t_event_s + after_s) * 1000.0
    times = []
    try:
        with open(trace_path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    t = float(row["recv_ms"])
                except (KeyError, TypeError, ValueError):
                    continue
                if lo <= t <= hi:
                    times.append(t)
    except OSError as e:
        return f"no trace ({e})"
    if len(times) < 2:
        return f"{len(times)} arrival(s) recorded in that window"
    times.sort()
    t_ms = t_event_s * 1000.0
    gaps = sorted(((b - a, a - t_ms, b - t_ms) for a, b in zip(times, times[1:])),
                  reverse=True)[:top]
    parts = [f"{g:.0f} ms (from {s:+.0f} to {e:+.0f} ms)" for g, s, e in gaps]
    return f"{len(times)} arrivals; longest silences: " + ", ".join(parts)


def host_self_report(host):
    """One line: the host's local-health episodes, its latest loop tick and late rounds."""
    try:
        me = host.api.json("/v1/self")
        lag = host.api.metric("vigil_loop_lag_max_seconds")
    except Exception as e:  # noqa: BLE001 - a post-mortem reports what it can reach
        return f"{host.id}: API unreachable ({e})"
    health, send = me.get("local_health", {}), me.get("send", {})
    lag_text = f"{lag * 1000:.0f} ms" if lag is not None else "?"
    return (f"{host.id}: local-health episodes {health.get('episodes')} "
            f"(last {health.get('last_cause')}, {health.get('last_gap_ms')} ms), "
            f"latest loop tick {lag_text} late, late send rounds {send.get('late_rounds')}")


def netdelay_report(host):
    """The late-release lines vigil-netdelay wrote for this host, if it ran there."""
    path = os.path.join(host.dir, "netdelay.log")
    try:
        with open(path) as f:
            lines = [line.rstrip() for line in f if "released" in line]
    except OSError:
        return None
    if not lines:
        return f"{host.id}: vigil-netdelay released nothing late"
    return f"{host.id}: " + "; ".join(lines[-5:])


def false_down_report(bed, downs):
    """The post-mortem text for unexpected downs: [(observer, peer_id, t_event_s), ...].
    Stops the daemons (the scenario has failed): vigild writes buffered trace rows to disk
    every few seconds and when it stops, so the arrivals around a recent down are read
    after the stop."""
    out = ["post-mortem:"]
    out += ["  " + host_self_report(h) for h in bed.hosts]
    out += ["  " + line for line in (netdelay_report(h) for h in bed.hosts) if line]
    for h in bed.hosts:
        h.stop()
    for obs, peer_id, t_event in downs:
        trace = os.path.join(obs.dir, "state", "traces", f"{peer_id}.csv")
        out.append(f"  {obs.id}'s arrivals from {peer_id} around the down: "
                   f"{arrival_gaps(trace, t_event)}")
    return "\n".join(out)

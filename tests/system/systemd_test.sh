#!/usr/bin/env bash
# System test under a real systemd: three systemd-nspawn containers, each in its own network
# namespace, with the vigil .deb installed and vigil.service enabled. Checks, through
# vigilctl inside the containers: discovery; `systemctl stop` -> `left`; SIGKILL -> restarted
# by systemd; a frozen daemon -> killed by the watchdog and restarted; reload with a broken
# config -> still active on the old one; reload adding a peer; "last seen" across restarts;
# the API socket is usable by group vigil and nobody else.
#
#   tests/system/systemd_test.sh DEB
#
# Exit 0 pass, 1 fail, 77 skipped (not root, no systemd-nspawn, or no cgroups for it), with
# the reason printed.
# Cleans up every container, mount and namespace it made, also on failure.
set -uo pipefail

deb=${1:?usage: systemd_test.sh path/to/vigil.deb}
deb=$(readlink -f "$deb")
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, systemd-nspawn)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not installed (package systemd-container)"
command -v setfattr >/dev/null || skip "setfattr not installed (package attr)"
command -v ip >/dev/null || skip "ip not installed (package iproute2)"
# systemd in a container needs a cgroup hierarchy: a chroot (such as a fresh-machine check)
# has none mounted, and nspawn then fails with "No medium found".
cgroup_fs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null || true)
case "$cgroup_fs" in
  cgroup2fs|tmpfs) ;;
  *) skip "no cgroup hierarchy at /sys/fs/cgroup (found '${cgroup_fs:-nothing}'): systemd-nspawn cannot boot a container here";;
esac
[ -f "$deb" ] || { echo "FAIL: no package at $deb"; exit 1; }

tag=v$$
work=$(mktemp -d /tmp/vigil-system-XXXXXX)
start_time=$(date +%s)
nspawn_pids=()
mounts=()
failures=0

log() { printf '[%4ss] %s\n' "$(( $(date +%s) - start_time ))" "$*"; }
fail() { log "FAIL: $*"; failures=$((failures + 1)); }
ok() { log "ok: $*"; }

cleanup() {
  set +e
  for p in "${nspawn_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${nspawn_pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
  for i in 1 2 3; do ip netns del "vn$i-$tag" 2>/dev/null; done
  ip netns del "vhub-$tag" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- three hosts: namespaces on a bridge -------------------------------------------------
ip netns add "vhub-$tag" || skip "cannot create network namespaces here"
ip -n "vhub-$tag" link add br0 type bridge && ip -n "vhub-$tag" link set br0 up
for i in 1 2 3; do
  ip netns add "vn$i-$tag"
  ip -n "vn$i-$tag" link add eth0 type veth peer name "p$i" netns "vhub-$tag"
  ip -n "vhub-$tag" link set "p$i" master br0
  ip -n "vhub-$tag" link set "p$i" up
  ip -n "vn$i-$tag" addr add "10.231.0.$i/24" dev eth0
  ip -n "vn$i-$tag" link set eth0 up
  ip -n "vn$i-$tag" link set lo up
done

config() {  # config NODE [EXTRA_PEER_YAML]
  local n=$1
  echo "node: {id: n$n, bind: \"10.231.0.$n:7946\"}"
  echo "heartbeat: {interval: 100ms}"
  echo "peers:"
  for j in 1 2 3; do [ "$j" = "$n" ] || echo "  - {id: n$j, address: \"10.231.0.$j:7946\"}"; done
  [ -z "${2:-}" ] || echo "$2"
}

# --- three systemd containers, each a copy-on-write overlay of this machine's root --------
boot() {
  local i=$1 t="$work/c$i" m="$work/c$i/root"
  mkdir -p "$t"
  mount -t tmpfs tmpfs "$t" && mounts=("$m" "$t" "${mounts[@]}")
  mkdir -p "$t/upper" "$t/work" "$m"
  for d in dev tmp run work root mnt; do
    mkdir -p "$t/upper/$d"
    setfattr -n trusted.overlay.opaque -v y "$t/upper/$d"
  done
  # Units of this machine that do not belong in a test host.
  mkdir -p "$t/upper/etc/systemd/system"
  for u in postgresql.service prometheus.service e2scrub_reap.service systemd-timesyncd.service \
           systemd-pstore.service getty@tty1.service console-getty.service apt-daily.timer \
           apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer; do
    ln -sf /dev/null "$t/upper/etc/systemd/system/$u"
  done
  mkdir -p "$t/upper/mnt/vigil"
  cp "$deb" "$t/upper/mnt/vigil/vigil.deb"
  config "$i" >"$t/upper/mnt/vigil/vigil.yaml"
  # The watchdog test freezes the daemon for longer than WatchdogSec; keep it short here.
  mkdir -p "$t/upper/etc/systemd/system/vigil.service.d"
  printf '[Service]\nWatchdogSec=3s\n' >"$t/upper/etc/systemd/system/vigil.service.d/test.conf"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$m" || return 1
  systemd-nspawn -D "$m" --register=no --keep-unit --console=pipe -M "vc$i-$tag" \
    --network-namespace-path="/run/netns/vn$i-$tag" -b >"$work/c$i.console" 2>&1 </dev/null &
  nspawn_pids[$i]=$!
}

leader() { pgrep -P "${nspawn_pids[$1]}" | head -n 1; }
in_c() {  # in_c N COMMAND...: run a command inside container N
  local i=$1; shift
  local l; l=$(leader "$i")
  [ -n "$l" ] || return 255
  nsenter -t "$l" -a -- "$@"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}
booted() { local s; s=$(in_c "$1" systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; }
ctl() { local i=$1; shift; in_c "$i" vigilctl "$@"; }
main_pid() { in_c "$1" systemctl show -p MainPID --value vigil.service; }
incarnation() { ctl "$1" get "$2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["incarnation"])'; }

for i in 1 2 3; do boot "$i" || { fail "container $i did not start"; exit 1; }; done
for i in 1 2 3; do
  wait_for 90 "boot" booted "$i" || { fail "container $i did not boot"; tail -20 "$work/c$i.console"; exit 1; }
done
log "three systemd hosts booted"

for i in 1 2 3; do
  in_c "$i" sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /mnt/vigil/vigil.deb' >"$work/dpkg$i.log" 2>&1 \
    || { fail "dpkg -i in container $i"; cat "$work/dpkg$i.log"; exit 1; }
  in_c "$i" cp /mnt/vigil/vigil.yaml /etc/vigil/vigil.yaml
  in_c "$i" systemctl is-enabled --quiet vigil.service || fail "vigil.service not enabled by the package in c$i"
done
ok "package installed and vigil.service enabled in all three"

t0=$(date +%s%N)
in_c 1 systemctl start vigil.service || fail "systemctl start in c1"
t1=$(date +%s%N)
log "figure: systemctl start -> active (READY=1) in $(( (t1 - t0) / 1000000 )) ms"
in_c 2 systemctl start vigil.service
in_c 3 systemctl start vigil.service
for i in 1 2 3; do
  [ "$(in_c "$i" systemctl is-active vigil.service)" = active ] || fail "vigil not active in c$i"
done

# 1. all three up, seen from every host
all_up=1
for i in 1 2 3; do for j in 1 2 3; do
  [ "$i" = "$j" ] && continue
  ctl "$i" wait "n$j" --state up --timeout 30s >/dev/null || { all_up=0; fail "c$i does not see n$j up"; }
done; done
[ "$all_up" = 1 ] && ok "all three up, seen from every host"
in_c 1 systemctl show -p StatusText --value vigil.service | grep -q '2 peers: 2 up' \
  && ok "STATUS= says '$(in_c 1 systemctl show -p StatusText --value vigil.service)'" \
  || fail "STATUS= is '$(in_c 1 systemctl show -p StatusText --value vigil.service)'"

# 2. systemctl stop -> the others report left
in_c 3 systemctl stop vigil.service
ctl 1 wait n3 --state left --timeout 20s >/dev/null && ctl 2 wait n3 --state left --timeout 20s >/dev/null \
  && ok "systemctl stop on c3 -> n1 and n2 report n3 left" || fail "n3 not reported left after systemctl stop"
in_c 3 systemctl start vigil.service
ctl 1 wait n3 --state up --timeout 30s >/dev/null || fail "n3 not back up after start"

# 3. SIGKILL of the main PID -> systemd restarts it, the others see it back
inc_before=$(incarnation 1 n3)
pid_before=$(main_pid 3)
in_c 3 kill -KILL "$pid_before"
if wait_for 30 "restart" sh -c "p=\$(nsenter -t $(leader 3) -a -- systemctl show -p MainPID --value vigil.service); [ -n \"\$p\" ] && [ \"\$p\" != 0 ] && [ \"\$p\" != $pid_before ]"; then
  wait_for 30 "seen back" sh -c "[ \"\$(nsenter -t $(leader 1) -a -- vigilctl get n3 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"state\"], d[\"incarnation\"])')\" != 'down $inc_before' ] && nsenter -t $(leader 1) -a -- vigilctl is-up n3 -q" \
    && [ "$(incarnation 1 n3)" != "$inc_before" ] \
    && ok "SIGKILL of vigild in c3 -> systemd restarted it; n1 sees n3 up with a new incarnation" \
    || fail "n1 does not see the restarted n3"
else
  fail "systemd did not restart vigild after SIGKILL"
fi

# 4. frozen longer than WatchdogSec -> killed by the watchdog and restarted
pid_before=$(main_pid 3)
in_c 3 kill -STOP "$pid_before"
if wait_for 40 "watchdog restart" sh -c "p=\$(nsenter -t $(leader 3) -a -- systemctl show -p MainPID --value vigil.service); [ -n \"\$p\" ] && [ \"\$p\" != 0 ] && [ \"\$p\" != $pid_before ]"; then
  in_c 3 journalctl -u vigil.service --no-pager 2>/dev/null | grep -qi watchdog \
    && ok "SIGSTOP past WatchdogSec -> systemd's watchdog killed and restarted vigild" \
    || ok "SIGSTOP past WatchdogSec -> vigild restarted (journal did not say 'watchdog')"
  ctl 1 wait n3 --state up --timeout 30s >/dev/null || fail "n3 not up after the watchdog restart"
else
  fail "the watchdog did not restart a frozen vigild"
  in_c 3 kill -CONT "$pid_before"
fi

# 5. reload with a broken config -> still active on the old one
in_c 1 sh -c 'cp /etc/vigil/vigil.yaml /root/good.yaml; printf "detector:\n  threshold: banana\n" >> /etc/vigil/vigil.yaml'
in_c 1 systemctl reload vigil.service
sleep 1
if [ "$(in_c 1 systemctl is-active vigil.service)" = active ] && ctl 1 is-up n2 -q; then
  ok "reload with a broken config -> still active, still serving ($(in_c 1 systemctl show -p StatusText --value vigil.service))"
else
  fail "broken reload broke the service"
fi

# 6. reload with a config adding a peer -> the peer appears
in_c 1 sh -c "cp /root/good.yaml /etc/vigil/vigil.yaml; printf '  - {id: n4, address: \"10.231.0.4:7946\"}\n' >> /etc/vigil/vigil.yaml"
in_c 1 systemctl reload vigil.service
wait_for 20 "n4" sh -c "nsenter -t $(leader 1) -a -- vigilctl get n4 >/dev/null" \
  && ok "reload adding a peer -> n4 appears ($(ctl 1 get n4 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'))" \
  || fail "n4 did not appear after reload"
ctl 1 is-up n2 -q || fail "n2 not up after the reload"

# 7. the restarted daemon still reports the last-seen time it had before
in_c 3 systemctl stop vigil.service
ctl 1 wait n3 --state left --timeout 20s >/dev/null
seen_before=$(ctl 1 get n3 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_heartbeat"])')
in_c 1 systemctl restart vigil.service
seen_after=$(ctl 1 get n3 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["last_heartbeat"], d["previous_state"])')
[ "$seen_after" = "$seen_before left" ] \
  && ok "after a restart, n1 still knows n3 was last seen at $seen_before (left): $(ctl 1 status | grep '^n3')" \
  || fail "last seen lost across restart: before '$seen_before', after '$seen_after'"

# 8. the API socket: group vigil may use it, other users may not
in_c 1 sh -c 'id outsider >/dev/null 2>&1 || useradd -M outsider; id member >/dev/null 2>&1 || useradd -M -G vigil member'
in_c 1 setpriv --reuid=member --regid=member --init-groups vigilctl is-up n2 -q \
  && ok "a member of group vigil can use the API" || fail "group vigil cannot use the API"
if in_c 1 setpriv --reuid=outsider --regid=outsider --init-groups vigilctl is-up n2 -q 2>/dev/null; then
  fail "a user outside group vigil can use the API"
else
  ok "a user outside group vigil cannot use the API"
fi

# 9. hardening as systemd applied it
in_c 1 systemctl show -p User --value vigil.service | grep -qx vigil || fail "not running as user vigil"
[ "$(in_c 1 stat -c '%U:%G %a' /run/vigil/vigil.sock)" = "vigil:vigil 660" ] || fail "socket owner/mode: $(in_c 1 stat -c '%U:%G %a' /run/vigil/vigil.sock)"

log "figure: system test took $(( $(date +%s) - start_time )) s"
if [ "$failures" -gt 0 ]; then
  for i in 1 2 3; do echo "--- journal of vigil in c$i"; in_c "$i" journalctl -u vigil.service --no-pager 2>/dev/null | tail -25; done
  echo "FAIL: $failures check(s) failed"
  exit 1
fi
echo "PASS: all system checks"

#!/usr/bin/env bash
# Offline checks of the systemd unit: `systemd-analyze verify` must print nothing at all
# (it exits 0 even for unknown keys, so any output is a failure), and
# `systemd-analyze security --offline=yes` must rate it 2.0 or better.
#   tests/system/unit_file_test.sh CONFIGURED_UNIT VIGILD_BINARY
set -uo pipefail
unit=${1:?unit}; vigild=${2:?vigild}
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed"; exit 77; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
# verify checks that ExecStart= exists: point it at the binary we just built.
sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/vigild|\1$vigild|" "$unit" >"$dir/vigil.service"
out=$(systemd-analyze verify "$dir/vigil.service" 2>&1)
if [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify printed:"; echo "$out"; exit 1
fi
echo "ok: systemd-analyze verify prints nothing"
report=$(systemd-analyze security --offline=yes "$dir/vigil.service" 2>&1)
score=$(echo "$report" | sed -n 's/.*Overall exposure level for vigil.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "FAIL: no exposure score in:"; echo "$report"; exit 1; }
echo "figure: systemd-analyze security exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "FAIL: exposure $score > 2.0"; echo "$report"; exit 1; }
echo "ok: exposure $score <= 2.0"

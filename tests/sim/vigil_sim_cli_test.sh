#!/bin/sh
# vigil-sim's command line (docs/membership.md, "The simulator"): a small run with a crash,
# a frozen and a starved member prints its figures and exits 0; impossible options are
# refused with one line saying what, and exit status 2.
set -u
sim="$1"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$sim" --nodes 40 --crash 1 --freeze 1 --starve 1 --warmup 60 --after 30 --seed 3) ||
  fail "a valid run exited $?"
echo "$out"
# Every live member removed the crashed one: "N of N (live member, crashed) pairs removed".
echo "$out" | grep -Eq 'crashed 1 .*: ([0-9]+) of \1 \(live member, crashed\) pairs removed' ||
  fail "not every live member removed the crashed one"
echo "$out" | grep -q '^false removals: 0;' || fail "a live member was removed"
echo "$out" | grep -Eq '^starved 1 live members to 5 % of a core for 60 s' ||
  fail "no line about the starved member"
echo "$out" | grep -Eq '^froze 1 live members for 10 s' || fail "no line about the frozen member"

refused() {
  expected="$1"; shift
  msg=$("$sim" "$@" 2>&1 >/dev/null); status=$?
  [ "$status" -eq 2 ] || fail "$* exited $status, not 2"
  echo "$msg" | grep -qF "$expected" || fail "$*: said '$msg', not '$expected'"
}
refused 'need 0 < --starve-share < 1' --starve 1 --starve-share 1.5
refused 'need 0 < --starve-share < 1' --starve 1 --starve-share 0
refused 'need --crash + --freeze + --starve < --nodes' --nodes 10 --crash 5 --freeze 3 --starve 2
refused 'need every duration >= 0' --starve-for -1
echo "PASS"

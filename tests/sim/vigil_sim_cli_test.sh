#!/bin/sh
# vigil-sim's command line (docs/membership.md, "The simulator"): a small run with a crash,
# a frozen and a starved member, or a member cut off, prints its figures and exits 0 (the
# frozen and the cut-off member come back everywhere); a cold start and joins end with every
# member in every view; impossible options are
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
echo "$out" | grep -Eq '^vigil-sim: 40 members, K 8, H 5, L 2, .*, corroborated level 0.5, seed 3$' ||
  fail "the first line does not give the settings"
echo "$out" | grep -q '^false removals: 0;' || fail "a live member was removed"
echo "$out" | grep -Eq '^false removals: 0; convictions by observers [0-9]+ \([0-9.]+ per member-hour, [0-9]+ on corroboration\)' ||
  fail "no count of convictions on corroboration"
echo "$out" | grep -Eq '^datagrams refused by live members: [0-9]+ unconfirmed \([0-9]+ answers\), [0-9]+ old sequence$' ||
  fail "no line about the datagrams refused"
echo "$out" | grep -Eq '^starved 1 live members to 5 % of a core for 60 s' ||
  fail "no line about the starved member"
echo "$out" | grep -Eq '^froze 1 live members for 10 s' || fail "no line about the frozen member"
echo "$out" | grep -Eq "^members taken out while alive and back in every live member's view: 1, .*still out at the end: 0$" ||
  fail "the frozen member did not come back everywhere"

# Two members leave (as a stopping vigild does): every live member takes both out, as left.
out=$("$sim" --nodes 40 --crash 2 --leave --warmup 30 --after 20 --seed 3) ||
  fail "a run with leaves exited $?"
echo "$out"
echo "$out" | grep -Eq '^left 2 .*: ([0-9]+) of \1 \(live member, left\) pairs removed, \1 as left;' ||
  fail "not every live member took the leaving ones out as left"

# One member cut off for 10 s: taken out by the 39 others, then back everywhere.
out=$("$sim" --nodes 40 --crash 0 --partition 0.025 --partition-for 10 --warmup 60 --after 20 \
  --seed 3) || fail "a partition run exited $?"
echo "$out"
echo "$out" | grep -q '^partition of 2.5 % of the members from 60 s for 10 s: 39 removals across it' ||
  fail "the member cut off was not taken out by all"
echo "$out" | grep -Eq "^members taken out while alive and back in every live member's view: 1, .*still out at the end: 0$" ||
  fail "the member cut off did not come back everywhere"
echo "$out" | grep -q '^from the end of the partition to the end: sent per live member' ||
  fail "no traffic figure for the time after the partition"

# A cold start of 40 members from 3 seeds: every member ends with every other in its view.
out=$("$sim" --nodes 40 --cold-start --crash 0 --warmup 30 --after 0 --seed 3) ||
  fail "a cold start exited $?"
echo "$out"
echo "$out" | grep -Eq '^cold start: 40 members from 3 seeds over 5 s: a view of >= 99.9 % of the members \(40\) at 40 of them, .*pairs apart at the end: 0$' ||
  fail "a cold start did not end with every member everywhere"
echo "$out" | grep -q '^false removals: 0;' || fail "a member was removed in a cold start"

# 4 members join a running cluster of 36.
out=$("$sim" --nodes 40 --join 4 --crash 0 --warmup 30 --after 20 --seed 3) ||
  fail "a join run exited $?"
echo "$out"
echo "$out" | grep -Eq "^joined members in every live member's view: 4, " ||
  fail "the joined members are not in every view"
echo "$out" | grep -Eq '^joins: 4 members from 3 seeds over 5 s: .* at 4 of them, .*pairs apart at the end: 0$' ||
  fail "a joined member lacks a full view"

refused() {
  expected="$1"; shift
  msg=$("$sim" "$@" 2>&1 >/dev/null); status=$?
  [ "$status" -eq 2 ] || fail "$* exited $status, not 2"
  echo "$msg" | grep -qF -- "$expected" || fail "$*: said '$msg', not '$expected'"
}
refused 'need 0 < --starve-share < 1' --starve 1 --starve-share 1.5
refused 'need 0 < --starve-share < 1' --starve 1 --starve-share 0
refused 'need --crash + --freeze + --starve + --join < --nodes' --nodes 10 --crash 5 --freeze 3 --starve 2
refused '--cold-start and --join exclude each other' --cold-start --join 3
refused 'need 1 <= --seeds <= the members started first' --join 3 --seeds 0
refused 'need --start-spread >= 0' --join 3 --start-spread -1
refused 'need every duration >= 0' --starve-for -1
refused 'need 0 < --corroborated-level <= 1' --corroborated-level 0
refused 'need 0 < --corroborated-level <= 1' --corroborated-level 1.5
refused 'need --pass-on-gather >= 0 (milliseconds)' --pass-on-gather -1
echo "PASS"

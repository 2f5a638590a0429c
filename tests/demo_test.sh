#!/usr/bin/env bash
# scripts/demo as the README runs it, against an existing build (issue 7 #26): it says what it
# does step by step, writes no terminal escapes into a pipe, ends cleanly, and its --shell
# gives a shell where aismi and aismi-sim work on the demo's cards.
set -u
top=$1 build=$2
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

AISMI_BUILD_DIR=$build "$top/scripts/demo" >"$out" 2>"$err" </dev/null || fail "scripts/demo exited $?: $(cat "$err")"
grep -q '^demo: building' "$err" || fail "no line says it is building"
grep -q '^demo: starting' "$err" || fail "no line says it is starting aismid"
grep -q $'\033' "$out" "$err" && fail "terminal escapes in piped output"
grep -qx '\$ aismi vf enable -i 0 --count 4' "$out" || fail "the steps are not shown as commands"
grep -q 'Stopping aismid' "$out" || fail "the walk-through did not reach its end"
# The crash step kills aismid itself (it once killed libvirtd), and the new aismid serves.
grep -q '^demo: killed aismid (pid [0-9]*) with SIGKILL' "$err" || fail "the crash step did not kill aismid: $(grep '^demo: killed' "$err")"
grep -q '^demo: aismid (pid [0-9]*) serves again' "$err" || fail "the restarted aismid does not serve: $(grep '^demo: the restarted' "$err")"

# --shell: the banner's promise holds (aismi and aismi-sim work without further setup).
printf 'aismi --query-card=index --format=csv,noheader && aismi-sim show 1 >/dev/null && echo SHELL-WORKS\nexit\n' |
  AISMI_BUILD_DIR=$build "$top/scripts/demo" --shell >"$out" 2>"$err" || fail "scripts/demo --shell exited $?"
grep -q 'AISMI_SIM_DIR points aismi-sim' "$out" || fail "no --shell banner"
grep -q 'SHELL-WORKS' "$out" "$err" || fail "aismi or aismi-sim does not work in the demo shell: $(tail -5 "$err")"

[[ $fails -eq 0 ]] && echo "demo: all checks passed"
exit $((fails > 0))

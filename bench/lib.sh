# Sourced by the benchmark scripts: a work directory, a private system bus, and clean-up of
# every process started (by PID) and of the directory on exit. Sets work, pids, build, and
# exports DBUS_SYSTEM_BUS_ADDRESS. Helpers: time_us CMD... (wall time of one run, bash's clock).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${AISMI_BUILD_DIR:-$top/build}
work=$(mktemp -d /tmp/aismi-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cat >"$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$work/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/bus.log" & pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/bus.sock"
for _ in $(seq 100); do [[ -S $work/bus.sock ]] && break; sleep 0.05; done
time_us() { local s=$EPOCHREALTIME; "$@" >/dev/null; local e=$EPOCHREALTIME; echo $(( (${e/./} - ${s/./}) )); }

# start_daemon CARDS VFS TIME_FACTOR [AISMID_ARGS...]: (re)starts aismid on fresh simulated
# cards (state in $work/state), waits until it answers, and enables every VF of every card.
# Sets $daemon. The metrics endpoint takes a free port unless AISMID_ARGS names one.
daemon=""
start_daemon() {
  local cards=$1 vfs=$2 factor=$3; shift 3
  [[ -n $daemon ]] && { kill "$daemon"; wait "$daemon" 2>/dev/null || true; }
  rm -rf "$work/state"
  local metrics=(--metrics-address=127.0.0.1:0)
  [[ " $* " == *" --metrics-address="* ]] && metrics=()
  "$build/daemon/aismid" --backend=sim --state-dir="$work/state" --sim-cards="$cards" --sim-vfs="$vfs" --sim-time-factor="$factor" \
      --config=/dev/null "${metrics[@]}" "$@" 2>"$work/aismid.log" & daemon=$!; pids+=($daemon)
  for _ in $(seq 400); do "$build/cli/aismi" -L >/dev/null 2>&1 && break; sleep 0.05; done
  "$build/cli/aismi" -L >/dev/null 2>&1 || { echo "bench: aismid did not start" >&2; cat "$work/aismid.log" >&2; exit 1; }
  for card in $(seq 0 $((cards - 1))); do "$build/cli/aismi" vf enable -i "$card" --count "$vfs" >/dev/null; done
}

# cpu_percent SECONDS: the share of one core aismid ($daemon) used over the next SECONDS, in %.
cpu_percent() {
  local hz t0 t1 w0 w1
  hz=$(getconf CLK_TCK)
  t0=$(awk '{print $14+$15}' "/proc/$daemon/stat"); w0=$EPOCHREALTIME
  sleep "$1"
  t1=$(awk '{print $14+$15}' "/proc/$daemon/stat"); w1=$EPOCHREALTIME
  awk -v t="$((t1 - t0))" -v hz="$hz" -v w0="$w0" -v w1="$w1" 'BEGIN{printf "%.2f", 100 * t / hz / (w1 - w0)}'
}

# percentile P: the P-th percentile (nearest rank) of the numbers on stdin.
percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i = int((p * NR + 99) / 100); if (i < 1) i = 1; print a[i]}'; }

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

#!/usr/bin/env bash
# s3-stop.sh DIR [--purge]
# Stops the Ceph daemons that scripts/s3-start.sh started under DIR, found by their pid files
# (and only if those pids still name a Ceph daemon). --purge also deletes DIR.
dir=${1:?usage: s3-stop.sh DIR [--purge]}
purge=${2:-}

is_ceph_daemon() {
  case "$(cat "/proc/$1/comm" 2>/dev/null)" in
    radosgw | ceph-osd | ceph-mon) return 0 ;;
    *) return 1 ;;
  esac
}
running() { # alive and not a zombie
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# The gateway and the OSD first, while the monitor can still hear them leave.
for names in "client.rgw.berth osd.0" "mon.a"; do
  pids=()
  for name in $names; do
    pidfile="$dir/run/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    is_ceph_daemon "$pid" || continue
    # Data about to be deleted needs no orderly shutdown.
    if [ "$purge" = --purge ]; then kill -KILL "$pid" 2>/dev/null; else kill -TERM "$pid" 2>/dev/null; fi
    pids+=("$pid")
  done
  for _ in $(seq 100); do
    alive=0
    for pid in "${pids[@]}"; do running "$pid" && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do running "$pid" && kill -KILL "$pid" 2>/dev/null; done
done
rm -f "$dir"/run/*.pid
[ "$purge" = --purge ] && rm -rf "$dir"
exit 0

#!/usr/bin/env bash
# s3-start.sh DIR [PORT]
#
# A real S3 endpoint for the tests: Ceph's RADOS Gateway on a throw-away one-node cluster
# (one monitor, one OSD, radosgw with the beast frontend) from Debian's packages. All state,
# logs and pid files stay under DIR; every daemon binds to 127.0.0.1; no systemd, no ceph-mgr.
#
# Uses TCP ports PORT (S3), PORT+1 and PORT+2 (monitor) and PORT+10..PORT+40 (OSD messenger);
# without PORT it picks a free such range. Exit code 3: a port given is taken.
# On success prints, and writes to DIR/s3.env, the lines
#   S3_ENDPOINT=http://127.0.0.1:PORT  S3_ACCESS_KEY=…  S3_SECRET_KEY=…  S3_REGION=us-east-1
# Environment: S3_CEPH_STORE=bluestore|memstore (default bluestore: a sparse file, bounded RAM;
# memstore starts faster but keeps every object in RAM). Stop with scripts/s3-stop.sh DIR.
set -euo pipefail
dir=${1:?usage: s3-start.sh DIR PORT}
port=${2:-}
store=${S3_CEPH_STORE:-bluestore}
scripts=$(cd "$(dirname "$0")" && pwd)
export PATH="$PATH:/usr/sbin:/sbin"

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
  command -v "$tool" >/dev/null || {
    echo "s3-start: $tool is missing (apt-get install ceph-mon ceph-osd radosgw ceph-common)" >&2
    exit 2
  }
done

ports_free() { # ports_free BASE: whether BASE..BASE+40 all refuse connections
  local candidate
  for candidate in $(seq "$1" $(($1 + 40))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null && return 1
  done
  return 0
}
if [ -z "$port" ]; then
  for _ in $(seq 20); do
    port=$((20000 + RANDOM % 400 * 100))
    ports_free "$port" && break
    port=""
  done
  [ -n "$port" ] || { echo "s3-start: found no free port range" >&2; exit 3; }
elif ! ports_free "$port"; then
  echo "s3-start: some of ports $port..$((port + 40)) are in use" >&2
  exit 3
fi
mon_v2=$((port + 1))
mon_v1=$((port + 2))
osd_first=$((port + 10))
osd_last=$((port + 40))

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -rf "${dir:?}"/{conf,log,run,mon,osd,osd.block,rgw,keyring,monmap,s3.env}
mkdir -p "$dir"/{log,run,mon,osd,rgw}
conf="$dir/conf"

fail() {
  echo "s3-start: $*" >&2
  for log in "$dir"/log/*; do
    [ -s "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
  bash "$scripts/s3-stop.sh" "$dir" >/dev/null 2>&1 || true
  exit 1
}

fsid=$(cat /proc/sys/kernel/random/uuid)
cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]
mon initial members = a
public addr = 127.0.0.1
public network = 127.0.0.1/32
ms bind ipv6 = false
ms bind port min = $osd_first
ms bind port max = $osd_last
keyring = $dir/keyring
log file = $dir/log/\$name.log
log to stderr = false
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
run dir = $dir/run
crash dir = $dir/log
mon cluster log file = $dir/log/cluster.log
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
# One disposable copy of everything.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 1
# A lone monitor need not batch map updates for a second: ready in seconds, and the first
# bucket and object (which create pools) answer in a fraction of a second.
paxos propose interval = 0.05

[mon]
mon data = $dir/mon

[osd]
osd data = $dir/osd
keyring = $dir/osd/keyring
osd objectstore = $store
memstore device bytes = 4294967296
bluestore block path = $dir/osd.block
bluestore block create = true
bluestore block size = 10737418240
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2

[client.rgw.berth]
keyring = $dir/rgw/keyring
rgw data = $dir/rgw
# Without tcp_nodelay every small response waits ~40 ms for a delayed ACK.
rgw frontends = beast endpoint=127.0.0.1:$port tcp_nodelay=1
rgw thread pool size = 64
rgw enable usage log = false
rgw dns name = localhost
# Free deleted data within seconds rather than hours.
rgw gc obj min wait = 10
rgw gc processor period = 10
rgw gc processor max time = 10
# Server-side encryption over plain HTTP on 127.0.0.1, with a fixed test key for aws:kms.
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = berth-test-key=$(head -c 32 /dev/urandom | base64)
CONF

ceph=(ceph -c "$conf" --connect-timeout 30)

ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
  --cap mgr 'allow *' >/dev/null
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]" \
  "$dir/monmap" >/dev/null
ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$dir/keyring" \
  2>"$dir/log/mon-mkfs.err" || fail "monitor mkfs failed"
ceph-mon -c "$conf" -i a 2>"$dir/log/mon.err" || fail "monitor did not start"

osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$("${ceph[@]}" osd new "$osd_uuid" 2>"$dir/log/ceph.err") || fail "monitor unreachable"
[ "$osd_id" = 0 ] || fail "unexpected osd id $osd_id"
if ! ceph-osd -c "$conf" -i 0 --no-mon-config --mkfs --mkkey --osd-uuid "$osd_uuid" \
  >/dev/null 2>"$dir/log/osd-mkfs.err"; then
  # bluestore needs O_DIRECT, which some filesystems (tmpfs, overlays) refuse.
  [ "$store" = bluestore ] || fail "osd mkfs failed"
  sed -i 's/^osd objectstore = .*/osd objectstore = memstore/' "$conf"
  rm -rf "$dir/osd" "$dir/osd.block" && mkdir -p "$dir/osd"
  ceph-osd -c "$conf" -i 0 --no-mon-config --mkfs --mkkey --osd-uuid "$osd_uuid" \
    >/dev/null 2>"$dir/log/osd-mkfs.err" || fail "osd mkfs failed"
fi
"${ceph[@]}" auth add osd.0 osd 'allow *' mon 'allow profile osd' -i "$dir/osd/keyring" \
  >/dev/null 2>>"$dir/log/ceph.err" || fail "could not register the osd key"
ceph-osd -c "$conf" -i 0 2>"$dir/log/osd.err" || fail "osd did not start"
for _ in $(seq 240); do
  "${ceph[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up' && break
  sleep 0.25
done
"${ceph[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up' || fail "osd did not come up"

"${ceph[@]}" auth get-or-create client.rgw.berth mon 'allow rw' osd 'allow rwx' \
  -o "$dir/rgw/keyring" 2>>"$dir/log/ceph.err" || fail "could not create the gateway key"
radosgw -c "$conf" -n client.rgw.berth 2>"$dir/log/rgw.err" || fail "radosgw did not start"
for _ in $(seq 480); do
  curl -fso /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.25
done
curl -fso /dev/null "http://127.0.0.1:$port/" || fail "radosgw does not answer on port $port"

access_key=${S3_ACCESS_KEY:-BERTH$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)}
secret_key=${S3_SECRET_KEY:-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}
radosgw-admin -c "$conf" -n client.admin user create --uid=berth --display-name=Berth \
  --access-key="$access_key" --secret="$secret_key" >/dev/null 2>"$dir/log/rgw-admin.err" ||
  fail "could not create the S3 user"

cat >"$dir/s3.env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$port
S3_ACCESS_KEY=$access_key
S3_SECRET_KEY=$secret_key
S3_REGION=us-east-1
ENV
cat "$dir/s3.env"

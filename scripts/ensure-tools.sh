#!/usr/bin/env bash
# Installs the real clients and reference servers the tests drive, from Debian's packages,
# only when they are absent. Needs root (or sudo) the first time; a no-op afterwards.
set -euo pipefail

declare -A package_of=(
  [skopeo]=skopeo
  [podman]=podman
  [buildah]=buildah
  [umoci]=umoci
  [dockerd]=docker.io
  [containerd]=containerd
  [ctr]=containerd
  [docker-registry]=docker-registry
  [wrk]=wrk
  [newuidmap]=uidmap
  [slapd]=slapd
  [ldapadd]=ldap-utils
  [openssl]=openssl
  [zip]=zip
  [debootstrap]=debootstrap
  [rpm]=rpm
  [rpmbuild]=rpm
  [db5.3_load]=db5.3-util
  [gpg]=gpg
  [unzip]=unzip
  [go]=golang-go
  [jar]=default-jdk-headless
  [objcopy]=binutils
  [strip]=binutils
  [rustc]=rustc
  [ruby]=ruby
  [python3]=python3
  # A one-node Ceph cluster whose RADOS Gateway is the real S3 server of the S3 tests.
  [ceph-mon]=ceph-mon
  [ceph-osd]=ceph-osd
  [radosgw]=radosgw
  [radosgw-admin]=ceph-common
  [ceph-authtool]=ceph-common
  [monmaptool]=ceph-base
  [curl]=curl
)
# Real jars from Debian's packages that the binary detector tests read.
declare -A package_of_file=(
  [/usr/share/java/commons-lang3.jar]=libcommons-lang3-java
  [/usr/share/java/commons-io.jar]=libcommons-io-java
  [/usr/share/java/guava.jar]=libguava-java
  [/usr/share/java/guice-no-aop.jar]=libguice-java
  [/usr/share/java/wagon-http-shaded.jar]=libwagon-http-shaded-java
  # Real cosign signatures and cosign.pub that the cosign verifier tests check.
  [/usr/share/gocode/src/github.com/containers/image/signature/fixtures/cosign.pub]=golang-github-containers-image-dev
)
# slapd and debootstrap install into /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
for file in "${!package_of_file[@]}"; do
  [ -e "$file" ] || missing+=("${package_of_file[$file]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "ensure-tools: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "ensure-tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

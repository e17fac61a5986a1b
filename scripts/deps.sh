#!/bin/sh
# Installs the Debian 12 packages cairn needs to build, test and benchmark.
# As root: runs apt-get for whatever is missing. Otherwise: prints the exact
# command to run and exits 1.
set -e
PKGS="build-essential cmake pkg-config libsnappy-dev libcmocka-dev libleveldb-dev librocksdb-dev clang-format gnuplot-nox gdb"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != "0" ]; then
    echo "cairn needs these Debian packages:$missing" >&2
    echo "Run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null

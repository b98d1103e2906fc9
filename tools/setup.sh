#!/bin/sh
# Install what zpa needs to build and test on Debian 12 (run as root or with sudo).
# Trace replay (replay/) adds: zstd/xz/zlib for compressed traces, libtracecmd
# and libtraceevent for trace.dat, libtracefs for `zpa record`, trace-cmd for
# its tests, python3-matplotlib for the plots and chromium to test the HTML.
# Installs only what is missing, so it is cheap to run again.
set -e
PKGS="build-essential cmake pkg-config libcmocka-dev zstd valgrind libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev libzstd-dev liblzma-dev zlib1g-dev xz-utils libtraceevent-dev libtracefs-dev libtracecmd-dev trace-cmd python3-matplotlib chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq $missing
fi

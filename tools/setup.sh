#!/bin/sh
# Install what zpa needs to build and test on Debian 12 (run as root or with sudo).
# Installs only what is missing, so it is cheap to run again.
set -e
PKGS="build-essential cmake pkg-config libcmocka-dev zstd valgrind libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev"
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

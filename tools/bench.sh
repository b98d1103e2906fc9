#!/bin/sh
# Build zpa-bench optimised (Release, ZPA_DEBUG=0) in build-bench/ and run it;
# every argument goes to zpa-bench (try --help).  See docs/PERFORMANCE.md.
#   tools/bench.sh                      the default run (about half a minute on 2 cores)
#   tools/bench.sh --json results.json  also write every cell as JSON
# The allocators it compares come from Debian's packages; a missing one is
# reported and left out of the table:
#   apt-get install libjemalloc2 libmimalloc2.0 libgoogle-perftools4 valgrind
set -e
cd "$(dirname "$0")/.."
if command -v dpkg-query >/dev/null 2>&1; then
	missing=""
	for p in libjemalloc2 libmimalloc2.0 libgoogle-perftools4 valgrind; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] || echo "bench.sh: not installed:$missing (apt-get install$missing)" >&2
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DZPA_DEBUG=0 >/dev/null
cmake --build build-bench --target zpa-bench -j"$(nproc)" >/dev/null
exec build-bench/bench/zpa-bench "$@"

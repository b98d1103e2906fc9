#!/bin/sh
# The whole test suite: build with ASan+UBSan (and internal assertions) in
# build-test/, then run every test under ctest.  Ends with ctest's summary.
set -e
cd "$(dirname "$0")/.."
sh tools/setup.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DZPA_SANITIZE=ON -DZPA_DEBUG=1 >/dev/null
cmake --build build-test -j"$(nproc)"
cd build-test
ctest --output-on-failure -j"$(nproc)"

#!/usr/bin/env bash
# The benchmark (docs/performance.md): installs what is missing, builds the
# release binaries without sanitizers in build-bench/, and runs wz-bench,
# which starts its own redis-server and the four services on free loopback
# ports in a temp dir and removes them again. Arguments go to wz-bench
# (--help lists them); the JSON object is printed and kept in var/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

wz_install_packages
wz_build "$PWD/build-bench" -DCMAKE_BUILD_TYPE=Release -DWZ_SANITIZE=OFF -DBUILD_TESTING=OFF \
    -- wz-bench
mkdir -p var/bench
out="var/bench/bench-$(date +%Y%m%d-%H%M%S).json"
say "running wz-bench $* (the JSON object is also written to $out)"
build-bench/wz-bench --json "$out" "$@"

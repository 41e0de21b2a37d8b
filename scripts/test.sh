#!/usr/bin/env bash
# The test command: installs what is missing, builds everything with
# AddressSanitizer + UBSan, and runs every test (unit and integration). Each
# test starts its own redis-server and services on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

wz_install_packages
wz_build build-test -DWZ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
say "running the tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-test -j"$(nproc)" --output-on-failure --timeout 300

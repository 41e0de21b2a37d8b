#!/usr/bin/env bash
# The test command: installs what is missing, builds everything with
# AddressSanitizer + UBSan in build-test/, and runs every test (unit and
# integration) with CTest; exits with CTest's status. Each integration test
# starts its own redis-server and the four services on free loopback ports in
# a temporary directory, so nothing needs to be running (and port 6379 or a
# system redis-server is never touched).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

cat <<'HEADER'
woonzorg tests
  1. install missing Debian packages (apt-get, as root) and tests/deploy's npm packages
  2. build with -DWZ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug in build-test/
  3. ctest: unit tests per module, integration tests against the real services,
     deploy/ rendered and validated, the network-namespace test (root only)
  4. scripts/fuzz.sh: every libFuzzer target for WZ_FUZZ_SECONDS (default 30) s
     under ASan/UBSan; any crash, leak or sanitizer report fails the run
HEADER

fuzz_seconds=${WZ_FUZZ_SECONDS:-30}
[[ $fuzz_seconds =~ ^[1-9][0-9]*$ ]] || die "WZ_FUZZ_SECONDS must be a whole number > 0"
WZ_DEBIAN_PACKAGES+=("${WZ_FUZZ_PACKAGES[@]}" "${WZ_BROWSER_PACKAGES[@]}")
wz_install_packages
wz_install_node_deps
wz_build "$PWD/build-test" -DWZ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
say "running the tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
ctest --test-dir build-test -j2 --output-on-failure --timeout 300 || status=$?
fuzz_status=0
bash scripts/fuzz.sh "$fuzz_seconds" || fuzz_status=$?
if [ $status -eq 0 ] && [ $fuzz_status -ne 0 ]; then
    say "fuzzing failed (scripts/fuzz.sh exit $fuzz_status); see the report above"
    exit $fuzz_status
fi
if [ $status -eq 0 ]; then
    say "all tests passed"
else
    say "tests failed (ctest exit $status); logs: build-test/Testing/Temporary/LastTest.log"
fi
exit $status

#!/usr/bin/env bash
# Fuzzes the hostile-input surfaces with libFuzzer under ASan and UBSan:
#   scripts/fuzz.sh [SECONDS]        (default 60 seconds per target)
# Targets (tests/fuzz/): fuzz_request (request decoder + validator),
# fuzz_config (YAML tree, table filler, policy and settings loaders) and
# fuzz_client_message (ClientMessage, Delivery, Event).
# Each runs for SECONDS on a copy of its seed corpus in a temporary
# directory, so tests/fuzz/corpus is never written to. Exits non-zero when
# any target reports a crash, leak, sanitizer report or broken invariant; the
# input that did it is kept in build-fuzz/findings/<target>/ and the whole
# output in build-fuzz/fuzz-logs/<target>.log. Reproduce one with
#   build-fuzz/tests/fuzz/<target> build-fuzz/findings/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/fuzz.sh [SECONDS] (a whole number > 0, default 60)"
targets=(fuzz_request fuzz_config fuzz_client_message)

cat <<HEADER
woonzorg fuzzing
  1. install missing Debian packages, clang and libFuzzer included (apt-get, as root)
  2. build the fuzz targets with clang in build-fuzz/ (-DWZ_FUZZ=ON)
  3. run ${targets[*]} for ${seconds} s each
HEADER

WZ_DEBIAN_PACKAGES+=("${WZ_FUZZ_PACKAGES[@]}")
wz_install_packages
runtime_dir=$(clang -print-runtime-dir 2>/dev/null || true)
[ -f "$runtime_dir/libclang_rt.fuzzer-x86_64.a" ] ||
    die "clang $(clang -dumpversion 2>/dev/null) has no libFuzzer in '$runtime_dir'; install the libclang-rt-<version>-dev matching it"

build=$PWD/build-fuzz
wz_build "$build" -DCMAKE_C_COMPILER=clang -DWZ_FUZZ=ON -DBUILD_TESTING=OFF -- fuzz
bin=$build/tests/fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/wz-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The seeds as the current protocol packs them, next to the committed ones.
"$bin/make_seeds" "$work/seeds" >/dev/null || die "make_seeds failed: the seed requests no longer validate"

# UBSan stops at the first report (-fno-sanitize-recover); libFuzzer keeps the input.
export UBSAN_OPTIONS=print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1

mkdir -p "$build/fuzz-logs"
passed=0 failed=0 summary=()
for target in "${targets[@]}"; do
    corpus=$work/corpus/$target
    findings=$build/findings/$target
    log=$build/fuzz-logs/$target.log
    mkdir -p "$corpus"
    rm -rf "$findings"
    mkdir -p "$findings"
    cp tests/fuzz/corpus/"$target"/* "$corpus"/
    if [ -d "$work/seeds/$target" ]; then
        cp "$work/seeds/$target"/* "$corpus"/
    fi
    if [ "$target" = fuzz_config ]; then
        # The repository's current YAML files, in case the copies are stale.
        for f in config/*.yaml config/*/*.yaml; do
            [ -f "$f" ] && cp "$f" "$corpus/repo_${f//\//_}"
        done
    fi
    args=(-max_total_time="$seconds" -rss_limit_mb=2048 -detect_leaks=1 -timeout=25
          -print_final_stats=1 -artifact_prefix="$findings/")
    [ -f "tests/fuzz/$target.dict" ] && args+=(-dict="tests/fuzz/$target.dict")

    say "fuzzing $target for $seconds s ($(ls "$corpus" | wc -l) seeds)"
    start=$(date +%s)
    rc=0
    # TMPDIR: fuzz_config's scratch file lands in the work dir and goes with it.
    TMPDIR=$work timeout -k 10 $((seconds + 300)) \
        "$bin/$target" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
    took=$(($(date +%s) - start))

    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)
    line="$target: ${took} s, ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-no coverage line}"
    if [ $rc -eq 0 ] && ! grep -qE '^(==[0-9]+==ERROR|SUMMARY: )' "$log"; then
        passed=$((passed + 1))
        summary+=("ok    $line")
        echo "$line"
    else
        failed=$((failed + 1))
        summary+=("FAIL  $line (exit $rc)")
        echo "$target FAILED (exit $rc) after $took s; the report:" >&2
        grep -E -m1 -A2 '^(==[0-9]+==ERROR|fuzz: invariant broken|.*runtime error:)' "$log" >&2 || true
        grep -E '^SUMMARY: |^artifact_prefix|Test unit written to' "$log" >&2 || true
        echo "whole log: $log" >&2
    fi
done

say "results"
printf '  %s\n' "${summary[@]}"
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]

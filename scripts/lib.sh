# Shared by run.sh, test.sh and demo.sh: install what is missing, build,
# and read the few config values the scripts need.
# shellcheck shell=bash

WZ_DEBIAN_PACKAGES=(build-essential cmake pkg-config libzmq3-dev libprotobuf-c-dev
    protobuf-c-compiler libhiredis-dev libyaml-dev libsodium-dev libmicrohttpd-dev check
    redis-server redis-tools iproute2)
# The fuzz targets need clang and its libFuzzer runtime (Debian 12: clang 14).
# test.sh installs them with the rest, since CI runs the fuzzers too.
WZ_FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# The dashboard test (integration.test_dashboard) loads every page in
# headless Chromium; a large package (~100 MB), so only test.sh installs it.
WZ_BROWSER_PACKAGES=(chromium)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# dpkg -s also succeeds for removed packages whose config files remain.
wz_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

# Installs the missing ones of WZ_DEBIAN_PACKAGES with one apt-get update and
# one apt-get install; root is needed only when something is missing.
wz_install_packages() {
    local missing=() p
    command -v dpkg >/dev/null || die "dpkg not found: these scripts expect Debian 12"
    for p in "${WZ_DEBIAN_PACKAGES[@]}"; do
        wz_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]}" >&2
        echo "run this script as root, or: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 2
    fi
    say "installing ${missing[*]}"
    # Installing redis-server would start Debian's own redis service on port
    # 6379. Nothing here uses it (every run and every test starts a private
    # redis-server on its own port), so keep apt from starting any service
    # for the duration of the install, the usual way: a policy-rc.d that
    # says "not allowed". One that is already there is left alone.
    local policy=/usr/sbin/policy-rc.d added=0 rc=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from woonzorg scripts/lib.sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || rc=$?
    if [ $rc -eq 0 ]; then
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    fi
    [ $added -eq 1 ] && rm -f "$policy"
    [ $rc -eq 0 ] || die "apt-get failed (exit $rc) installing: ${missing[*]}"
}

# The Node.js packages of tests/deploy (manifest validation, Containerfile
# lint), exactly as locked in its package-lock.json. Node itself comes from
# Debian when the machine has none.
wz_install_node_deps() {
    if ! command -v npm >/dev/null; then
        local WZ_DEBIAN_PACKAGES=(nodejs npm)
        wz_install_packages
    fi
    say "installing tests/deploy's npm packages"
    (cd tests/deploy && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        die "npm ci in tests/deploy failed"
}

# wz_build DIR [cmake options...] [-- targets...]: configure and build with
# two jobs; the logs stay in DIR, only errors are shown.
wz_build() {
    local dir=$1 opts=() targets=()
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
    [ "${1:-}" = "--" ] && { shift; targets=("$@"); }
    say "building in ${dir#"$PWD"/}"
    mkdir -p "$dir"
    if ! cmake -S . -B "$dir" "${opts[@]}" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log" >&2
        exit 1
    fi
    local build=(cmake --build "$dir" -j2)
    [ ${#targets[@]} -gt 0 ] && build+=(--target "${targets[@]}")
    if ! "${build[@]}" >"$dir/build.log" 2>&1; then
        grep -E -A5 "error|Error" "$dir/build.log" | head -60 >&2
        echo "build failed; the whole log is $dir/build.log" >&2
        exit 1
    fi
}

# The value of KEY in SECTION of a YAML file laid out like
# config/woonzorg.yaml (SECTION "" for a top-level key); comments and quotes
# are stripped.
wz_yaml_get() {
    awk -v section="$2" -v key="$3" '
        function value(line) {
            sub(/^[^:]*:[ \t]*/, "", line); sub(/[ \t]+#.*$/, "", line)
            gsub(/^"|"$/, "", line); return line
        }
        section == "" && $0 ~ "^" key ":" { print value($0); exit }
        section != "" && /^[^ \t#]/ { inside = ($0 ~ "^" section ":"); next }
        inside && $0 ~ "^[ \t]+" key ":" { print value($0); exit }
    ' "$1"
}

# The party ids of a policy file: every `id:` in its top-level `parties:`
# list, in flow style ({id: x, ...}) or block style (- id: x).
wz_policy_parties() {
    awk '
        /^[^ \t#-]/ { inside = ($0 ~ /^parties:/); next }
        inside {
            line = $0; sub(/#.*/, "", line)
            if (match(line, /(^|[{ ,-])id:[ \t]*[A-Za-z0-9._-]+/)) {
                id = substr(line, RSTART, RLENGTH); sub(/.*id:[ \t]*/, "", id); print id
            }
        }
    ' "$1"
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
wz_port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Shared by run.sh and test.sh: install what is missing, then build.
# shellcheck shell=bash

WZ_DEBIAN_PACKAGES=(build-essential cmake pkg-config libzmq3-dev libprotobuf-c-dev
    protobuf-c-compiler libhiredis-dev libyaml-dev libsodium-dev check redis-server)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

wz_install_packages() {
    local missing=()
    for p in "${WZ_DEBIAN_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]}" >&2
        echo "run this script as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 2
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts a system redis on 6379 when it installs one; we never
    # use it (our runs start their own on other ports), so leave it be.
}

# wz_build DIR [cmake options...]
wz_build() {
    local dir=$1
    shift
    say "building in $dir"
    mkdir -p "$dir"
    if ! cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log" >&2
        exit 1
    fi
    if ! cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
        grep -E -A5 "error|Error" "$dir/build.log" | head -60 >&2
        echo "build failed; the whole log is $dir/build.log" >&2
        exit 1
    fi
}

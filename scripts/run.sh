#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts a private
# redis-server and the four services on loopback, plays the demo, and keeps
# the suite up until Ctrl-C. Everything it writes is under var/ (ignored).
#   RUN_DEMO_ONLY=1  stop after the demo instead of waiting for Ctrl-C
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ROOT=$PWD
BUILD=$ROOT/build
CONFIG=$ROOT/config/woonzorg.yaml
VAR=$ROOT/var
REDIS_PORT=$(awk '/^redis:/{r=1} r && /port:/{print $2; exit}' "$CONFIG")
SERVICES=(intake matching notification audit)

wz_install_packages
wz_build "$BUILD" -DCMAKE_BUILD_TYPE=Release
mkdir -p "$VAR/keys" "$VAR/redis" "$VAR/log"
chmod 700 "$VAR/keys"

# Every party of the policy and every service gets a CURVE key pair once.
parties=$(awk '/^parties:/{p=1; next} p && /^[^ -]/{p=0} p && /id:/ {
    match($0, /id: *[A-Za-z0-9._-]+/); s = substr($0, RSTART, RLENGTH); sub(/id: */, "", s); print s }' \
    config/policy.yaml)
# shellcheck disable=SC2086
"$BUILD/wzctl" -c "$CONFIG" keygen "${SERVICES[@]}" $parties >/dev/null

pids=()
stop_all() {
    trap - INT TERM EXIT
    echo
    say "stopping the suite"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "${redis_pid:-}" ] && { kill -TERM "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; }
    [ -n "${1:-}" ] && exit "$1"
    exit 0
}
trap 'stop_all 130' INT
trap 'stop_all 143' TERM
trap 'stop_all' EXIT

if (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
    echo "port $REDIS_PORT is taken: is another woonzorg run still up? (set redis.port in $CONFIG)" >&2
    trap - EXIT
    exit 1
fi
say "starting redis-server on 127.0.0.1:$REDIS_PORT (data in var/redis, append-only file on)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" --appendonly yes \
    --save '' --daemonize no --logfile "$VAR/log/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping | grep -q PONG || { echo "redis-server did not start; see var/log/redis.log" >&2; exit 1; }

for svc in "${SERVICES[@]}"; do
    : >"$VAR/log/$svc.log"
    "$BUILD/wz-$svc" -c "$CONFIG" 2>>"$VAR/log/$svc.log" &
    pids+=($!)
done
for svc in "${SERVICES[@]}"; do
    for _ in $(seq 100); do
        grep -q '"msg":"started"' "$VAR/log/$svc.log" && break
        sleep 0.1
    done
    if ! grep -q '"msg":"started"' "$VAR/log/$svc.log"; then
        echo "wz-$svc did not start:" >&2
        tail -5 "$VAR/log/$svc.log" >&2
        exit 1
    fi
    say "wz-$svc up ($(grep -o '"endpoint":"[^"]*"\|"publish":"[^"]*"' "$VAR/log/$svc.log" | head -2 | tr '\n' ' '))"
done

WZCTL="$BUILD/wzctl -c $CONFIG" bash scripts/demo.sh

[ "${RUN_DEMO_ONLY:-0}" = 1 ] && exit 0

W="build/wzctl -c config/woonzorg.yaml"
cat <<PANEL

────────────────────────────────────────────────────────────────────────────
 The suite is up (logs in var/log/). Try, from $(basename "$ROOT")/:
   as a corporation    $W --as pre-wonen publish config/examples/vacancy.yaml
                       $W --as pre-wonen status vacancy YM-2025-0871
   as a care provider  $W --as welschap-socius listen --timeout 5
                       $W --as welschap-socius answer YM-2025-0871/2 accept
   as the municipality $W --as gem-velsen listen --timeout 5
                       $W --as gem-haarlem audit tail -n 10
   everything else     $W --help
 Ctrl-C stops everything.
────────────────────────────────────────────────────────────────────────────
PANEL
while :; do sleep 3600 & wait $!; done

#!/usr/bin/env bash
# The main job: installs what is missing, builds (release, build/), starts a
# private redis-server and the four services on loopback, plays the demo
# (scripts/demo.sh), shows a few wzctl commands to try, and keeps the suite up
# until Ctrl-C, which stops the services (SIGTERM, they drain) and then Redis.
# Everything it writes is under var/ (ignored by git):
#   var/keys   CURVE key pairs of every party and service (kept between runs)
#   var/redis  Redis data (append-only file); a new run starts from an empty
#              database and keeps the previous one as var/redis.previous
#   var/audit  the audit service's Ed25519-signed checkpoints (per database,
#              moved to var/audit.previous with it)
#   var/log    JSON logs of the services, redis.log, the demo's listeners
# Environment:
#   RUN_DEMO_ONLY=1  stop everything after the demo instead of waiting
#   WZ_KEEP_DATA=1   keep the previous run's database and skip the demo
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ROOT=$PWD
BUILD=$ROOT/build
CONFIG=$ROOT/config/woonzorg.yaml
POLICY=$ROOT/config/policy.yaml
VAR=$ROOT/var
PIDS=$VAR/run.pids
SERVICES=(intake matching notification audit)
WZCTL=("$BUILD/wzctl" -c "$CONFIG")

REDIS_HOST=$(wz_yaml_get "$CONFIG" redis host)
REDIS_PORT=$(wz_yaml_get "$CONFIG" redis port)
[ "$REDIS_HOST" = 127.0.0.1 ] || die "redis.host in $CONFIG is '$REDIS_HOST'; the local run starts its own redis-server on 127.0.0.1"
[[ $REDIS_PORT =~ ^[0-9]+$ ]] || die "cannot read redis.port from $CONFIG"

cat <<HEADER
woonzorg, the whole suite on this machine
  packages, build (build/), keys (var/keys), redis-server on 127.0.0.1:$REDIS_PORT,
  wz-intake, wz-matching, wz-notification, wz-audit, then the demo
HEADER

# --- refuse early when an earlier run (or anything else) holds our ports ----
if [ -f "$PIDS" ]; then
    alive=$(awk '{print $2}' "$PIDS" | while read -r pid; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done | tr '\n' ' ')
    if [ -n "$alive" ]; then
        die "an earlier run.sh is still up (pids $alive). Stop it with Ctrl-C in its terminal, or: kill $alive"
    fi
    rm -f "$PIDS"
fi
ports=("$REDIS_PORT")
while read -r port; do ports+=("$port"); done < <(grep -oE 'tcp://127\.0\.0\.1:[0-9]+' "$CONFIG" | sed 's/.*://')
# The health and metrics ports (http: 127.0.0.1:PORT) too.
while read -r port; do ports+=("$port"); done < <(grep -oE '^[[:space:]]+http:[[:space:]]+127\.0\.0\.1:[0-9]+' "$CONFIG" | sed 's/.*://')
for port in "${ports[@]}"; do
    if wz_port_busy "$port"; then
        die "port 127.0.0.1:$port is taken by another process (see: ss -ltnp | grep :$port).
       The suite needs ports ${ports[*]}; stop that process or change them in $CONFIG."
    fi
done

wz_install_packages
wz_build "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWZ_SANITIZE=OFF -- \
    wzctl "${SERVICES[@]/#/wz-}"

mkdir -p "$VAR/keys" "$VAR/log"
chmod 700 "$VAR/keys"
# Every service and every party of the policy gets a CURVE key pair once;
# existing ones are kept.
mapfile -t parties < <(wz_policy_parties "$POLICY")
[ ${#parties[@]} -gt 0 ] || die "no parties found in $POLICY"
"${WZCTL[@]}" keygen "${SERVICES[@]}" "${parties[@]}" >/dev/null
say "keys for ${#SERVICES[@]} services and ${#parties[@]} parties in var/keys"
# One Redis ACL user per service (config: redis.acl_users), passwords in
# var/keys/redis-<name>.pass, the default user off.
"${WZCTL[@]}" redis-acl "$VAR/redis.acl" >/dev/null
say "redis ACL users wz-intake, wz-matching, wz-notification, wz-audit, wz-operator (var/redis.acl)"

demo=1
if [ -d "$VAR/redis" ] && [ -n "$(ls -A "$VAR/redis" 2>/dev/null)" ]; then
    if [ "${WZ_KEEP_DATA:-0}" = 1 ]; then
        say "keeping the previous database in var/redis (WZ_KEEP_DATA=1): no demo this time"
        demo=0
    else
        rm -rf "$VAR/redis.previous" "$VAR/audit.previous"
        mv "$VAR/redis" "$VAR/redis.previous"
        # The signed audit checkpoints belong to that database's chains.
        [ -d "$VAR/audit" ] && mv "$VAR/audit" "$VAR/audit.previous"
        say "fresh database; the previous one is in var/redis.previous (WZ_KEEP_DATA=1 keeps it in use)"
    fi
fi
mkdir -p "$VAR/redis" "$VAR/audit"
chmod 700 "$VAR/audit"

# --- start and stop ------------------------------------------------------
# Children run in their own session (setsid), so Ctrl-C reaches only this
# script, which then stops them in order: services first, Redis last.
redis_pid=
svc_pids=()
stopping=0

# shellcheck disable=SC2317 # reap and stop_all run from the EXIT trap
# Waits up to $3 tenths of a second for pid $2 (named $1) to exit, then
# kills it; says so when it did not exit cleanly.
reap() {
    local name=$1 pid=$2 n=$3 status=0
    while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$name (pid $pid) did not stop in time; killed" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || status=$?
    [ "$status" -eq 0 ] || echo "$name exited with status $status" >&2
    return 0
}

# shellcheck disable=SC2317
stop_all() {
    [ "$stopping" -eq 1 ] && return 0
    stopping=1
    trap - INT TERM
    if [ ${#svc_pids[@]} -gt 0 ] || [ -n "$redis_pid" ]; then
        echo
        say "stopping the suite"
    fi
    local i
    for i in "${!svc_pids[@]}"; do kill -TERM "${svc_pids[$i]}" 2>/dev/null || true; done
    for i in "${!svc_pids[@]}"; do reap "wz-${SERVICES[$i]}" "${svc_pids[$i]}" 150; done
    if [ -n "$redis_pid" ]; then
        # No service user may SHUTDOWN; SIGTERM makes redis-server save and exit.
        kill -TERM "$redis_pid" 2>/dev/null || true
        reap redis-server "$redis_pid" 100
    fi
    rm -f "$PIDS"
    [ ${#svc_pids[@]} -gt 0 ] && say "stopped; logs are in var/log/"
    return 0
}
trap 'status=$?; stop_all; exit $status' EXIT
trap 'exit 0' INT TERM

say "starting redis-server on 127.0.0.1:$REDIS_PORT (append-only file in var/redis)"
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" \
    --appendonly yes --save '' --daemonize no --logfile "$VAR/log/redis.log" \
    --aclfile "$VAR/redis.acl" </dev/null &
redis_pid=$!
echo "redis $redis_pid" >"$PIDS"
# As the read-only operator; the password goes by environment, not argv.
redis_ping() {
    REDISCLI_AUTH=$(cat "$VAR/keys/redis-operator.pass") \
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --user wz-operator ping 2>/dev/null
}
for _ in $(seq 100); do
    [ "$(redis_ping)" = PONG ] && break
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$(redis_ping)" != PONG ]; then
    tail -5 "$VAR/log/redis.log" >&2 || true
    die "redis-server did not answer on 127.0.0.1:$REDIS_PORT within 10 s; see var/log/redis.log"
fi

# The demo's handful of invented people would all fall under the dashboard's
# small-number threshold (audit.small_number, 5 by default and for real
# data); with demo data the local run shows every count unless told otherwise.
if [ $demo -eq 1 ]; then
    export WZ_AUDIT_SMALL_NUMBER=${WZ_AUDIT_SMALL_NUMBER:-1}
fi
for svc in "${SERVICES[@]}"; do
    : >"$VAR/log/$svc.log"
    setsid "$BUILD/wz-$svc" -c "$CONFIG" </dev/null >>"$VAR/log/$svc.log" 2>&1 &
    svc_pids+=($!)
    echo "$svc $!" >>"$PIDS"
done
for i in "${!SERVICES[@]}"; do
    svc=${SERVICES[$i]}
    for _ in $(seq 200); do
        grep -q '"msg":"started"' "$VAR/log/$svc.log" && break
        kill -0 "${svc_pids[$i]}" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q '"msg":"started"' "$VAR/log/$svc.log"; then
        tail -5 "$VAR/log/$svc.log" >&2
        die "wz-$svc did not start within 20 s; see var/log/$svc.log"
    fi
    say "wz-$svc up ($(grep -m1 '"msg":"started"' "$VAR/log/$svc.log" |
        grep -oE '"(endpoint|publish)":"[^"]*"' | tr -d '"' | tr '\n' ' ' | sed 's/ $//'))"
done

if [ $demo -eq 1 ]; then
    if ! WZCTL="${WZCTL[*]}" bash scripts/demo.sh; then
        echo "the demo did not run to its end (see above and var/log/)" >&2
        [ "${RUN_DEMO_ONLY:-0}" = 1 ] && exit 1
    fi
fi
AUDIT_HTTP=$(wz_yaml_get "$CONFIG" audit http)
DASHBOARD="http://$AUDIT_HTTP/dashboard/?region=zkij"
if [ $demo -eq 1 ]; then
    say "what the municipality sees: wzctl --as gem-haarlem report --period year --by region"
    "${WZCTL[@]}" --as gem-haarlem report --period year --by region | sed 's/^/    /' || true
fi
if [ "${RUN_DEMO_ONLY:-0}" = 1 ]; then
    say "dashboard (served while the suite runs; this run stops now): $DASHBOARD"
    exit 0
fi

W="$BUILD/wzctl -c $CONFIG"
cat <<PANEL

──────────────────────────────────────────────────────────────────────────────
 The suite is up; logs in var/log/. In another terminal, try:
 as a corporation
   $W --as pre-wonen publish $ROOT/config/demo/try/PW-2025-0157.yaml
   $W --as ymere status vacancy YM-2025-0871
 as a care provider
   $W --as ribw-kam listen --timeout 5
   $W --as welschap-socius answer YM-2025-0871/2 accept
 as the municipality
   $W --as gem-haarlem listen --timeout 5
   $W --as gem-haarlem audit tail -n 10
 reports from the audit trail
   $W --as gem-haarlem report --period quarter
   $W --as gem-almere report --csv
 everything else: $W --help
 Ctrl-C here stops everything.
──────────────────────────────────────────────────────────────────────────────
 Dashboard with the demo data (read-only, this machine only):
   $DASHBOARD
   (also Almere: http://$AUDIT_HTTP/dashboard/?region=almere)
──────────────────────────────────────────────────────────────────────────────
PANEL

# Stay up until Ctrl-C (the trap exits 0), or until a service dies.
set +e
wait -n "${svc_pids[@]}"
status=$?
set -e
for i in "${!SERVICES[@]}"; do
    if ! kill -0 "${svc_pids[$i]}" 2>/dev/null; then
        echo "wz-${SERVICES[$i]} exited unexpectedly (status $status); see var/log/${SERVICES[$i]}.log" >&2
    fi
done
exit 1

#!/usr/bin/env bash
# tests/netns/run.sh BUILD_DIR: the suite across "nodes". Redis, the four
# services and a party each run in a network namespace of their own, joined
# by veth pairs to a bridge in a hub namespace, so they talk over distinct
# addresses as they would across machines (192.0.2.0/24, the documentation
# range, which exists only inside these namespaces). While matching's link
# is cut, a corporation publishes three vacancies; after the link is back,
# every one of them must reach its outcome and every delivery must arrive:
# nothing is lost, only delayed.
#
# Needs root (ip netns); exits 77, which CTest reports as skipped, with the
# reason when it cannot create namespaces. Cleans up every process and
# namespace, also on failure.
set -euo pipefail
build=$(readlink -f "${1:?usage: tests/netns/run.sh BUILD_DIR}")
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/scripts/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (ip netns); run the suite as root to include it"
command -v ip >/dev/null || skip "ip (iproute2) not installed"
command -v redis-server >/dev/null || fail "redis-server not installed"

tag=wz$$
hub=$tag-hub
declare -A addr=([redis]=192.0.2.2 [intake]=192.0.2.3 [matching]=192.0.2.4
    [notification]=192.0.2.5 [audit]=192.0.2.6 [party]=192.0.2.9)
nodes=(redis intake matching notification audit party)
services=(intake matching notification audit)
work=$(mktemp -d /tmp/wz-netns-XXXXXX)
declare -A pid=()

cleanup() {
    local status=$?
    for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
    for n in "${!pid[@]}"; do
        for _ in $(seq 50); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${pid[$n]}" 2>/dev/null || true
    done
    # Safety net: anything still running on this run's files, by pid.
    for p in /proc/[0-9]*; do
        grep -qsF "$work" "$p/cmdline" && kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
    for n in "${nodes[@]}"; do ip netns del "$tag-$n" 2>/dev/null || true; done
    ip netns del "$hub" 2>/dev/null || true
    if [ $status -ne 0 ] && [ $status -ne 77 ]; then
        for f in "$work"/*.log; do echo "--- ${f##*/} (last lines)"; tail -n 15 "$f"; done >&2
    fi
    [ "${WZ_KEEP_TEST_DIR:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
    exit $status
}
trap cleanup EXIT

# --- the network -------------------------------------------------------------
ip netns add "$hub" 2>"$work/netns.err" || skip "cannot create a network namespace: $(cat "$work/netns.err")"
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
i=0
for n in "${nodes[@]}"; do
    i=$((i + 1))
    ip netns add "$tag-$n"
    ip -n "$hub" link add "v$i" type veth peer name eth0 netns "$tag-$n"
    ip -n "$hub" link set "v$i" master br0 up
    ip -n "$tag-$n" addr add "${addr[$n]}/24" dev eth0
    ip -n "$tag-$n" link set eth0 up
    ip -n "$tag-$n" link set lo up
    eval "link_$n=v$i"
done
on() { local n=$1; shift; ip netns exec "$tag-$n" "$@"; }

# --- configuration, keys ------------------------------------------------------
mkdir -p "$work/config" "$work/keys" "$work/redis"
cp "$root/config/policy.yaml" "$work/config/policy.yaml"
cat >"$work/config/woonzorg.yaml" <<EOF
log_level: info
keys_dir: ../keys
policy: policy.yaml
redis: {host: ${addr[redis]}, port: 6379, acl_users: true, connect_timeout_ms: 500, command_timeout_ms: 1000}
heartbeat_ms: 200
catch_up_ms: 500
drain_ms: 1000
intake: {endpoint: "tcp://${addr[intake]}:7701", publish: "tcp://${addr[intake]}:7702", http: "${addr[intake]}:8080"}
matching: {publish: "tcp://${addr[matching]}:7711", http: "${addr[matching]}:8080"}
notification: {endpoint: "tcp://${addr[notification]}:7721", publish: "tcp://${addr[notification]}:7722", http: "${addr[notification]}:8080"}
audit: {endpoint: "tcp://${addr[audit]}:7731", http: "${addr[audit]}:8080"}
EOF
cfg=$work/config/woonzorg.yaml
mapfile -t parties < <(wz_policy_parties "$work/config/policy.yaml")
"$build/wzctl" -c "$cfg" keygen --dir "$work/keys" "${services[@]}" "${parties[@]}" >/dev/null
# Each service logs in as its own Redis user, as in production.
"$build/wzctl" -c "$cfg" redis-acl "$work/redis.acl" >/dev/null

# --- start everything, each in its namespace ----------------------------------
ip netns exec "$tag-redis" redis-server --bind "${addr[redis]}" --port 6379 --dir "$work/redis" \
    --aclfile "$work/redis.acl" --appendonly yes --save "" >"$work/redis.log" 2>&1 &
pid[redis]=$!
for s in "${services[@]}"; do
    # Not through a shell function: $! must be the service itself.
    ip netns exec "$tag-$s" "$build/wz-$s" -c "$cfg" >"$work/$s.log" 2>&1 &
    pid[$s]=$!
done

# GET path from service's health port, from the party's namespace (bash's
# /dev/tcp: nothing else to install). Prints the status code, or 000.
http_status() {
    on party timeout 3 bash -c "exec 3<>/dev/tcp/${addr[$1]}/8080 && printf 'GET $2 HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3" \
        2>/dev/null | awk '{print $2}' || echo 000
}
metric() {
    on party timeout 3 bash -c "exec 3<>/dev/tcp/${addr[$1]}/8080 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3" \
        2>/dev/null | awk -v s="$2" '$1 == s {print $2}'
}
wait_for() { # wait_for SECONDS WHAT COMMAND...: polls until COMMAND succeeds
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for $what"
        sleep 0.2
    done
}
all_ready() { for s in "${services[@]}"; do [ "$(http_status "$s" /readyz)" = 200 ] || return 1; done; }
wait_for 60 "every service ready across the namespaces" all_ready

wz() { on party "$build/wzctl" -c "$cfg" --timeout 10000 "$@"; }
wz --as ribw-kam register "$root/config/demo/kam-0012.yaml" >/dev/null
wz --as gem-haarlem grant-urgency kam-0012 >/dev/null  # today: inside every urgency window
active() { [ "$(metric matching 'wz_events_in_total{producer="intake",type="urgency_granted"}')" = 1 ]; }
wait_for 20 "kam-0012's urgency applied by matching" active

# --- cut matching off, work on, restore ----------------------------------------
for n in 1 2 3; do
    sed -e "s/^id: PW-2025-0142/id: PW-NETNS-$n/" "$root/config/demo/PW-2025-0142.yaml" >"$work/vacancy-$n.yaml"
done
ip -n "$hub" link set "$link_matching" down
echo "link to matching cut"
for n in 1 2 3; do wz --as pre-wonen publish "$work/vacancy-$n.yaml" >/dev/null; done
# Matching cannot hear intake nor reach Redis: not ready, no outcome yet.
sleep 3 # the partition itself is what is tested: it must last a few seconds
[ "$(metric matching wz_proposals_total{outcome=\"created\"})" = "" ] ||
    fail "matching made a proposal while cut off"
ip -n "$hub" link set "$link_matching" up
echo "link to matching restored"

# --- nothing lost ---------------------------------------------------------------
matching_ready() { [ "$(http_status matching /readyz)" = 200 ]; }
wait_for 60 "matching ready again" matching_ready
outcomes() {
    wz --as pre-wonen --json listen --timeout 3 >>"$work/pre-wonen.jsonl" 2>>"$work/listen.err" || true
    local created released
    created=$(grep -c '"type":"proposal_created"' "$work/pre-wonen.jsonl" || true)
    released=$(grep -c '"type":"vacancy_released"' "$work/pre-wonen.jsonl" || true)
    [ "$created" -eq 1 ] && [ "$released" -eq 2 ]
}
wait_for 90 "one proposal and two releases for the three vacancies" outcomes
for n in 1 2 3; do
    grep -q "PW-NETNS-$n" "$work/pre-wonen.jsonl" || fail "no outcome for PW-NETNS-$n"
done
# The care provider got the proposal, the municipality every publication.
wz --as ribw-kam --json listen --timeout 3 >"$work/ribw-kam.jsonl" 2>/dev/null || true
grep -q '"type":"proposal_created"' "$work/ribw-kam.jsonl" || fail "ribw-kam got no proposal"
wz --as gem-haarlem --json listen --timeout 3 >"$work/gem-haarlem.jsonl" 2>/dev/null || true
[ "$(grep -c '"type":"vacancy_published"' "$work/gem-haarlem.jsonl")" -eq 3 ] ||
    fail "gem-haarlem did not get the three publications"
caught=$(metric matching 'wz_catch_ups_total{producer="intake"}')
[ "${caught:-0}" -ge 1 ] || fail "matching never caught up from Redis (catch-ups: ${caught:-none})"
wait_for 30 "every service ready at the end" all_ready

# --- clean stop -------------------------------------------------------------------
for s in "${services[@]}"; do kill -TERM "${pid[$s]}"; done
for s in "${services[@]}"; do
    rc=0
    wait "${pid[$s]}" || rc=$?
    unset "pid[$s]"
    [ $rc -eq 0 ] || fail "wz-$s exited with $rc on SIGTERM"
done
echo "netns: 6 namespaces, matching cut off for 3 s: 3 of 3 vacancies reached their outcome, every delivery arrived, matching caught up $caught time(s)"

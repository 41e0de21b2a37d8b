#!/usr/bin/env bash
# tests/deploy/run.sh WZCTL: CI's check of everything under deploy/ and the
# Containerfile, without a cluster or a container engine:
#   1. every overlay renders with `kubectl kustomize` (secrets made by
#      deploy/make-secrets.sh in a scratch copy, as an operator would);
#   2. validate.mjs checks every rendered object against the Kubernetes
#      schemas (kubernetes-models) and rejects unknown keys, then our rules;
#   3. its self-test proves the checks catch what they are for (a misspelt
#      readinessProbe, an unused Secret, a NetworkPolicy port nobody has...);
#   4. the Containerfile is linted (dockerfile-utils and our rules), and a
#      broken one must be refused;
#   5. the init containers' key installer gives the modes the services need.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
wzctl=$(readlink -f "${1:?usage: tests/deploy/run.sh WZCTL}")
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node not found (Debian: apt-get install nodejs npm)"
command -v kubectl >/dev/null ||
    fail "kubectl not found: install kubectl >= 1.27 (its kustomize renders deploy/; Debian 12's kubernetes-client 1.20 is too old)"
cd "$root/tests/deploy"
[ -d node_modules/kubernetes-models ] || npm ci --no-audit --no-fund >/dev/null
scratch=$(mktemp -d /tmp/wz-deploy-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/deploy" "$root/config" "$root/scripts" "$scratch/"
rm -rf "$scratch"/deploy/overlays/*/secrets

for overlay in local production; do
    bash "$scratch/deploy/make-secrets.sh" "$scratch/deploy/overlays/$overlay" "$wzctl" >/dev/null
    kubectl kustomize --load-restrictor LoadRestrictionsNone "$scratch/deploy/overlays/$overlay" \
        >"$scratch/$overlay.yaml" || fail "kubectl kustomize deploy/overlays/$overlay"
    extra=()
    [ "$overlay" = production ] && extra=(--expect-shards --expect-internal-curve)
    node validate.mjs --policy "$root/config/policy.yaml" "${extra[@]}" "$scratch/$overlay.yaml" ||
        fail "deploy/overlays/$overlay does not validate"
    node validate.mjs --policy "$root/config/policy.yaml" "${extra[@]}" --self-test \
        "$scratch/$overlay.yaml" || fail "the checks missed a known mistake on $overlay"
done
# Production's Redis fsyncs every write.
grep -q 'appendfsync always' "$scratch/production.yaml" || fail "production Redis is not appendfsync always"

node validate.mjs --containerfile "$root/Containerfile" || fail "Containerfile lint"
sed -e 's/^USER 10001:10001$/USER root/' -e 's/--no-install-recommends //' \
    "$root/Containerfile" >"$scratch/Containerfile.bad"
if node validate.mjs --containerfile "$scratch/Containerfile.bad" >/dev/null; then
    fail "the Containerfile lint accepted a root user and recommends"
fi

# The init container's key installer, on a fixture like the mounted Secrets.
mkdir -p "$scratch/secrets/own" "$scratch/secrets/public" "$scratch/keys"
keys=$scratch/deploy/overlays/local/secrets
cp "$keys/keys/intake.key" "$keys/keys/redis-intake.pass" "$scratch/secrets/own/"
chmod 0440 "$scratch/secrets/own/intake.key" "$scratch/secrets/own/redis-intake.pass"
cp "$keys/public-keys" "$scratch/secrets/public/public-keys"
WZ_SECRETS_DIR=$scratch/secrets sh "$root/deploy/image/wz-install-keys" "$scratch/keys" 2>/dev/null ||
    fail "wz-install-keys failed on good secrets"
[ "$(stat -c %a "$scratch/keys/intake.key")" = 600 ] || fail "intake.key is not 0600"
cmp -s "$scratch/keys/intake.key" "$keys/keys/intake.key" || fail "intake.key changed on the way"
[ "$(stat -c %a "$scratch/keys/redis-intake.pass")" = 600 ] || fail "redis-intake.pass is not 0600"
while read -r name key; do
    case $name in '#'*) continue ;; esac
    grep -qF "public-key = \"$key\"" "$scratch/keys/$name.pub" || fail "$name.pub wrong"
    cmp -s <(sed -n 's/^public-key = //p' "$scratch/keys/$name.pub") \
        <(sed -n 's/^public-key = //p' "$keys/keys/$name.pub") || fail "$name.pub differs from wzctl's"
done <"$keys/public-keys"
# A party gone from the bundle loses its key; the audit signing key stays.
touch "$scratch/keys/gone-party.pub" "$scratch/keys/audit-sign.pub"
WZ_SECRETS_DIR=$scratch/secrets sh "$root/deploy/image/wz-install-keys" "$scratch/keys" 2>/dev/null
[ ! -e "$scratch/keys/gone-party.pub" ] || fail "wz-install-keys kept the key of a party no longer listed"
[ -e "$scratch/keys/audit-sign.pub" ] || fail "wz-install-keys removed audit-sign.pub"
WZ_SECRETS_DIR=$scratch/secrets sh "$root/deploy/image/wz-install-keys" "$scratch/fresh/dir" 2>/dev/null
[ -s "$scratch/fresh/dir/intake.key" ] || fail "wz-install-keys did not create its directory"
echo "bad/id $(head -c 40 /dev/zero | tr '\0' a)" >"$scratch/secrets/public/public-keys"
if WZ_SECRETS_DIR=$scratch/secrets sh "$root/deploy/image/wz-install-keys" "$scratch/keys" 2>/dev/null; then
    fail "wz-install-keys accepted a party id with a slash"
fi
# The rendered Secrets fit together: a redis-server with the ACL file of
# wz-redis-acl lets each service in with the password of its own Secret
# (and the operator with wz-redis-operator's), and the default user not.
node -e '
const fs = require("fs"), { parseAllDocuments } = require("yaml");
const out = process.argv[2];
for (const d of parseAllDocuments(fs.readFileSync(process.argv[1], "utf8"))) {
  const o = d.toJS();
  if (!o || o.kind !== "Secret") continue;
  for (const [k, v] of Object.entries(o.data ?? {}))
    fs.writeFileSync(`${out}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, "")}.${k}`, Buffer.from(String(v).replace(/\s+/g, ""), "base64"));
}' "$scratch/local.yaml" "$scratch/secrets" || fail "cannot read the rendered Secrets"
# On a Unix socket in the scratch directory: no port to collide with.
sock=$scratch/redis.sock
redis-server --port 0 --unixsocket "$sock" --save "" --appendonly no \
    --aclfile "$scratch/secrets/wz-redis-acl.users.acl" >"$scratch/redis.log" 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
login() { REDISCLI_AUTH=$(cat "$2") redis-cli -s "$sock" --user "$1" --no-auth-warning ping 2>&1; }
for s in intake matching notification audit; do
    [ "$(login "wz-$s" "$scratch/secrets/wz-$s.redis-$s.pass")" = PONG ] ||
        fail "wz-$s cannot log in to Redis with the password of Secret wz-$s"
done
[ "$(login wz-operator "$scratch/secrets/wz-redis-operator.password")" = PONG ] ||
    fail "the probes' wz-operator cannot log in"
[ "$(redis-cli -s "$sock" ping 2>&1)" != PONG ] || fail "Redis lets the default user in"
kill "$redis_pid"

echo "deploy: overlays local and production render and validate; the checks catch the known mistakes; Containerfile lint ok; key installer ok; Secrets and Redis ACL fit"

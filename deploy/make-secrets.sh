#!/usr/bin/env bash
# make-secrets.sh OVERLAY_DIR [WZCTL]: creates what the overlay's
# secretGenerator reads, in OVERLAY_DIR/secrets/ (git-ignored, mode 0700):
#   keys/<service>.key   CURVE key pairs of intake, matching, notification and
#                        audit (matching's for the events over CURVE)
#   keys/redis-<name>.pass  Redis ACL passwords of wz-intake, wz-matching,
#                        wz-notification, wz-audit and the read-only wz-operator
#   redis.acl            the ACL file for redis-server (SHA-256 of those only)
#   public-keys          "<party> <public key>" per line, for every party of
#                        config/policy.yaml (and the four services)
# Existing files are kept (keygen never overwrites a key: rotation is a
# deliberate step, see docs/deploy.md). WZCTL defaults to build/wzctl.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
overlay=${1:?usage: deploy/make-secrets.sh OVERLAY_DIR [WZCTL]}
wzctl=${2:-build/wzctl}
[ -x "$wzctl" ] || die "$wzctl not found: build it first (scripts/run.sh builds build/wzctl)"
[ -f "$overlay/kustomization.yaml" ] || die "$overlay is not an overlay (no kustomization.yaml)"
out=$(cd "$overlay" && pwd)/secrets
mkdir -p "$out/keys"
chmod 700 "$out" "$out/keys"
mapfile -t parties < <(wz_policy_parties config/policy.yaml)
[ ${#parties[@]} -gt 0 ] || die "no parties in config/policy.yaml"
services=(intake matching notification audit)
# Party key pairs are made here only so that a test cluster works; real
# parties make their own and hand over the public key (docs/deploy.md).
for name in "${services[@]}" "${parties[@]}"; do
    [ -e "$out/keys/$name.key" ] || [ -e "$out/keys/$name.pub" ] ||
        "$wzctl" -c config/woonzorg.yaml keygen --dir "$out/keys" "$name" >/dev/null
done
{
    echo "# <party or service> <CURVE public key>, from deploy/make-secrets.sh"
    for name in "${services[@]}" "${parties[@]}"; do
        key=$(sed -n 's/^public-key = "\(.*\)"$/\1/p' "$out/keys/$name.pub")
        [ ${#key} -eq 40 ] || die "$out/keys/$name.pub holds no public key"
        printf '%s %s\n' "$name" "$key"
    done
} >"$out/public-keys"
# One Redis user per service with only its own writes (docs/security.md);
# missing passwords are made, existing ones kept.
WZ_KEYS_DIR=$out/keys "$wzctl" -c config/woonzorg.yaml redis-acl "$out/redis.acl" >/dev/null
chmod 600 "$out/redis.acl" "$out/public-keys"
echo "secrets for $overlay in $out"

#!/usr/bin/env bash
# A scripted day in the Pact voor uitstroom (Zuid-Kennemerland & IJmond) and
# the Almere Doorstartregeling, played against the running suite with wzctl;
# each party acts with its own CURVE key. run.sh calls it with WZCTL set
# ("<path>/wzctl -c <config>"); it can also be run again by hand against a
# fresh database. Background listeners write every party's deliveries as
# JSON lines to var/log/listen-<party>.jsonl; the story waits on those (with
# a deadline) and tells what each party received.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a WZ <<<"${WZCTL:-build/wzctl -c config/woonzorg.yaml}"
POLICY=config/policy.yaml
LOG=var/log
DEMO=config/demo
WAIT_S=15
step=0
mkdir -p "$LOG"

as() { local party=$1; shift; "${WZ[@]}" --as "$party" "$@"; }
title() { step=$((step + 1)); printf '\n\033[1m%2d. %s\033[0m\n' "$step" "$*"; }
tell() { printf '    %s\n' "$*"; }
# Runs a party's command and indents what it says (errors included).
do_as() { as "$@" 2>&1 | sed 's/^/    /'; }

# --- reading the policy, the demo files and JSON lines ------------------------
# The display name of a party ("Pré Wonen" for pre-wonen).
pname() {
    awk -v id="$1" '
        match($0, "[{ ]id: *" id "[ ,]") && match($0, /name: *[^,}]+/) {
            s = substr($0, RSTART, RLENGTH); sub(/name: */, "", s); print s; found = 1; exit
        }
        END { if (!found) print id }' "$POLICY"
}
# The name of a CBS neighbourhood code.
nname() {
    awk -v code="$1" '$0 ~ "code: *" code "[ ,]" && match($0, /name: *[^,}]+/) {
        s = substr($0, RSTART, RLENGTH); sub(/name: */, "", s); print s; exit }' "$POLICY"
}
# A scalar of a demo YAML file.
yget() { awk -v k="$2" '$0 ~ "^" k ":" { sub(/^[^:]*:[ \t]*/, ""); sub(/[ \t]+#.*/, ""); print; exit }' "$1"; }
# The first "key":"string" or "key":number of a JSON line.
jget() {
    { grep -oE "\"$2\":(\"[^\"]*\"|[0-9]+)" <<<"$1" || true; } | head -1 |
        sed -E "s/^\"$2\"://; s/^\"//; s/\"\$//"
}

# "2 rooms, 48 m², €612.50, Kruisstraat 12 zwart, Haarlem (Vijfhoek)"
describe() {
    local f=$1 m
    m=$(yget "$f" municipality)
    local rooms
    rooms=$(yget "$f" rooms)
    printf '%s room%s, %s m², €%s, %s, %s (%s)' "$rooms" "$([ "$rooms" = 1 ] || echo s)" "$(yget "$f" floor_area_m2)" \
        "$(yget "$f" rent)" "$(yget "$f" address)" "${m^}" "$(nname "$(yget "$f" neighbourhood)")"
}

# --- listeners -------------------------------------------------------------------
LISTENERS=(ribw-kam dock welschap-socius leger-des-heils pre-wonen ymere elan-wonen de-alliantie
    gem-haarlem gem-velsen gem-zandvoort gem-almere)
listener_pids=()
stop_listeners() {
    local pid
    for pid in "${listener_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${listener_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    listener_pids=()
}
trap stop_listeners EXIT
trap 'exit 130' INT TERM

# expect PARTY EVENT_TYPE ID [REASON]: waits until the party's listener wrote
# a delivery of that event type mentioning "id":"ID" (and with that reason),
# prints it as a sentence.
expect() {
    local party=$1 type=$2 id=$3 reason=${4:-} file=$LOG/listen-$1.jsonl line=
    local deadline=$((SECONDS + WAIT_S))
    while :; do
        # id":"ID" matches "id", "vacancy_id" and "candidate_id" alike.
        line=$(grep -F "\"type\":\"$type\"" "$file" 2>/dev/null | grep -F "id\":\"$id\"" |
            grep -F "\"reason\":\"$reason" | tail -1) || true
        [ -n "$line" ] && break
        if [ $SECONDS -ge $deadline ]; then
            echo "    !! $party did not receive $type for $id within ${WAIT_S} s (see $file)" >&2
            return 1
        fi
        sleep 0.1
    done
    local seq why what cand
    seq=$(jget "$line" seq)
    why=$(jget "$line" reason)
    cand=$(jget "$line" candidate_id)
    case $type in
    urgency_granted) what="urgency granted to $id as of $(jget "$line" date)" ;;
    proposal_created)
        local ms
        ms=$(jget "$line" deadline_ms)
        what="proposal $id: candidate $cand, answer before $(date -d "@$((ms / 1000))" '+%-d %b %H:%M')" ;;
    proposal_answered)
        if grep -q '"accepted":true' <<<"$line"; then
            what="proposal $id accepted"
        else
            local r
            r=$(grep -oE '"accepted":false,"reason":"[^"]*"' <<<"$line" | sed -E 's/.*"reason":"//; s/"$//') || true
            what="proposal $id declined${r:+: \"$r\"}"
        fi ;;
    vacancy_let) what="vacancy $id let to candidate $cand ($(jget "$line" contract | tr 'A-Z_' 'a-z-') lease)" ;;
    vacancy_released) what="vacancy $id back to regular allocation" ;;
    nomination_requested) what="nominate a candidate for vacancy $id" ;;
    proposal_advanced) what="proposal $id: now at step '$(jget "$line" step)'" ;;
    *) what="${type//_/ } $id" ;;
    esac
    printf '    \033[2m→\033[0m %s, #%s (%s): %s\n' "$(pname "$party")" "$seq" "$why" "$what"
    # Why matching chose this candidate, or nobody: told to whom it concerns.
    if [ "$why" = proposal ] || [ "$why" = released ]; then
        printf '        %s\n' "$(jget "$line" summary)"
    fi
}

# wait_state PARTY VACANCY STATE: polls the vacancy's status (as PARTY) until
# matching has moved it to STATE (lower case), with a deadline.
wait_state() {
    local deadline=$((SECONDS + WAIT_S)) state=
    while :; do
        state=$(jget "$(as "$1" --json status vacancy "$2" 2>/dev/null || true)" state | tr '[:upper:]' '[:lower:]')
        [ "$state" = "$3" ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            echo "    !! vacancy $2 is '$state', not '$3', after ${WAIT_S} s" >&2
            return 1
        fi
        sleep 0.1
    done
}

title "Care providers, corporations and municipalities open their mailboxes"
for party in "${LISTENERS[@]}"; do
    : >"$LOG/listen-$party.jsonl"
    # A plain command in the background, so $! is wzctl itself.
    "${WZ[@]}" --as "$party" --json listen >>"$LOG/listen-$party.jsonl" 2>>"$LOG/listen-$party.err" &
    listener_pids+=($!)
done
tell "${#LISTENERS[@]} parties listen, each with its own key and only to its own mailbox"
tell "(their deliveries are written to var/log/listen-<party>.jsonl)."

title "Care providers register the people who are ready to move on (pseudonymous ids only)"
for c in ribw-kam:kam-0012 ribw-kam:kam-0031 dock:dock-0207 welschap-socius:ws-0102 \
    leger-des-heils:ldh-0044; do
    party=${c%%:*} id=${c#*:}
    printf '    %-34s ' "$(pname "$party")"
    as "$party" register "$DEMO/$id.yaml"
done

title "Municipalities grant urgency under their housing ordinance"
# Urgency has a window (4 months in Zuid-Kennemerland & IJmond, 6 in Almere),
# so the dates are counted back from today: kam-0012 has waited longest.
ago() { date -u -d "-$1 days" +%F; }
for g in gem-haarlem:kam-0012:$(ago 75) gem-haarlem:kam-0031:$(ago 20) \
    gem-velsen:dock-0207:$(ago 90) gem-velsen:ws-0102:$(ago 30) gem-almere:ldh-0044:$(ago 60); do
    IFS=: read -r party id date <<<"$g"
    printf '    %-34s ' "$(pname "$party")"
    as "$party" grant-urgency "$id" --date "$date"
done
expect ribw-kam urgency_granted kam-0031
expect leger-des-heils urgency_granted ldh-0044
tell "Velsen may not grant urgency to a Haarlem candidate; the suite says why:"
printf '    %-34s ' "$(pname gem-velsen)"
as gem-velsen grant-urgency kam-0031 2>&1 || true

title "Pré Wonen publishes PW-2025-0142: $(describe "$DEMO/PW-2025-0142.yaml")"
do_as pre-wonen publish "$DEMO/PW-2025-0142.yaml"
expect ribw-kam proposal_created PW-2025-0142/1 proposal
expect pre-wonen proposal_created PW-2025-0142/1
expect gem-haarlem proposal_created PW-2025-0142/1
tell "Two candidates fit; kam-0012 has had urgency longest ($(ago 75)) and comes first."
tell "The municipality asks matching why, and replays the decision from its snapshot:"
do_as gem-haarlem explain PW-2025-0142/1 --replay

title "RIBW K/AM accepts with its client; after the viewing Pré Wonen signs a three-party lease"
do_as ribw-kam answer PW-2025-0142/1 accept
expect pre-wonen proposal_answered PW-2025-0142/1
expect pre-wonen proposal_advanced PW-2025-0142/1
wait_state pre-wonen PW-2025-0142 accepted
tell "The scheme's route: answer (care provider) -> viewing (corporation) -> lease."
tell "Signing before the viewing is confirmed is refused:"
do_as pre-wonen signed PW-2025-0142 --contract three-party || true
do_as pre-wonen confirm PW-2025-0142/1 viewing ok
do_as pre-wonen signed PW-2025-0142 --contract three-party
expect ribw-kam vacancy_let PW-2025-0142
expect pre-wonen vacancy_let PW-2025-0142
expect gem-haarlem vacancy_let PW-2025-0142

title "Ymere publishes YM-2025-0871: $(describe "$DEMO/YM-2025-0871.yaml")"
do_as ymere publish "$DEMO/YM-2025-0871.yaml"
expect dock proposal_created YM-2025-0871/1 proposal
expect gem-velsen proposal_created YM-2025-0871/1
tell "DOCK's client, a mother with her son, declines: the son's school is too far away."
do_as dock answer YM-2025-0871/1 decline --reason "dwelling_unsuitable: school van zoon te ver weg"
expect ymere proposal_answered YM-2025-0871/1
expect welschap-socius proposal_created YM-2025-0871/2 proposal
expect gem-velsen proposal_created YM-2025-0871/2
tell "The flat went on to the next eligible candidate at once: ws-0102 of WelschapSocius."
tell "'dwelling_unsuitable' is no refusal in the policy, so dock-0207 keeps its urgency."

title "Elan Wonen publishes EW-2025-0033: $(describe "$DEMO/EW-2025-0033.yaml")"
do_as elan-wonen publish "$DEMO/EW-2025-0033.yaml"
expect elan-wonen vacancy_released EW-2025-0033
expect gem-zandvoort vacancy_released EW-2025-0033
tell "Nobody in the pact can take it now, so the house returns to regular allocation"
tell "straight away, with the count per rule for the corporation and the municipality."

title "Almere: De Alliantie publishes DA-2025-1204: $(describe "$DEMO/DA-2025-1204.yaml")"
do_as de-alliantie publish "$DEMO/DA-2025-1204.yaml"
tell "Almere's scheme works by nomination: the rotation asks Leger des Heils first."
expect leger-des-heils nomination_requested DA-2025-1204 nominate
do_as leger-des-heils nominate DA-2025-1204 ldh-0044
expect leger-des-heils proposal_created DA-2025-1204/1 proposal
expect gem-almere proposal_created DA-2025-1204/1
tell "ldh-0044 is under 23, so the rent had to stay below €477.20. Almere is its own"
tell "region: no party of Zuid-Kennemerland & IJmond saw any of this."
for party in ribw-kam dock welschap-socius pre-wonen gem-haarlem gem-velsen; do
    if grep -q 'DA-2025-1204' "$LOG/listen-$party.jsonl"; then
        echo "    !! $party received an Almere delivery" >&2
        exit 1
    fi
done

title "The municipality of Haarlem reads the tamper-evident audit trail (last 10 entries)"
do_as gem-haarlem audit tail -n 10

title "The operator verifies every region's chain against the signed checkpoints"
tell "(SHA-256 links in Redis; Ed25519-signed checkpoints in var/audit, outside Redis)"
# The newest entries may not be signed yet; verify checks what is there.
if ! "${WZ[@]}" audit verify 2>&1 | sed 's/^/    /'; then
    echo "    !! the audit chain does not verify" >&2
    exit 1
fi

title "Where everything stands"
for v in pre-wonen:PW-2025-0142 ymere:YM-2025-0871 elan-wonen:EW-2025-0033 \
    de-alliantie:DA-2025-1204; do
    party=${v%%:*} id=${v#*:}
    line=$(as "$party" --json status vacancy "$id")
    proposal=$(jget "$line" proposal_id)
    printf '    %-14s %-9s %-16s %s\n' "$id" "$(jget "$line" state | tr '[:upper:]' '[:lower:]')" \
        "${proposal:--}" "$(pname "$party")"
done
stop_listeners
echo

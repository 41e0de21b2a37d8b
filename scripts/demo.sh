#!/usr/bin/env bash
# A scripted day in the Pact voor uitstroom (Zuid-Kennemerland & IJmond) and
# the Almere Doorstartregeling, played against the running suite with wzctl.
# Called by run.sh with WZCTL set; each party acts with its own CURVE key.
set -euo pipefail
cd "$(dirname "$0")/.."
WZCTL=${WZCTL:-build/wzctl -c config/woonzorg.yaml}
LOG=var/log
DEMO=config/demo
step=0

as() { local party=$1; shift; $WZCTL --as "$party" "$@"; }
title() { step=$((step + 1)); printf '\n\033[1m%2d. %s\033[0m\n' "$step" "$*"; }
tell() { printf '    %s\n' "$*"; }

# Waits until a party's listener has printed a line matching pattern.
expect() {
    local party=$1 pattern=$2 file=$LOG/listen-$1.txt
    for _ in $(seq 150); do
        if grep -q -- "$pattern" "$file" 2>/dev/null; then
            grep -- "$pattern" "$file" | tail -1 | sed "s/^/    [$party] /"
            return 0
        fi
        sleep 0.1
    done
    echo "    [$party] expected '$pattern' but it did not arrive; see $file" >&2
    return 1
}

# Prints the explanation line that follows a delivery in a listener's output.
explain() {
    grep -A1 -- "$2" "$LOG/listen-$1.txt" | tail -1 | sed "s/^ */    [$1]     /"
}

listeners=()
stop_listeners() {
    for pid in "${listeners[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${listeners[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_listeners EXIT

title "Care providers, corporations and municipalities connect to their mailboxes"
for party in ribw-kam dock welschap-socius leger-des-heils pre-wonen ymere elan-wonen \
    de-alliantie gem-haarlem gem-velsen gem-zandvoort gem-almere; do
    : >"$LOG/listen-$party.txt"
    as "$party" listen >>"$LOG/listen-$party.txt" 2>&1 &
    listeners+=($!)
done
tell "12 parties listen, each with its own key; each sees only its own mailbox."

title "Care providers register the people who are ready to move on (pseudonymous)"
for c in ribw-kam:kam-0012 ribw-kam:kam-0031 dock:dock-0207 welschap-socius:ws-0102 \
    leger-des-heils:ldh-0044; do
    party=${c%%:*} id=${c#*:}
    printf '    %-16s ' "$party"
    as "$party" register "$DEMO/$id.yaml"
done

title "Municipalities grant urgency under their housing ordinance"
as gem-haarlem grant-urgency kam-0012 --date 2025-03-04 | sed 's/^/    gem-haarlem      /'
as gem-haarlem grant-urgency kam-0031 --date 2025-06-10 | sed 's/^/    gem-haarlem      /'
as gem-velsen grant-urgency dock-0207 --date 2025-02-17 | sed 's/^/    gem-velsen       /'
as gem-velsen grant-urgency ws-0102 --date 2025-05-26 | sed 's/^/    gem-velsen       /'
as gem-almere grant-urgency ldh-0044 --date 2025-04-01 | sed 's/^/    gem-almere       /'
tell "Velsen may not grant urgency to a Haarlem candidate:"
as gem-velsen grant-urgency kam-0031 2>&1 | sed 's/^/    gem-velsen       /' || true

title "Pré Wonen publishes a ground-floor flat in the Haarlem Vijfhoek (€612.50, 2 rooms)"
as pre-wonen publish "$DEMO/PW-2025-0142.yaml" | sed 's/^/    /'
expect ribw-kam "proposal created  PW-2025-0142/1"
explain ribw-kam "proposal created  PW-2025-0142/1"
expect gem-haarlem "proposal created  PW-2025-0142/1"
expect pre-wonen "proposal created  PW-2025-0142/1"
tell "kam-0012 waits longest (since 4 March); kam-0031 is eligible too and ranks second."

title "RIBW K/AM accepts with its client; after the viewing Pré Wonen signs a three-party lease"
as ribw-kam answer PW-2025-0142/1 accept | sed 's/^/    /'
expect pre-wonen "proposal accepted  PW-2025-0142/1"
as pre-wonen signed PW-2025-0142 --contract three-party | sed 's/^/    /'
expect ribw-kam "vacancy let  PW-2025-0142"
expect gem-haarlem "vacancy let  PW-2025-0142"

title "Ymere publishes a three-room flat in IJmuiden-Zeewijk, Velsen (€668.40)"
as ymere publish "$DEMO/YM-2025-0871.yaml" | sed 's/^/    /'
expect dock "proposal created  YM-2025-0871/1"
tell "DOCK's client declines: the school for her son is too far away."
as dock answer YM-2025-0871/1 decline --reason "school van zoon te ver weg" | sed 's/^/    /'
expect welschap-socius "proposal created  YM-2025-0871/2"
tell "The vacancy went to the next eligible candidate, ws-0102 (WelschapSocius)."
expect gem-velsen "proposal created  YM-2025-0871/2"

title "Elan Wonen publishes a family house in Zandvoort (€889.00, 4 rooms)"
as elan-wonen publish "$DEMO/EW-2025-0033.yaml" | sed 's/^/    /'
expect elan-wonen "vacancy released  EW-2025-0033"
explain elan-wonen "vacancy released  EW-2025-0033"
tell "Nobody in the pact fits, so the house goes back to regular allocation at once,"
tell "with the reason per rule for the corporation and the municipality."

title "Almere: De Alliantie publishes a studio in Almere Haven (€452.00)"
as de-alliantie publish "$DEMO/DA-2025-1204.yaml" | sed 's/^/    /'
expect leger-des-heils "proposal created  DA-2025-1204/1"
tell "Under 23: the rent had to stay below €477.20; the Zuid-Kennemerland parties saw nothing."

title "The municipality of Haarlem reads the tamper-evident audit trail"
as gem-haarlem audit tail -n 8 | sed 's/^/    /'

title "Where everything stands"
for v in pre-wonen:PW-2025-0142 ymere:YM-2025-0871 elan-wonen:EW-2025-0033 de-alliantie:DA-2025-1204; do
    party=${v%%:*} id=${v#*:}
    state=$(as "$party" status vacancy "$id" | awk '$1 == "state" {print $2}')
    printf '    %-14s %-10s (%s)\n' "$id" "$state" "$party"
done
echo

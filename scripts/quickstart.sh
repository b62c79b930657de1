#!/usr/bin/env bash
# A grid worker's morning on the terminal shell, on the embedded sample configuration:
# initialise a phone store, patrol with two check-ins, file a hazard, visit a household,
# acknowledge the 110-diversion task, and show "today" and what is not yet sent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p gridpatrol
gp() { ./target/release/gridpatrol device --store "$STORE" "$@"; }
STORE=$(mktemp -d)/phone
CONFIG=$(mktemp)
./target/release/gridpatrol device sample-config > "$CONFIG"

gp init --config "$CONFIG" --worker w-001
PATROL=$(gp --json patrol start --grid g-0101 --night | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
gp patrol check-in --patrol "$PATROL" --lat 31.2320 --lng 121.4730 --place "北门 (north gate)" \
   --answer fire_passage=ok --answer ebike_charging=issue --answer public_facilities=ok
gp patrol check-in --patrol "$PATROL" --lat 31.3000 --lng 121.5000 --place "河边 (riverside)" \
   --answer sanitation=ok --answer suspicious_activity=ok
gp report --grid g-0101 --category safety_hazard --lat 31.2321 --lng 121.4731 --source patrol --patrol "$PATROL" \
   --place "3栋车棚 (bike shed)" --description "电动车在楼道充电 (e-bike charging in the stairwell)"
gp patrol finish --patrol "$PATROL" --outcome findings
gp visit --household h-0001 --type must_visit --outcome met --need living --note "独居老人，需送餐 (lives alone, needs meals)"
gp task ack t-110-0001
gp today
gp pending --limit 5
echo "store kept at $STORE"

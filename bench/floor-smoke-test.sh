#!/usr/bin/env bash
# parley-send-floor works end to end: every send it reads becomes an ack and
# one delivery per other member, and the window counts them.
set -euo pipefail
floor=$1
"$floor" --mode group --connections 20 --group 10 --rate 400 --warmup 0.3 --seconds 1 | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["messages"] >= 200, r
assert r["would_block"] == 0, r
assert r["deliveries"] == 9 * r["messages"], r
assert r["server_cpu_us_per_delivery"] > 0, r
print("ok", r["messages"], "messages,", r["deliveries"], "deliveries")'

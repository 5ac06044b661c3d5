"""Measure 5 at Lambda memory sizes: collects bench-hash's runs under each CPU quota.

Usage: argon2_scaled.py DIR OUT.json MEMORY:SHARE...
"""

import json, sys
out, target, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
shares = []
for run in runs:
    memory, share = (int(x) for x in run.split(":"))
    measured = json.load(open(f"{out}/argon2-{memory}.json"))
    shares.append({"memory_mb": memory, "share": share / 1000, "hash_ms": measured["hash_ms"],
                   "verify_ms": measured["verify_ms"]})
json.dump({"shares": shares}, open(target, "w"), indent=1)

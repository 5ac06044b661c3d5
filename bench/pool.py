"""Pools the in-process runs of one implementation (measure 2), run in several processes,
into one result: their rounds and wall times side by side.

Usage: pool.py OUT.json PART.json...
"""

import json, sys
runs = [json.load(open(path)) for path in sys.argv[2:]]
pooled = dict(runs[0], processes=len(runs))
for key in ("rounds_cpu_us", "wall_us"):
    pooled[key] = [x for run in runs for x in run[key]]
json.dump(pooled, open(sys.argv[1], "w"))

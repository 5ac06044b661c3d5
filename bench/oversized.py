"""The oversized-body measure's result: the wall times of both signup cases, in ms.

Usage: oversized.py DIR OUT.json  (reads DIR/signup-{hashing,oversized}.json.result)
"""

import json, sys
wall = lambda case: [us / 1000 for us in json.load(open(f"{sys.argv[1]}/signup-{case}.json.result"))["warm"]["wall_us"]]
json.dump({"oversized_ms": wall("oversized"), "hashing_login_ms": wall("hashing")}, open(sys.argv[2], "w"))

"""The two signup events of the oversized-body measure: the sample, which hashes (and
gets 409 once the user exists), and the same with a 1 MiB body, refused with 413 before any
parsing.

Usage: signup_events.py DIR  (writes DIR/signup-hashing.json and DIR/signup-oversized.json)
"""

import json, sys
event = json.load(open("events/signup.json"))
json.dump(event, open(f"{sys.argv[1]}/signup-hashing.json", "w"))
event["body"] = " " * (1024 * 1024)
json.dump(event, open(f"{sys.argv[1]}/signup-oversized.json", "w"))

"""Measures the PyJWT authorizer's CPU per invocation, in process.

    python inprocess.py EVENTS_JSONL OUT_JSON [--rounds R] [--limit N]

One invocation is what the Lambda runtime does around the handler: json.loads(line),
handler(event, None), json.dumps(result). After a warm-up pass over up to 1,000 events, each
of R rounds runs every event once and reports process CPU time (user + system) per
invocation. The last round also records each invocation's wall time and the decisions; its
CPU figure includes that bookkeeping (two clock reads and two appends per invocation).
"""

import argparse
import json
import platform
import time

import cryptography
import jwt

from authorizer import handler

WARM_UP_EVENTS = 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events")
    parser.add_argument("out")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()

    with open(args.events) as f:
        lines = [line for line in f.read().splitlines() if line.strip()][: args.limit]
    if not lines or args.rounds < 1:
        parser.error("need at least one event and one round")

    for line in lines[:WARM_UP_EVENTS]:
        json.dumps(handler(json.loads(line), None))

    rounds_cpu_us = []
    for _ in range(args.rounds - 1):
        start = time.process_time_ns()
        for line in lines:
            json.dumps(handler(json.loads(line), None))
        rounds_cpu_us.append((time.process_time_ns() - start) / 1000 / len(lines))

    wall_us = []
    decisions = []
    start = time.process_time_ns()
    for line in lines:
        began = time.perf_counter_ns()
        result = handler(json.loads(line), None)
        json.dumps(result)
        wall_us.append((time.perf_counter_ns() - began) / 1000)
        decisions.append(result["isAuthorized"])
    rounds_cpu_us.append((time.process_time_ns() - start) / 1000 / len(lines))

    allowed = sum(decisions)
    report = {
        "id": "pyjwt",
        "name": f"Python {platform.python_version()} + PyJWT {jwt.__version__} "
        f"(cryptography {cryptography.__version__})",
        "invocations": len(lines),
        "rounds_cpu_us": [round(us, 3) for us in rounds_cpu_us],
        "wall_us": [round(us, 3) for us in wall_us],
        "allowed": allowed,
        "denied": len(lines) - allowed,
    }
    with open(args.out, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()

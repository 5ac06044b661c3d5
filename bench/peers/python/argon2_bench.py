"""Times argon2-cffi (the C reference implementation) at the service's password parameters.

    python argon2_bench.py OUT_JSON [--iterations N]

Argon2id, m=19456 KiB, t=2, p=1, 32-byte hash, 16-byte salt. After one warm-up hash and
verify, runs N hashes of a fixed 20-character password, then N verifies of it against those
hashes, and writes each operation's wall time in milliseconds.
"""

import argparse
import json
import time
from importlib.metadata import version

from argon2 import PasswordHasher, Type

PASSWORD = "correct-horse-42-bat"  # 20 characters
M_KIB, T, P = 19456, 2, 1


def timed_ms(operation, *args):
    began = time.perf_counter()
    operation(*args)
    return (time.perf_counter() - began) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()

    hasher = PasswordHasher(
        time_cost=T, memory_cost=M_KIB, parallelism=P, hash_len=32, salt_len=16, type=Type.ID
    )
    hasher.verify(hasher.hash(PASSWORD), PASSWORD)

    hashes = []
    hash_ms = [timed_ms(lambda: hashes.append(hasher.hash(PASSWORD))) for _ in range(args.iterations)]
    verify_ms = [timed_ms(hasher.verify, encoded, PASSWORD) for encoded in hashes]

    report = {
        "id": "argon2-cffi",
        "name": f"argon2-cffi {version('argon2-cffi')} (C reference)",
        "params": {"m_kib": M_KIB, "t": T, "p": P},
        "hash_ms": [round(ms, 3) for ms in hash_ms],
        "verify_ms": [round(ms, 3) for ms in verify_ms],
    }
    with open(args.out, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Turn the benchmark result JSON files into bench Markdown and a headline-ratio SVG chart.

Usage: python3 bench/report.py RESULTS_DIR --out OUT_MD --chart OUT_SVG

Standard library only. Any input file may be missing: its section then says so.
The output depends only on the input files and template.yaml's MemorySize (no clock, no randomness).
"""
import argparse
import json
import math
import os
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOT_MEASURED = "_Not measured in this run._"
MB = 1_000_000
HASH_BUDGET_MS = 100.0
LAMBDA_SHARES = [(128, 0.072), (512, 0.29), (1024, 0.58), (1769, 1.0)]
PEERS = ["pyjwt", "node-jose", "node-jsonwebtoken-keyobject", "node-jsonwebtoken-buffer", "node-fast-jwt"]
PEER_LABELS = {"pyjwt": "PyJWT", "node-jose": "Node jose", "node-jsonwebtoken-keyobject": "Node jsonwebtoken KeyObject",
               "node-jsonwebtoken-buffer": "Node jsonwebtoken Buffer", "node-fast-jwt": "Node fast-jwt"}
PEER_GROUP, FLOOR_GROUP = "peer", "floor"
KINDS = ["floor", "function", "variant", "peer"]


@dataclass
class Findings:
    """What the sections found for the targets summary and the chart."""
    targets: list = field(default_factory=list)  # (measure, target, measured text, met: bool | None)
    bars: list = field(default_factory=list)  # (rank, label, ratio | None, group)

    def target(self, measure, goal, value, met, text=None):
        """Record one target row; value None means not measured."""
        if value is None:
            self.targets.append((measure, goal, "not measured", None))
        else:
            self.targets.append((measure, goal, text or fmt_ratio(value), met(value)))


# ---------------------------------------------------------------- statistics and formatting


# The authorizer's cold init ÷ floor in the last HS256 run (bench/history/2026-12-03-hs256.md,
# measure 3): RS256 must start no slower.
HS256_AUTHORIZER_INIT_RATIO = 1.83

def quantile(xs, q):
    """Quantile by linear interpolation between closest ranks (numpy's default); None if empty."""
    xs = sorted(xs or [])
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(xs):
    """Median (the 0.5 quantile); None if empty."""
    return quantile(xs, 0.5)


def p90(xs):
    """90th percentile; None if empty."""
    return quantile(xs, 0.9)


def ratio(a, b):
    """a / b, or None when either is missing or b is zero."""
    return None if a is None or not b else a / b


def fmt(x, digits=None):
    """A number with precision that suits its size; '—' for None."""
    if x is None:
        return "—"
    if digits is None and 0 < abs(x) < 0.1:
        return f"{x:.2g}"
    if digits is None:
        digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2
    return f"{x:,.{digits}f}"


def fmt_ratio(r):
    """A ratio such as 23.4× or 1.15×; '—' for None."""
    if r is None:
        return "—"
    return f"{r:.1f}×" if r >= 10 else f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


def tick(met):
    """✅ / ❌ for a target, — when not measured."""
    return "—" if met is None else "✅" if met else "❌"


def table(headers, rows, left=1):
    """Markdown table lines: the first `left` columns (labels) left aligned, the rest (numbers) right."""
    align = ["---" if i < left else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines + [""]


# ---------------------------------------------------------------- loading

def load_json(path):
    """Parse a JSON file, or None if it does not exist."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as err:
        raise SystemExit(f"{path}: invalid JSON: {err}")


def load_all(results, pattern, first=()):
    """Every JSON document with an "id" matching pattern: ids in `first` first, then the rest by id.

    Documents without an id (such as argon2_scaled.json) are not results of one implementation.
    """
    docs = [d for d in map(load_json, sorted(Path(results).glob(pattern))) if "id" in d]
    rank = {id_: i for i, id_ in enumerate(first)}
    return sorted(docs, key=lambda d: (rank.get(d["id"], len(rank)), d["id"]))


def criterion_ns(results, bench, group="token_verify"):
    """Per-sample ns per iteration, pooled over the copies of criterion's sample.json that each
    process left in the results (`GROUP-BENCH-N.json`), or None if there are none."""
    docs = [load_json(path) for path in sorted(Path(results).glob(f"{group}-{bench}-*.json"))]
    return [t / i for doc in docs for t, i in zip(doc["times"], doc["iters"])] or None


def template_memory_mb():
    """MemorySize from template.yaml (the Globals value comes first), or None."""
    try:
        text = (REPO / "template.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    match = re.search(r"^\s*MemorySize:\s*(\d+)", text, re.M)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------- sections

def section_token_verify(results, f):
    """Measure 1: full token check against the raw RS256 signature check, its floor."""
    lines = ["## 1. Token verify", "",
             "Criterion, one realistic RS256 access token: the full check (decode, signature, every claim "
             "rule) against one RSA-2048 PKCS#1 v1.5 SHA-256 signature check over the same signing input "
             "(ring, the key's modulus and exponent already decoded), the floor. "
             "One sample = criterion's time for a batch ÷ its iterations; the samples of several "
             "processes are pooled, as one process's time can differ from the next's.", ""]
    ours = criterion_ns(results, "ours")
    floor = criterion_ns(results, "raw_rsa_pkcs1_sha256")
    r = ratio(median(ours), median(floor))
    f.target("1. Token verify vs raw RSA floor", "≤ 1.3×", r, lambda v: v <= 1.3)
    f.bars.append((4, "ours token verify ÷ raw RSA verify", r, FLOOR_GROUP))
    if ours is None and floor is None:
        return lines + [NOT_MEASURED]
    rows = [[name, fmt(median(xs), 0), fmt(p90(xs), 0), fmt_ratio(ratio(median(xs), median(floor)))]
            for name, xs in (("ours (full check)", ours), ("raw RSA PKCS#1 v1.5 SHA-256 (floor)", floor))]
    return lines + table(["Bench", "median ns", "p90 ns", "÷ floor"], rows)


def section_signing(results, f):
    """What /auth and /refresh pay to sign each access token, against a raw RSA signature, and
    how big the tokens are."""
    lines = ["## Signing and token size", "",
             "Criterion (`shared/benches/token_sign.rs`): `TokenService::issue`, what `/auth` and "
             "`/refresh` do for each response (the claims, their JSON and base64url, one RS256 "
             "signature with ring), against its floor, one RSA-2048 PKCS#1 v1.5 SHA-256 signature "
             "(ring, the key pair already parsed) over a signing input of the same length. Samples "
             "pooled over several processes, as for measure 1.", ""]
    ours = criterion_ns(results, "ours", "token_sign")
    floor = criterion_ns(results, "raw_rsa_pkcs1_sha256", "token_sign")
    r = ratio(median(ours), median(floor))
    f.bars.append((4.5, "ours token sign ÷ raw RSA sign", r, FLOOR_GROUP))
    if ours is None and floor is None:
        lines += [NOT_MEASURED, ""]
    else:
        def us(xs):
            """ns to µs."""
            return None if xs is None else [x / 1000 for x in xs]
        rows = [[name, fmt(median(us(xs))), fmt(p90(us(xs))), fmt_ratio(ratio(median(xs), median(floor)))]
                for name, xs in (("ours (`TokenService::issue`)", ours),
                                 ("raw RSA PKCS#1 v1.5 SHA-256 sign (floor)", floor))]
        lines += table(["Bench", "median µs", "p90 µs", "÷ floor"], rows)
    doc = load_json(results / "token_size.json")
    lines += ["### Token size", "",
              "A typical access token as issued (a ULID `sub`, `sid` and `jti`, a 10-character username, "
              "the key's 43-character thumbprint as `kid`, a 2048-bit key), in bytes: base64url as sent, "
              "and the header line that carries it.", ""]
    if doc is None:
        return lines + [NOT_MEASURED]
    rows = [[t["name"], f"{t['bytes']:,}", f"{t['header_bytes']:,}", f"{t['payload_bytes']:,}",
             f"{t['payload_json_bytes']:,}", f"{t['signature_bytes']:,}", f"{t['authorization_header_bytes']:,}"]
            for t in doc["tokens"]]
    return lines + table(["Token", "bytes", "header", "claims", "claims as JSON", "signature",
                          "`Authorization: Bearer …` line"], rows)


def section_backends(results):
    """The RSA back ends we could link: verify speed, binary size and cold start (bench/backends)."""
    lines = ["## RSA back ends", "",
             "`bench/backends/run.sh`, a cargo project of its own outside the workspace (so that "
             "`make test` never builds AWS-LC): one RS256 check of the same signing input and signature "
             "with each back end the service could link, ring (what it links), aws-lc-rs and "
             "RustCrypto's `rsa` (0.9, which the workspace generates keys with, and 0.10); a minimal binary per back end that builds the public key from its "
             "modulus and exponent (as the service does from its JWK) and checks once, built with the "
             "workspace's release profile and stripped, for its size; and the wall time of spawning each "
             "of those binaries, for its cold start. *Over the floor*: beyond a binary that reads the "
             "same input and checks nothing. Run by `make bench` in full mode only.", ""]
    path = results / "rsa_backends.md"
    if not path.exists():
        return lines + [NOT_MEASURED]
    return lines + path.read_text(encoding="utf-8").strip().splitlines()


def section_inprocess(results, f):
    """Measure 2: authorizer handler in one process against peer libraries."""
    lines = ["## 2. Authorizer in process", "",
             "The same 10,000 HTTP API v2 authorizer events (valid, expired, forged mixed), "
             "event JSON text in → decision JSON text out, in one process. CPU is process CPU time per "
             "round ÷ invocations per round (median, p90 over the rounds of every process: each "
             "implementation runs in several processes, as one process's time depends on where its "
             "stack and heap lie); wall is per invocation.", ""]
    docs = load_all(results, "authorizer_inprocess_*.json", ["rust"] + PEERS)
    cpu = {d["id"]: d["rounds_cpu_us"] for d in docs}
    ours = median(cpu.get("rust"))
    vs = {id_: ratio(median(cpu.get(id_)), ours) for id_ in PEERS}
    f.target("2a. PyJWT ÷ ours (CPU)", "≥ 10×", vs["pyjwt"], lambda v: v >= 10)
    f.target("2b. Node jsonwebtoken KeyObject ÷ ours (CPU)", "≥ 3×",
             vs["node-jsonwebtoken-keyobject"], lambda v: v >= 3)
    f.target("2c. Node jose ÷ ours (CPU)", "> 1×", vs["node-jose"], lambda v: v > 1)
    measured = {id_: v for id_, v in vs.items() if v is not None}
    cheapest = min(measured, key=measured.get, default=None)
    f.target("2d. Ours takes the least CPU per decision: cheapest peer ÷ ours", "> 1×",
             cheapest and measured[cheapest], lambda v: v > 1,
             cheapest and f"{fmt_ratio(measured[cheapest])} ({PEER_LABELS[cheapest]})")
    f.bars += [(i * 4 / len(PEERS), f"{PEER_LABELS[id_]} ÷ ours (in-process CPU)", vs[id_], PEER_GROUP)
               for i, id_ in enumerate(PEERS)]
    if not docs:
        return lines + [NOT_MEASURED]
    rows = [[d["name"], fmt(median(cpu[d["id"]])), fmt(p90(cpu[d["id"]])), fmt(median(d["wall_us"])),
             fmt(p90(d["wall_us"])), d["allowed"], d["denied"], fmt_ratio(ratio(median(cpu[d["id"]]), ours))]
            for d in docs]
    lines += table(["Implementation", "CPU µs/inv median", "p90", "wall µs median", "p90",
                    "allowed", "denied", "CPU ÷ ours"], rows)
    decisions = {(d["allowed"], d["denied"]) for d in docs}
    if len(decisions) > 1:
        return lines + ["> ⚠️ **Warning: the implementations did not make the same decisions** "
                        "(allowed/denied differ above), so the comparison is suspect."]
    (allowed, denied), = decisions
    return lines + [f"Every implementation made the same decisions: {allowed} allowed, {denied} denied."]


def section_runtime(results, f):
    """Measure 3: whole processes under the Runtime API emulator, cold and warm."""
    lines = ["## 3. Whole process under a Runtime API emulator", "",
             "Each binary or script runs as Lambda would start it, against a local Runtime API emulator. "
             "Cold: init = exec → first `/next`, in fresh processes stopped there (*starts*: how "
             "many); first response = "
             "exec → first response posted, in as many more fresh processes that each serve one event, "
             "with their CPU and peak RSS. The two are timed apart because a start that follows one "
             "whose event reached DynamoDB Local runs slower, the floors' too: the database's JVM shares "
             "this machine's two cores, while on Lambda it is another service. *Init after a served "
             "start* is the init of those serving processes, each after one that served its event, for "
             "comparison (bench/ANALYSIS.md, measure 3). Warm: CPU per invocation over a long run (the median "
             "of several processes, each started with an environment 64 bytes longer than the last, "
             "so that they sample where the stack lands: on this CPU that alone moves a warm "
             "invocation by up to a third), wall per invocation. Each function runs configured as `template.yaml` deploys it: `auth` and "
             "`refresh` read their private key (a PEM, with the server secret, in one "
             "`BatchGetSecretValue`) and the authorizer the public key (a JWK) from Secrets Manager at "
             "init (the current version; the previous one only shortly after a rotation), which the "
             "emulator answers on loopback, so the SDK client, the signed request and its parsing are "
             "measured but not the network round trip to the service; the functions behind the "
             "authorizer have no key. `rotate-key` reads nothing at init, and its first response is an "
             "error: the emulator refuses the calls of a rotation, so its init is what counts. The "
             "Python and Node peers read the public key from the environment. The floor (`echo`) is a Rust runtime that returns its input. The cold starts of "
             "each function and peer alternate with the floor's in blocks of ten, and its init ÷ floor "
             "is to those floor runs (*floor init ms*), so drift in this shared machine's speed "
             "cancels out. The *variant* rows are the authorizer with one runtime choice changed "
             "(tokio's flavour, the allocator, logging, its key from the environment (`JWT_PRIVATE_KEY`) instead of Secrets "
             "Manager); *÷ ours* compares them with the authorizer "
             "as built. The second floor (`echo-dynamodb`) is the echo plus what the product's "
             "required SDK costs before any code of ours runs: the AWS configuration and one "
             "`aws-sdk-dynamodb` client; the third (`echo-secrets-manager`) adds what reading the key "
             "costs before any code of ours: a Secrets Manager client and one `GetSecretValue` of the public key; the "
             "fourth (`echo-dynamodb-key`) reads a key through the DynamoDB client instead (one "
             "`GetItem`, which the emulator answers), the cheapest read of a key at init. "
             "*÷ SDK floor* is a process's init ÷ floor over the second floor's, or over the third's "
             "for a process that reads its key from Secrets Manager.", ""]
    docs = load_all(results, "runtime_*.json",
                    ["echo", "echo-dynamodb", "echo-secrets-manager", "echo-dynamodb-key", "authorizer",
                     "python-authorizer", "node-authorizer"])
    docs.sort(key=lambda d: KINDS.index(d["kind"]))  # stable: floor, functions, variants, peers
    init = {d["id"]: median(d["cold"]["init_ms"]) for d in docs}
    # The floor's init interleaved with each process's cold starts; else the floor's own run.
    floor_init = {d["id"]: median(d["cold"].get("floor_init_ms") or []) or init.get("echo") for d in docs}
    init_r = {d["id"]: ratio(init[d["id"]], floor_init[d["id"]]) for d in docs}
    warm_cpu = {d["id"]: d["warm"]["cpu_us_per_invocation"] for d in docs if d["warm"]}
    worst = max((d for d in docs if d["kind"] == "function"), default=None,
                key=lambda d: init_r[d["id"]] or 0)
    worst_r = worst and init_r[worst["id"]]
    keyless = max((d for d in docs if d["kind"] == "function" and not d.get("keys_from_secrets_manager")),
                  default=None, key=lambda d: init_r[d["id"]] or 0)
    f.target("3a. Cold init ÷ floor (worst function)", "≤ 1.5×", worst_r, lambda v: v <= 1.5,
             worst_r and f"{fmt_ratio(worst_r)} ({worst['id']}; the SDK floor alone: "
             f"{fmt_ratio(init_r.get('echo-dynamodb'))}, with the key read: "
             f"{fmt_ratio(init_r.get('echo-secrets-manager'))}, through the DynamoDB client: "
             f"{fmt_ratio(init_r.get('echo-dynamodb-key'))}; worst of those that read no key: "
             f"{fmt_ratio(keyless and init_r[keyless['id']])} ({keyless['id'] if keyless else '—'}))")
    warm_r = ratio(warm_cpu.get("authorizer"), warm_cpu.get("echo"))
    f.target("3b. Authorizer warm CPU ÷ floor", "≤ 1.3×", warm_r, lambda v: v <= 1.3)
    auth_r = init_r.get("authorizer")
    f.target("3c. Authorizer cold init ÷ floor, no worse than under HS256",
             f"≤ {fmt_ratio(HS256_AUTHORIZER_INIT_RATIO)}", auth_r, lambda v: v <= HS256_AUTHORIZER_INIT_RATIO,
             auth_r and f"{fmt_ratio(auth_r)} (HS256: {fmt_ratio(HS256_AUTHORIZER_INIT_RATIO)}, "
             "bench/history/2026-12-03-hs256.md)")
    f.bars.append((5, "authorizer warm CPU ÷ echo", warm_r, FLOOR_GROUP))
    peers = [d for d in docs if d["kind"] == "peer"]
    f.bars += [(6, f"{d['name']} cold init ÷ ours", ratio(init[d["id"]], init.get("authorizer")), PEER_GROUP)
               for d in peers] or [(6, "Python / Node cold init ÷ ours", None, PEER_GROUP)]
    if not docs:
        return lines + [NOT_MEASURED]

    def vs_ours(values, d):
        """Ratio to ours, shown for ours, its variants and the peers only."""
        shown = d["kind"] in ("variant", "peer") or d["id"] == "authorizer"
        return fmt_ratio(ratio(values.get(d["id"]), values.get("authorizer"))) if shown else ""

    def vs_sdk(d):
        """Init ÷ floor over the SDK floor's (with the key read, if it reads one), for ours and
        its variants."""
        shown = d["kind"] in ("function", "variant")
        sdk = "echo-secrets-manager" if d.get("keys_from_secrets_manager") else "echo-dynamodb"
        return fmt_ratio(ratio(init_r[d["id"]], init_r.get(sdk))) if shown else ""

    cold = [[d["name"], d["kind"], str(len(d["cold"]["init_ms"])),
             fmt(init[d["id"]]), fmt(p90(d["cold"]["init_ms"])),
             fmt(median(d["cold"].get("serving_init_ms"))),
             fmt(median(d["cold"]["first_response_ms"])), fmt(p90(d["cold"]["first_response_ms"])),
             fmt(median(d["cold"]["cpu_ms"])), fmt(ratio(median(d["cold"]["max_rss_kib"]), 1024), 1),
             fmt(floor_init[d["id"]]), fmt_ratio(init_r[d["id"]]), vs_sdk(d), vs_ours(init, d)]
            for d in docs]
    warm = [[d["name"], fmt(warm_cpu[d["id"]]), fmt(median(d["warm"]["wall_us"])),
             fmt(p90(d["warm"]["wall_us"])), fmt(d["warm"]["max_rss_kib"] / 1024, 1),
             fmt_ratio(ratio(warm_cpu[d["id"]], warm_cpu.get("echo"))), vs_ours(warm_cpu, d)]
            for d in docs if d["warm"]]
    return (lines + ["### Cold start", ""]
            + table(["Process", "kind", "starts", "init ms median", "p90", "init ms after a served start",
                     "first response ms median", "p90",
                     "cold CPU ms", "peak RSS MiB", "floor init ms", "init ÷ floor", "÷ SDK floor",
                     "init ÷ ours"], cold, left=2)
            + ["### Warm", ""]
            + (table(["Process", "CPU µs/inv", "wall µs median", "p90", "peak RSS MiB",
                      "CPU ÷ floor", "CPU ÷ ours"], warm) if warm else [NOT_MEASURED]))


def section_sizes(results, f):
    """Measure 4: deployment zip sizes, peak memory, TLS stacks and build profile."""
    lines = ["## 4. Size and memory", "",
             "Zip = the deployment package SAM uploads; MB = 1,000,000 bytes. Peak RSS is the cold-start "
             "median from section 3 (MiB = 1,048,576 bytes), where that function was measured.", ""]
    doc = load_json(results / "sizes.json")
    zips = doc and [(e["zip_bytes"], f"{e['function']} {e['arch']}") for e in doc["functions"]]
    largest = max(zips) if zips else None
    f.target("4a. Largest zip", "≤ 2.5 MB", largest and largest[0] / MB, lambda v: v <= 2.5,
             largest and f"{largest[0] / MB:.2f} MB ({largest[1]})")
    stacks = None if doc is None else doc["tls"]["stacks"]
    f.target("4b. TLS stacks", "exactly 1", None if stacks is None else len(stacks), lambda v: v == 1,
             stacks is not None and f"{len(stacks)} ({', '.join(stacks) or 'none'})")
    if doc is None:
        return lines + [NOT_MEASURED]
    by_fn = {}
    for e in doc["functions"]:
        by_fn.setdefault(e["function"], {})[e["arch"]] = e
    rows = []
    for name, arches in sorted(by_fn.items()):
        cold = (load_json(results / f"runtime_{name}.json") or {}).get("cold") or {}
        size = [fmt(arches[a][k] / MB, 2) if a in arches else "—"
                for a, k in (("arm64", "zip_bytes"), ("x86_64", "zip_bytes"), ("arm64", "binary_bytes"))]
        rows.append([name, *size, fmt(ratio(median(cold.get("max_rss_kib")), 1024), 1)])
    lines += table(["Function", "arm64 zip MB", "x86_64 zip MB", "arm64 binary MB", "peak RSS MiB"], rows)
    lines += [f"TLS stacks linked: {', '.join(stacks) or 'none'}; "
              f"crypto providers: {', '.join(doc['tls']['crypto']) or 'none'}.", "",
              "Build profile:", ""]
    profile = [[f"`{k}`", f"`{v}`"] for k, v in doc["profile"].items()]
    return lines + table(["Setting", "Value"], profile, left=2)


def section_argon2(results, f):
    """Measure 5: argon2id hashing against argon2-cffi, projected to Lambda memory sizes."""
    lines = ["## 5. Password hashing", "",
             "argon2id hash and verify of one password, single core, ours against argon2-cffi "
             "(the C reference implementation).", ""]
    docs = load_all(results, "argon2_*.json", ["ours", "argon2-cffi"])
    by_id = {d["id"]: d for d in docs}
    ours, cffi = by_id.get("ours"), by_id.get("argon2-cffi")
    hash_r = ours and cffi and ratio(median(ours["hash_ms"]), median(cffi["hash_ms"]))
    verify_r = ours and cffi and ratio(median(ours["verify_ms"]), median(cffi["verify_ms"]))
    worse = max((r for r in (hash_r, verify_r) if r is not None), default=None)
    f.target("5. argon2 ours ÷ argon2-cffi", "≤ 1.1×", worse, lambda v: v <= 1.1,
             f"{fmt_ratio(hash_r)} hash, {fmt_ratio(verify_r)} verify")
    if not by_id:
        return lines + [NOT_MEASURED]
    params = {json.dumps(d["params"], sort_keys=True) for d in by_id.values()}
    p = next(iter(by_id.values()))["params"]
    lines += [f"Parameters: m = {p['m_kib']} KiB, t = {p['t']}, p = {p['p']}."
              + ("" if len(params) == 1 else " ⚠️ **Warning: the parameters differ between files.**"), ""]
    rows = [[d["name"], fmt(median(d["hash_ms"])), fmt(p90(d["hash_ms"])), fmt(median(d["verify_ms"])),
             fmt(p90(d["verify_ms"]))] for d in by_id.values()]
    lines += table(["Implementation", "hash ms median", "p90", "verify ms median", "p90"], rows)
    lines += [f"Ours ÷ argon2-cffi (median): hash {fmt_ratio(hash_r)}, verify {fmt_ratio(verify_r)}.", ""]
    return lines + ([] if ours is None else lambda_projection(results, ours))


def lambda_projection(results, ours):
    """Ours at Lambda memory sizes: projection, measured cgroup numbers if any, and a recommendation."""
    measured = load_json(results / "argon2_scaled.json") or {"shares": []}
    scaled = {s["memory_mb"]: s["hash_ms"] for s in measured["shares"]}
    hash_ms, verify_ms = median(ours["hash_ms"]), median(ours["verify_ms"])
    if hash_ms is None:
        return []
    rows = [[mem, f"{share:.1%}", fmt(hash_ms / share), fmt(ratio(verify_ms, share)),
             fmt(median(scaled.get(mem))), fmt(p90(scaled.get(mem)))] for mem, share in LAMBDA_SHARES]
    # Measured under a real quota where we have it: CFS throttling makes small shares slower than
    # the projection.
    expected = {mem: median(scaled[mem]) if scaled.get(mem) else hash_ms / share for mem, share in LAMBDA_SHARES}
    fits = [mem for mem, _ in LAMBDA_SHARES if expected[mem] <= HASH_BUDGET_MS]
    current = template_memory_mb()
    advice = (f"the smallest size that fits is **{fits[0]} MB**" if fits
              else "none of the sizes above fits")
    return ["### At Lambda memory sizes", "",
            "Lambda gives a function a CPU share proportional to its memory (one full core at 1,769 MB). "
            "argon2 with p = 1 is single-threaded and CPU-bound, so wall time scales with the inverse of the "
            "share: projected = measured single-core median ÷ share. The measured columns come from runs "
            "under a real cgroup CPU quota, when present.", ""] + table(
        ["Memory MB", "CPU share", "projected hash ms", "projected verify ms",
         "measured hash ms median", "p90"], rows) + [
        f"Recommendation: signup and login each hash once, and we want that under {HASH_BUDGET_MS:.0f} ms "
        f"(rule: smallest size whose hash median, measured under the quota or else projected, is "
        f"≤ {HASH_BUDGET_MS:.0f} ms); {advice}. "
        + (f"The template currently uses {current} MB." if current else
           "The template's MemorySize could not be read.")]


def section_list_work(results, f):
    """Measure 6: list-work latency as the table grows with other users' items."""
    lines = ["## 6. List-work scaling", "",
             "DynamoDB Local: one page of the caller's items via the list-work store (a Query on the "
             "caller's partition), with few and with many items belonging to other users in the table.", ""]
    doc = load_json(results / "list_work.json")
    runs = sorted(doc["runs"], key=lambda r: r["others"]) if doc else []
    r = ratio(median(runs[-1]["latency_ms"]), median(runs[0]["latency_ms"])) if len(runs) > 1 else None
    f.target("6. List-work, many ÷ few other items", "≤ 1.2×", r, lambda v: v <= 1.2)
    if not runs:
        return lines + [NOT_MEASURED]
    lines += [f"The caller owns {doc['items_of_caller']} items.", ""]
    rows = [[f"{run['others']:,}", fmt(median(run["latency_ms"])), fmt(p90(run["latency_ms"]))]
            for run in runs]
    return lines + table(["Other users' items", "median ms", "p90 ms"], rows) + [
        f"Median, largest ÷ smallest table: {fmt_ratio(r)}."]


def section_http_413(results):
    """Extra: an oversized body is refused before any password hashing."""
    lines = ["## Extra: oversized bodies", "",
             "The signup function under the Runtime API emulator, warm: a 1 MiB body (answered 413) "
             "against a well-formed signup of a taken name (hashed, then answered 409).", ""]
    doc = load_json(results / "http_413.json")
    if doc is None:
        return lines + [NOT_MEASURED]
    big, login = doc["oversized_ms"], doc["hashing_login_ms"]
    rows = [["1 MiB body to /signup (413)", fmt(median(big)), fmt(p90(big))],
            ["signup of a taken name (hashes, 409)", fmt(median(login)), fmt(p90(login))]]
    r = ratio(median(login), median(big))
    verdict = (f"The 413 is answered before any hashing: the hashing signup's median is {fmt_ratio(r)} "
               "the 413's." if r and r > 1 else
               "⚠️ **Warning: the 413 is not faster than a hashing login; check that the body limit "
               "applies before hashing.**")
    return lines + table(["Request", "median ms", "p90 ms"], rows) + [verdict]


def section_revocation(results):
    """Extra: what an authorizer decision no cached finding answers costs."""
    lines = ["## Extra: an uncached authorizer decision", "",
             "In one process on DynamoDB Local (`cargo run --release -p auth-core --example "
             "revocation_cost`): the token check alone, against the whole check of a decision no "
             "cached finding answers, which also reads the account and the token's session, two "
             "strongly consistent `GetItem`s side by side (2 read units: $0.25 per million such "
             "decisions on demand). In an AWS region each `GetItem` adds a few milliseconds of "
             "network instead of DynamoDB Local's loopback.", ""]
    doc = load_json(results / "revocation.json")
    if doc is None:
        return lines + [NOT_MEASURED]
    alone, full = doc["token_us"], doc["full_us"]
    rows = [["token check alone", fmt(median(alone)), fmt(p90(alone))],
            ["token + account and session reads", fmt(median(full)), fmt(p90(full))]]
    return lines + table(["Decision", "median µs", "p90 µs"], rows) + [
        f"{doc['rounds']:,} decisions each; a warm authorizer pays the reads once per user and "
        "session per `AccountCheckCacheSeconds`."]


def section_erase(results):
    """Extra: what deleting an account costs as its work items grow."""
    lines = ["## Extra: deleting an account", "",
             "`DELETE /account`'s store work in one process on DynamoDB Local (`cargo run --release "
             "-p auth-core --example erase_cost`): every work item, 30 sessions, then the user, the "
             "caller's session and the login counter in one transaction. Write request units are "
             "counted from what was deleted (each item under 1 KB: one unit a delete, two per item "
             "of a transaction; $0.625 per million on demand); the keys-only queries that find the "
             "items add about one read unit per 4 KB of items read.", ""]
    doc = load_json(results / "erase.json")
    if doc is None:
        return lines + [NOT_MEASURED]
    runs = doc["runs"]
    rows = [[f"{r['work_items']:,}", fmt(r["seconds"] * 1000), fmt(r["seconds"] * 1e6 / r["work_items"]),
             f"{r['write_units']:,}"] for r in runs]
    lines += table(["Work items", "ms", "µs per item", "write units"], rows)
    if len(runs) >= 2:
        small, big = runs[0], runs[-1]
        per_small = small["seconds"] / small["work_items"]
        per_big = big["seconds"] / big["work_items"]
        r = ratio(per_big, per_small)
        if r is not None and r <= 1.2:
            lines += [f"Time per item at {big['work_items']:,} items is {fmt_ratio(r)} that at "
                      f"{small['work_items']:,}: the cost grows no faster than the items do (below "
                      "1×, the fixed part spreads over more of them), and write units are one per "
                      "item plus a constant."]
        else:
            lines += [f"⚠️ **Warning: time per item at {big['work_items']:,} items is {fmt_ratio(r)} "
                      f"that at {small['work_items']:,}: deleting grows faster than linearly.**"]
    return lines


DYNAMODB_WRITE_UNIT_PRICE = 0.625  # USD per million on-demand write request units, us-east-1


def section_source_limit(results):
    """Extra: what the per-source limit on /auth and /refresh costs a request, and the managed
    alternatives' list prices."""
    lines = ["## Extra: the per-source limit on /auth and /refresh", "",
             "In one process on DynamoDB Local, on the machine above (`cargo run --release -p auth-core "
             "--example source_limit_cost`): `Throttle::admit` for one source, every request counted "
             "and let through, which is one `UpdateItem` (`ADD hits :one SET expires_at`) on the "
             "source's counter in the login-attempts table. The write request units are those "
             "DynamoDB Local reports for the same `UpdateItem` sent with `ReturnConsumedCapacity`. "
             "DynamoDB Local is on loopback, so the latency is a floor, not an in-region figure: AWS "
             "describes DynamoDB's typical latency as single-digit milliseconds, which was not "
             "measured here.", ""]
    doc = load_json(results / "source_limit.json")
    if doc is None:
        lines += [NOT_MEASURED, ""]
    else:
        admit = doc["admit_us"]
        rows = [["`Throttle::admit` (one `UpdateItem`)", fmt(median(admit)), fmt(p90(admit)),
                 fmt(quantile(admit, 0.99))]]
        units, first = doc["write_units"], doc.get("write_units_first", doc["write_units"])
        first_text = ("the same for the first of a window, which creates the counter" if first == units
                      else f"{first:g} for the first of a window, which creates the counter")
        warm = (f", after {doc['warm_up']:,} untimed ones that warm DynamoDB Local's JVM"
                if doc.get("warm_up") else "")
        lines += table(["Counted request", "median µs", "p90 µs", "p99 µs"], rows) + [
            f"{doc['rounds']:,} requests{warm}. Write request units a request: {units:g} ({first_text}): "
            f"${fmt(units * DYNAMODB_WRITE_UNIT_PRICE, 3)} per million `/auth` and `/refresh` requests "
            "on demand.", ""]
    return lines + [
        "What the alternatives cost, at us-east-1 list prices:", "",
        "- **This counter**: one write request unit per `/auth` or `/refresh` request "
        f"(${DYNAMODB_WRITE_UNIT_PRICE} per million on demand) and one `UpdateItem` of latency in "
        "those two routes' path; no other route pays anything. Counts are exact, per IPv4 address or "
        "IPv6 /64, in fixed one-minute windows (a burst across a window's end can reach twice the "
        "limit).",
        "- **CloudFront + AWS WAF** (WAF cannot be attached to an HTTP API): $5 a month per web ACL, "
        "$1 a month per rule and $0.60 per million requests inspected, plus CloudFront's $1.00 per "
        "million HTTPS requests (US and Europe, first tier), on every route, not only the two, and a "
        "network hop more. Rate-based rules count over windows of 60 s or more, with a lowest limit "
        "of 10, and apply it \"near the limit\", not exactly; they count per IP address, and AWS "
        "documents no grouping of IPv6 addresses by prefix. Behind CloudFront, `requestContext.http.sourceIp` is CloudFront's "
        "address, so the audit trail and any per-source counting of our own would have to trust a "
        "forwarded header.",
        "- **REST API + AWS WAF**: $3.50 per million requests against the HTTP API's $1.00, on every "
        "route, plus WAF's fees as above and the same rate-based rules."]


# ---------------------------------------------------------------- document and chart

def header(machine):
    """Title, caveats, run mode and the machine table."""
    mode = (machine or {}).get("mode", "unknown")
    lines = ["# Benchmarks", "",
             "Absolute times are from the machine below, not from Lambda: the ratios are the point. "
             "Medians and p90s use linear interpolation between closest ranks.", "",
             f"Run mode: **{mode}**. Reproduce: `make bench`.", ""]
    if mode == "smoke":
        lines += ["> ⚠️ **SMOKE RUN: these numbers are NOT meaningful.** Short runs check that every "
                  "benchmark works end to end; rerun in full mode for numbers to quote.", ""]
    elif mode != "full":
        lines += ["> ⚠️ **Run mode unknown** (machine.json missing or without a mode): "
                  "do not quote these numbers.", ""]
    lines += ["## Machine", ""]
    if machine is None:
        return lines + ["_machine.json is missing._", ""]
    keys = ["cpu", "cores", "memory_gib", "os", "kernel", "rustc", "python", "node", "profile", "date"]
    return lines + table(["Item", "Value"], [[k, machine.get(k, "—")] for k in keys], left=2)


def render_markdown(machine, findings, sections, chart_path, analysis):
    """The whole document; `analysis` is the hand-written bench/ANALYSIS.md, appended as is."""
    lines = header(machine) + ["## Targets", ""]
    lines += table(["Measure", "Target", "Measured", "Met"],
                   [[m, g, v, tick(ok)] for m, g, v, ok in findings.targets], left=4)
    lines += [f"![headline ratios]({chart_path})", ""]
    for section in sections:
        lines += "\n".join(section).strip().splitlines() + [""]
    if analysis:
        lines += analysis.strip().splitlines() + [""]
    return "\n".join(lines).rstrip() + "\n"


def log_ticks(lo, hi):
    """Tick values covering [lo, hi]: 1-2-5 steps, or only powers of ten over a wide range."""
    steps = (1, 2, 5) if hi / lo <= 100 else (1,)
    ticks, decade = [], 10 ** math.floor(math.log10(lo))
    while decade <= hi * 10:
        ticks += [decade * m for m in steps]
        decade *= 10
    below = max(t for t in ticks if t <= lo * 1.0001)
    above = min(t for t in ticks if t >= hi * 0.9999)
    return [t for t in ticks if below <= t <= above]


def render_svg(bars):
    """Horizontal bar chart of headline ratios on a log axis starting at the lowest tick."""
    bars = sorted(bars, key=lambda b: b[0])
    values = [b[2] for b in bars if b[2]]
    ticks = log_ticks(min(values + [1.0]), max(values + [2.0]))
    x0 = 30 + round(7.5 * max(len(b[1]) for b in bars))  # room for the longest label at 13px
    x1, top, row = x0 + 400, 70, 28
    width = max(x1 + 70, 720)
    def x(v):
        return x0 + (x1 - x0) * math.log(v / ticks[0]) / math.log(ticks[-1] / ticks[0])
    bottom = top + row * len(bars)
    colors = {PEER_GROUP: "#2b6cb0", FLOOR_GROUP: "#dd6b20"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{bottom + 40}" '
           f'viewBox="0 0 {width} {bottom + 40}" font-family="sans-serif" font-size="13">',
           "<title>Headline ratios</title>",
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="20" y="26" font-size="16" font-weight="bold">Headline ratios (log scale)</text>',
           f'<rect x="20" y="40" width="12" height="12" fill="{colors[PEER_GROUP]}"/>',
           '<text x="38" y="51">peer ÷ ours: higher means ours is faster</text>',
           f'<rect x="330" y="40" width="12" height="12" fill="{colors[FLOOR_GROUP]}"/>',
           '<text x="348" y="51">ours ÷ floor: lower means closer to the floor</text>']
    for t in ticks:
        style = 'stroke="#555" stroke-dasharray="4 3"' if t == 1 else 'stroke="#ddd"'
        out += [f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{bottom}" {style}/>',
                f'<text x="{x(t):.1f}" y="{bottom + 18}" text-anchor="middle" fill="#555">{t:g}×</text>']
    for i, (_, label, value, group) in enumerate(bars):
        y = top + i * row
        out.append(f'<text x="{x0 - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        if value:
            out += [f'<rect x="{x0}" y="{y + 3}" width="{max(x(value) - x0, 1):.1f}" height="16" '
                    f'fill="{colors[group]}"/>',
                    f'<text x="{max(x(value), x0) + 6:.1f}" y="{y + 15}">{fmt_ratio(value)}</text>']
        else:
            out.append(f'<text x="{x0 + 6}" y="{y + 15}" fill="#888" font-style="italic">'
                       "not measured</text>")
    return "\n".join(out + ["</svg>"]) + "\n"


def main():
    """Parse arguments, build every section, write the Markdown and the chart."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="Markdown file to write")
    parser.add_argument("--chart", type=Path, required=True, help="SVG file to write")
    args = parser.parse_args()
    results = args.results_dir
    findings = Findings()
    sections = [section_token_verify(results, findings),
                section_signing(results, findings),
                section_backends(results),
                section_inprocess(results, findings),
                section_runtime(results, findings),
                section_sizes(results, findings),
                section_argon2(results, findings),
                section_list_work(results, findings),
                section_http_413(results),
                section_revocation(results),
                section_erase(results),
                section_source_limit(results)]
    chart_path = Path(os.path.relpath(args.chart, args.out.parent)).as_posix()
    analysis_file = Path(__file__).with_name("ANALYSIS.md")
    analysis = analysis_file.read_text(encoding="utf-8") if analysis_file.exists() else ""
    markdown = render_markdown(load_json(results / "machine.json"), findings, sections, chart_path, analysis)
    for path, text in ((args.out, markdown), (args.chart, render_svg(findings.bars))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

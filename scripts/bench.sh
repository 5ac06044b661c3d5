#!/usr/bin/env bash
# `make bench`: every measure of BENCHMARKS.md in one run, ours beside the Python and Node peers
# and the physical floors, then BENCHMARKS.md and bench/chart.svg.
# `make bench-smoke` (BENCH_MODE=smoke): each measure for a handful of iterations on debug
# builds, written under target/bench/ only, so nothing rots. Neither asserts any timing.
set -euo pipefail
set -m
source "$(dirname "$0")/lib.sh"
source "$ROOT/bench/peers/install.sh"
cd "$ROOT"

mode="${BENCH_MODE:-full}"
case "$mode" in
  full) events=10000 processes=5 rounds=3 cold=300 cold_peers=60 warm=10000 warm_runs=8 slow=50 argon=20 argon_scaled=5 others=100,100000 samples=200 revocation_rounds=2000 erase_sizes="1000 5000 10000" source_limit_rounds=2000 ;;
  smoke) events=300 processes=2 rounds=1 cold=2 cold_peers=2 warm=200 warm_runs=1 slow=3 argon=2 argon_scaled=1 others=10,100 samples=5 revocation_rounds=20 erase_sizes="20 60" source_limit_rounds=20 ;;
  *) die "BENCH_MODE must be full or smoke" ;;
esac
out="$ROOT/target/bench"
results="$out/results"
rm -rf "$results" && mkdir -p "$results"

ensure_tools
if ! bench_base_python >/dev/null; then
  log "installing Python 3.11+ for the benchmark peers (their pinned versions need it)"
  if command -v apt-get >/dev/null; then
    as_root apt-get update -qq && as_root apt-get install -y -qq python3.11-venv >/dev/null
  elif command -v brew >/dev/null; then
    brew install --quiet python@3.13
  fi
fi
ensure_bench_peers
functions=(signup auth refresh logout list-work create-work list-sessions end-sessions authorizer rotate-key)
# Two builds: the binaries measured (the functions, with the floors and variants of measure 3)
# get exactly the features each function has when deployed; the harness's (a hyper server)
# would otherwise be unified into them and change what is measured.
measured=(-p bench-processes)
for f in "${functions[@]}"; do measured+=(-p "$f"); done
if [ "$mode" = full ]; then
  log "release build of the functions, the floors and variants, then the harness"
  cargo build --release --locked "${measured[@]}"
  cargo build --release --locked -p bench -p bench-hash -p auth-core
  cargo build --release --locked -p auth-core --example revocation_cost --example erase_cost --example source_limit_cost
  bin="$ROOT/target/release"
else
  cargo build --locked "${measured[@]}"
  cargo build --locked -p bench -p bench-hash -p auth-core
  cargo build --locked -p auth-core --example revocation_cost --example erase_cost --example source_limit_cost
  bin="$ROOT/target/debug"
fi

log "machine"
"$BENCH_PYTHON" bench/machine.py "$results/machine.json" "$mode" "$([ "$mode" = full ] && echo release || echo dev)"

log "1. token verify: criterion, ours against a raw RSA-2048 PKCS#1 v1.5 SHA-256 check (RS256), in $processes processes"
# Several processes, their samples pooled, as for measure 2: one process ran our check 1.46x slower
# than the next while the floor beside it did not move (ANALYSIS.md, measure 1, under HS256).
for i in $(seq "$processes"); do
  if [ "$mode" = full ]; then
    cargo bench --locked -p auth-core --bench token_verify
  else
    cargo bench --locked --profile dev -p auth-core --bench token_verify -- \
      --warm-up-time 0.1 --measurement-time 0.2 --sample-size 10
  fi
  for bench in ours raw_rsa_pkcs1_sha256; do
    cp "target/criterion/token_verify/$bench/new/sample.json" "$results/token_verify-$bench-$i.json"
  done
done

log "signing: criterion, TokenService::issue (/auth, /refresh) against a raw RSA-2048 PKCS#1 v1.5 SHA-256" \
  "sign, in $processes processes; the size of a typical token"
for i in $(seq "$processes"); do
  if [ "$mode" = full ]; then
    TOKEN_SIZE_OUT="$results/token_size.json" cargo bench --locked -p auth-core --bench token_sign
  else
    TOKEN_SIZE_OUT="$results/token_size.json" cargo bench --locked --profile dev -p auth-core --bench token_sign -- \
      --warm-up-time 0.1 --measurement-time 0.2 --sample-size 10
  fi
  for bench in ours raw_rsa_pkcs1_sha256; do
    cp "target/criterion/token_sign/$bench/new/sample.json" "$results/token_sign-$bench-$i.json"
  done
done

if [ "$mode" = full ]; then
  # A cargo project outside the workspace: it builds AWS-LC from C, which smoke runs (and so
  # `make test`) never need.
  log "the RSA back ends we could link (ring, aws-lc-rs, rsa): verify, binary size, cold start"
  bench/backends/run.sh >"$results/rsa_backends.md"
fi

stop_on_exit
ddb_port="$(free_port)"
start_dynamodb "$ddb_port"
use_local_aws "$ddb_port"
use_tables "bench-$$"
# A fresh RS256 signing key for this run, as `make dev` has one (PKCS#8 PEM), and its public half
# for the peers, which hold only that.
JWT_PRIVATE_KEY="$("$BENCH_PYTHON" bench/rsa_key.py private)"
JWT_PUBLIC_KEY_PEM="$(printf '%s\n' "$JWT_PRIVATE_KEY" | "$BENCH_PYTHON" bench/rsa_key.py public)"
export JWT_PRIVATE_KEY JWT_PUBLIC_KEY_PEM
# Every benchmark event comes from one address: the per-source counters are written as deployed,
# but never refuse, so each invocation measures the whole login or rotation.
export AUTH_SOURCE_LIMIT_PER_MINUTE=1000000 REFRESH_SOURCE_LIMIT_PER_MINUTE=1000000
"$bin/create-tables"

log "2. authorizer in process: $events events, ours and the peers"
"$bin/bench" events "$out/events.jsonl" --count "$events" >"$out/events.meta.json"
JWT_KID="$("$BENCH_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["kid"])' "$out/events.meta.json")"
export JWT_KID
# Each implementation runs in several processes, their rounds pooled: one process's time depends
# on where its stack and heap happen to lie, by up to 1.5x for ours (ANALYSIS.md, measure 2).
inprocess() {
  local id="$1" parts=() part; shift
  for i in $(seq "$processes"); do
    part="$out/inprocess-$id-$i.json"
    "$@" "$part" --rounds "$rounds"
    parts+=("$part")
  done
  "$BENCH_PYTHON" bench/pool.py "$results/authorizer_inprocess_$id.json" "${parts[@]}"
}
inprocess rust "$bin/bench" authorizer "$out/events.jsonl"
inprocess pyjwt "$BENCH_PYTHON" bench/peers/python/inprocess.py "$out/events.jsonl"
for kind in keyobject buffer; do
  inprocess "node-jsonwebtoken-$kind" env BENCH_KEY_KIND="$kind" NODE_PATH="$BENCH_NODE_MODULES" \
    node bench/peers/node/inprocess.js bench/peers/node/authorizer_jsonwebtoken.js "$out/events.jsonl"
done
inprocess node-fast-jwt env NODE_PATH="$BENCH_NODE_MODULES" node bench/peers/node/inprocess.js \
  bench/peers/node/authorizer_fastjwt.js "$out/events.jsonl"
inprocess node-jose env NODE_PATH="$BENCH_NODE_MODULES" node bench/peers/node/inprocess.js \
  bench/peers/node/authorizer_jose.js "$out/events.jsonl"

log "3. whole processes under the Runtime API emulator: $cold cold starts each ($cold_peers for the peers)," \
  "$warm warm invocations"
"$bin/bench" seed-users
# Hundreds of cold starts, not the issue's 30: the functions that read no key start within 0.1x of
# measure 3a's line, and blocks of ten ranged over 1.1-2.0x of the floor here (ANALYSIS.md,
# measure 3). The peers, 50 to 100 times slower to start, need no such precision.
runtime() { "$bin/bench" runtime --cold "$cold" --warm-runs "$warm_runs" "$@"; }
runtime --id echo --name "floor: bare lambda_runtime echo" --kind floor --warm "$warm" \
  --event "$out/events.jsonl" --out "$results/runtime_echo.json" -- "$bin/echo"
# What the SDK alone costs: the echo plus the one DynamoDB client every function builds.
runtime --id echo-dynamodb --name "floor: echo + a DynamoDB client" --kind floor --floor "$bin/echo" \
  --event "$out/events.jsonl" --out "$results/runtime_echo-dynamodb.json" -- "$bin/echo-dynamodb"
# ... and what reading a key from Secrets Manager adds to it, as three functions do (here the public
# key, as the authorizer reads it).
runtime --id echo-secrets-manager --name "floor: echo + a DynamoDB client + the key read" --kind floor \
  --floor "$bin/echo" --keys-from-secrets-manager verifier \
  --event "$out/events.jsonl" --out "$results/runtime_echo-secrets-manager.json" -- "$bin/echo-secrets-manager"
# ... and the cheapest key read at init there is: one GetItem through the DynamoDB client.
runtime --id echo-dynamodb-key --name "floor: echo + a DynamoDB client + a key read through it" --kind floor \
  --floor "$bin/echo" --key-from-dynamodb \
  --event "$out/events.jsonl" --out "$results/runtime_echo-dynamodb-key.json" -- "$bin/echo-dynamodb-key"
# Each function configured as template.yaml deploys it: auth and refresh read their private key
# (with the server secret), the authorizer the public keys, from Secrets Manager at init (the
# emulator stands in for it on loopback); the functions behind the authorizer have no key at all.
# rotate-key is given the public keys' secret, which it writes at a rotation, and reads nothing at
# init; its first answer is an error: the stand-in refuses the calls of a rotation, so its init is
# what counts.
for f in "${functions[@]}"; do
  event="events/$f.json" extra=() keyless=""
  case "$f" in
    authorizer) event="$out/events.jsonl" extra=(--warm "$warm" --keys-from-secrets-manager verifier) ;;
    auth | refresh) extra=(--keys-from-secrets-manager signer) ;;
    logout | list-work | create-work | list-sessions | end-sessions | rotate-key) keyless=1 ;;
  esac
  (
    if [ -n "$keyless" ]; then unset JWT_PRIVATE_KEY; fi
    if [ "$f" = rotate-key ]; then
      export JWT_PUBLIC_KEYS_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-public-keys-AbCdEf"
    fi
    # (`${a[@]+"${a[@]}"}`: an empty array under `set -u` in macOS's bash 3.2.)
    runtime --id "$f" --name "$f" --kind function --floor "$bin/echo" ${extra[@]+"${extra[@]}"} \
      --event "$event" --out "$results/runtime_$f.json" -- "$bin/$f"
  )
done
# The choices behind the authorizer, measured: tokio's flavour, the allocator, logging, and where
# its keys come from.
authorizer_variant() {
  local id="$1" name="$2"; shift 2
  runtime --id "$id" --name "$name" --kind variant --floor "$bin/echo" --warm "$warm" \
    --event "$out/events.jsonl" --out "$results/runtime_$id.json" "$@"
}
authorizer_variant authorizer-multi-thread "authorizer, tokio multi-thread runtime" \
  --keys-from-secrets-manager verifier -- "$bin/authorizer-multi-thread"
authorizer_variant authorizer-mimalloc "authorizer, mimalloc allocator" \
  --keys-from-secrets-manager verifier -- "$bin/authorizer-mimalloc"
AWS_LAMBDA_LOG_LEVEL=debug AWS_LAMBDA_LOG_FORMAT=JSON authorizer_variant authorizer-debug-logs \
  "authorizer, DEBUG logs as JSON (a line per decision)" --keys-from-secrets-manager verifier -- "$bin/authorizer"
authorizer_variant authorizer-env-key "authorizer, key from JWT_PRIVATE_KEY (no Secrets Manager client)" \
  -- "$bin/authorizer"
if [ -n "$BENCH_PYTHON_RUNTIME" ]; then
  PYTHONPATH="$ROOT/bench/peers/python" cold="$cold_peers" runtime --id python-authorizer \
    --name "Python + PyJWT (awslambdaric)" --kind peer --floor "$bin/echo" --warm "$warm" --event "$out/events.jsonl" \
    --out "$results/runtime_python-authorizer.json" \
    -- "$BENCH_PYTHON" -m awslambdaric authorizer.handler
else
  log "no awslambdaric for $(uname -s) (it has wheels for Linux only): measure 3 runs without the Python peer"
fi
NODE_PATH="$BENCH_NODE_MODULES" cold="$cold_peers" runtime --id node-authorizer \
  --name "Node + jsonwebtoken (KeyObject)" --kind peer --floor "$bin/echo" --warm "$warm" --event "$out/events.jsonl" \
  --out "$results/runtime_node-authorizer.json" \
  -- node bench/peers/node/runtime.js "$ROOT/bench/peers/node/authorizer_jsonwebtoken.js"

log "issue 3: a 1 MiB signup (413) against a signup that hashes (409), $slow each"
"$BENCH_PYTHON" bench/signup_events.py "$out"
for case in hashing oversized; do
  "$bin/bench" runtime --cold 0 --warm "$slow" --warm-runs 1 --id "signup-$case" --name "signup ($case)" --kind function \
    --event "$out/signup-$case.json" --out "$out/signup-$case.json.result" -- "$bin/signup"
done
"$BENCH_PYTHON" bench/oversized.py "$out" "$results/http_413.json"

log "4. sizes: exactly one TLS stack, and the zips sam build makes"
"$BENCH_PYTHON" bench/sizes.py "$results/sizes.json" "$mode" "${functions[@]}"

log "5. argon2id at the production parameters: ours and argon2-cffi, then ours under Lambda-like CPU quotas"
"$bin/bench-hash" "$results/argon2_ours.json" --iterations "$argon"
"$BENCH_PYTHON" bench/peers/python/argon2_bench.py "$results/argon2_argon2-cffi.json" --iterations "$argon"

# Lambda's CPU share at 128 / 512 / 1024 / 1769 MB, as a CPU quota when this machine lets us set
# one (cgroup v1 or v2, as root); otherwise BENCHMARKS.md shows the projection alone.
# cpu_quota_group PERMILLE: creates a cgroup with that share of one CPU and prints its path.
cpu_quota_group() {
  local dir
  if [ -w /sys/fs/cgroup/cpu ] && [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    dir="/sys/fs/cgroup/cpu/jwt-bench-$$-$1"
    mkdir -p "$dir" && echo 100000 >"$dir/cpu.cfs_period_us" && echo $(($1 * 100)) >"$dir/cpu.cfs_quota_us"
  elif [ -w /sys/fs/cgroup/cgroup.subtree_control ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    dir="/sys/fs/cgroup/jwt-bench-$$-$1"
    mkdir -p "$dir" && echo "$(($1 * 100)) 100000" >"$dir/cpu.max"
  else
    return 1
  fi 2>/dev/null && echo "$dir"
}
scaled=()
for memory_share in 128:72 512:290 1024:580 1769:1000; do
  memory="${memory_share%:*}" share="${memory_share#*:}"
  if ! group="$(cpu_quota_group "$share")"; then
    log "no CPU quota can be set here: the memory-size table is a projection only"
    break
  fi
  (echo "$BASHPID" >"$group/cgroup.procs" &&
    exec "$bin/bench-hash" "$out/argon2-$memory.json" --iterations "$argon_scaled")
  rmdir "$group"
  scaled+=("$memory:$share")
done
if [ "${#scaled[@]}" -gt 0 ]; then
  "$BENCH_PYTHON" bench/argon2_scaled.py "$out" "$results/argon2_scaled.json" "${scaled[@]}"
fi

log "6. list-work: one page with $others items of other users"
"$bin/bench" list-work "$results/list_work.json" --others "$others" --samples "$samples"

log "an uncached authorizer decision: the token alone, then with the account and session reads"
"$bin/examples/revocation_cost" "$results/revocation.json" "$revocation_rounds"

log "deleting an account as its work items grow: $erase_sizes"
# shellcheck disable=SC2086 # the sizes are words
"$bin/examples/erase_cost" "$results/erase.json" $erase_sizes

log "the per-source limit on /auth and /refresh: $source_limit_rounds counted requests from one source"
"$bin/examples/source_limit_cost" "$results/source_limit.json" "$source_limit_rounds"

if [ "$mode" = full ]; then
  report=(--out BENCHMARKS.md --chart bench/chart.svg)
else
  report=(--out "$out/BENCHMARKS.md" --chart "$out/chart.svg")
fi
python3 bench/report.py "$results" "${report[@]}"
log "wrote ${report[1]} and ${report[3]}"

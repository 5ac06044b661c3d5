#!/usr/bin/env bash
# `make test`: lint, then every test against a real DynamoDB Local and a real `cargo lambda watch`.
set -euo pipefail
set -m # background jobs get their own process group, so cleanup reaches their children
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# FUZZ_SECONDS=0 skips fuzzing (never in CI), and with it the nightly toolchain and cargo-fuzz.
fuzz_seconds="${FUZZ_SECONDS:-15}"
if [ -n "${CI:-}" ] && [ "$fuzz_seconds" -le 0 ]; then fuzz_seconds=15; fi

ensure_tools
ensure_python_test_tools
ensure_node_test_tools
ensure_checkov
if [ "$fuzz_seconds" -gt 0 ]; then ensure_fuzz; fi

log "cargo fmt --check"
cargo fmt --all -- --check
log "cfn-lint template.yaml"
cfn-lint template.yaml
log "checkov template.yaml (every finding fixed, or skipped in the template with its reason)"
"$LOCAL/checkov/bin/checkov" -f template.yaml --framework cloudformation --compact --quiet --skip-download
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "building the workspace once for every test below"
cargo build --workspace --all-targets --locked

stop_on_exit
ddb_port="$(free_port)"
start_dynamodb "$ddb_port"
use_local_aws "$ddb_port"
start_secrets_manager "$(free_port)"

# The API under `cargo lambda watch` gets its own tables and a fresh random secret.
suffix="$(date +%s)-$$"
use_tables "e2e-$suffix"
key_file="$LOCAL/jwt-private-key-$suffix.pem"
cargo run --quiet --locked -p auth-core --features keygen --bin local-key -- "$key_file"
JWT_PRIVATE_KEY="$(cat "$key_file")" SERVER_SECRET="$(random_secret)"
rm -f "$key_file"
export SERVER_SECRET
# A short grace window lets the end-to-end tests see reuse detection without waiting long.
# Revocation must show at once in the end-to-end tests; the account-check cache has unit tests.
export JWT_PRIVATE_KEY REFRESH_GRACE_SECONDS=1 ACCOUNT_CHECK_CACHE_SECONDS=0
# `cargo lambda watch` sends every request from 127.0.0.1: the per-source limits stay on (each
# request still writes its counter, for tests/iam.rs) but high enough for the whole suite; the
# DynamoDB Local suite shows them refusing, on events from several addresses.
export AUTH_SOURCE_LIMIT_PER_MINUTE=1000000 REFRESH_SOURCE_LIMIT_PER_MINUTE=1000000
cargo run --quiet --locked -p auth-core --features keygen --bin create-tables

watch_port="$(free_port)"
# The issuer is the API's own URL, as deployed: discovery is then served under it.
export JWT_ISSUER="http://127.0.0.1:$watch_port"
export INTEROP_PYTHON="$LOCAL/venv/bin/python"
log "starting cargo lambda watch on 127.0.0.1:$watch_port"
# Its functions log the DynamoDB permissions their calls need, for tests/iam.rs (debug builds).
call_log="$LOCAL/dynamodb-calls-$suffix.log"
DYNAMODB_CALL_LOG="$call_log" \
  cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$watch_port" \
  >"$LOCAL/watch-test.log" 2>&1 </dev/null &
BG_PIDS+=("$!")
wait_for_http "$watch_port" "cargo lambda watch" "$!" "$LOCAL/watch-test.log"

# A second API whose DynamoDB traffic goes through a proxy that tests/faults.rs runs and breaks.
export FAULT_PROXY_PORT="$(free_port)"
fault_port="$(free_port)"
log "starting a second cargo lambda watch on 127.0.0.1:$fault_port, its DynamoDB behind port $FAULT_PROXY_PORT"
AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$FAULT_PROXY_PORT" \
  cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$fault_port" \
  >"$LOCAL/watch-faults.log" 2>&1 </dev/null &
BG_PIDS+=("$!")
wait_for_http "$fault_port" "the second cargo lambda watch" "$!" "$LOCAL/watch-faults.log"
export FAULT_BASE_URL="http://127.0.0.1:$fault_port"

log "cargo test (unit, DynamoDB Local, Secrets Manager rotation, handlers on events/, end to end)"
export E2E_BASE_URL="http://127.0.0.1:$watch_port"
# A plain `cargo test` skips the suites that need this stack; here a suite that would skip fails.
export REQUIRE_LOCAL_STACK=1
if ! cargo test --workspace --locked 2>&1 | tee "$LOCAL/test-output.log"; then
  echo "--- last lines of the cargo lambda watch log ($LOCAL/watch-test.log)" >&2
  tail -n 40 "$LOCAL/watch-test.log" >&2
  exit 1
fi
log "schemathesis: generated requests against openapi.yaml (no 5xx, every response as documented)"
contract_user="contract-$suffix"
curl -sf -o /dev/null "$E2E_BASE_URL/signup" -H 'content-type: application/json' \
  -d "{\"username\":\"$contract_user\",\"password\":\"contract test password\"}"
contract_token="$(curl -sf "$E2E_BASE_URL/auth" -H 'content-type: application/json' \
  -d "{\"username\":\"$contract_user\",\"password\":\"contract test password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"
schemathesis_run() {
  SCHEMATHESIS_HOOKS=scripts.schemathesis_hooks PYTHONPATH="$ROOT" schemathesis run openapi.yaml \
    --url "$E2E_BASE_URL" -H "Authorization: Bearer $contract_token" \
    --checks all --exclude-checks positive_data_acceptance,unsupported_method \
    --phases examples,coverage,fuzzing --max-examples 10 --workers 1 --seed 1 "$@"
}
# /logout {"all": true} revokes the token the others use, so it runs last, on its own.
schemathesis_run --exclude-path /logout
schemathesis_run --include-path /logout

log "IAM: template.yaml grants every DynamoDB call the functions made above"
DYNAMODB_CALL_LOG="$call_log" cargo test --locked -p auth-core --test iam -- --ignored

log "make bench-smoke: every benchmark for a few iterations so none rots (no timing is checked)"
BENCH_MODE=smoke "$ROOT/scripts/bench.sh"

# A short, seeded run of each fuzz target so they cannot rot; new inputs go to a scratch folder,
# the committed corpus in fuzz/corpus is only read.
if [ "$fuzz_seconds" -gt 0 ]; then
  log "cargo fuzz: $fuzz_seconds s per target"
  # cargo fuzz would rewrite a stale lock file silently, testing what is not committed.
  (cd fuzz && cargo metadata --locked --format-version 1 >/dev/null) \
    || die "fuzz/Cargo.lock is out of date: run 'cargo update --workspace' in fuzz/ and commit it"
  for target in token_verify request_bodies; do
    scratch="$(mktemp -d)"
    if ! (cd fuzz && cargo +nightly fuzz run "$target" "$scratch" "corpus/$target" -- \
      -max_total_time="$fuzz_seconds" -seed=1 >"$LOCAL/fuzz-$target.log" 2>&1); then
      tail -n 40 "$LOCAL/fuzz-$target.log" >&2
      die "fuzz target $target failed (crash input in fuzz/artifacts/$target)"
    fi
    echo "fuzz $target: $(grep -E '^Done' "$LOCAL/fuzz-$target.log")"
    rm -rf "$scratch"
  done
fi

awk '/^test result:/ { passed += $4; failed += $6 } END { printf "total: %d passed, %d failed\n", passed, failed }' \
  "$LOCAL/test-output.log"

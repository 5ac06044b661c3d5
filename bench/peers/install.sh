#!/usr/bin/env bash
# Installs the benchmark peers' dependencies under .local/bench/ (git-ignored), skipping
# whatever is already up to date:
#   .local/bench/venv          Python venv with bench/peers/python/requirements.txt, and on Linux
#                              requirements-runtime.txt (awslambdaric has wheels for Linux only)
#   .local/bench/node          npm ci of bench/peers/node/package{,-lock}.json
# Source it and call ensure_bench_peers (which exports BENCH_PYTHON, BENCH_PYTHON_RUNTIME and
# BENCH_NODE_MODULES), or run it to install and print them. Needs Python 3.11+ (the pinned
# versions need it): BENCH_BASE_PYTHON, else the first of python3, python3.14 ... python3.11
# that is recent enough. Works with bash 3.2.
#   NODE_PATH="$BENCH_NODE_MODULES" node bench/peers/node/inprocess.js ...
#   "$BENCH_PYTHON" bench/peers/python/inprocess.py ...

BENCH_PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_REPO_ROOT="$(cd "$BENCH_PEERS_DIR/../.." && pwd)"

# SHA-256 of standard input (sha256sum on Linux, shasum on macOS).
_bench_sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum | cut -d' ' -f1
    else
        shasum -a 256 | cut -d' ' -f1
    fi
}

# Creates the venv and installs the pinned requirements unless the marker says they are in.
# The marker hashes the requirements and the base interpreter's version, so a new Python
# rebuilds the venv from scratch.
_bench_ensure_python() {
    local python venv="$BENCH_REPO_ROOT/.local/bench/venv" requirements
    python="$(bench_base_python)" || {
        echo "bench peers: need Python 3.11+ (Debian/Ubuntu: apt-get install python3.11-venv; macOS: brew install python)" >&2
        return 1
    }
    requirements=("$BENCH_PEERS_DIR/python/requirements.txt")
    [ "$(uname -s)" = Linux ] && requirements+=("$BENCH_PEERS_DIR/python/requirements-runtime.txt")
    local marker="$venv/.bench-requirements.sha256"
    local want
    want="$({ cat "${requirements[@]}"; "$python" -c 'import sys; print(sys.version)'; } | _bench_sha256)" || return 1
    if [ -x "$venv/bin/python" ] && [ "$(cat "$marker" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    echo "bench peers: installing Python requirements into $venv" >&2
    "$python" -m venv --clear "$venv" || return 1
    local file
    for file in "${requirements[@]}"; do
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            --only-binary=:all: -r "$file" || return 1
    done
    echo "$want" >"$marker"
}

# Prints the Python 3.11+ interpreter to build the venv with, or fails.
bench_base_python() {
    local candidate
    for candidate in ${BENCH_BASE_PYTHON:-python3 python3.14 python3.13 python3.12 python3.11}; do
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# Copies package.json and package-lock.json to .local/bench/node and runs npm ci there,
# unless the marker says that exact lock file is installed.
_bench_ensure_node() {
    local dir="$BENCH_REPO_ROOT/.local/bench/node"
    local marker="$dir/node_modules/.bench-lock.sha256"
    local want
    want="$(cat "$BENCH_PEERS_DIR/node/package.json" "$BENCH_PEERS_DIR/node/package-lock.json" | _bench_sha256)" || return 1
    if [ "$(cat "$marker" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    echo "bench peers: installing Node packages into $dir" >&2
    mkdir -p "$dir" || return 1
    cp "$BENCH_PEERS_DIR/node/package.json" "$BENCH_PEERS_DIR/node/package-lock.json" "$dir/" || return 1
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    echo "$want" >"$marker"
}

# Installs what is missing or stale, then exports BENCH_PYTHON and BENCH_NODE_MODULES.
ensure_bench_peers() {
    _bench_ensure_python || { echo "bench peers: Python install failed" >&2; return 1; }
    _bench_ensure_node || { echo "bench peers: Node install failed" >&2; return 1; }
    export BENCH_PYTHON="$BENCH_REPO_ROOT/.local/bench/venv/bin/python"
    export BENCH_NODE_MODULES="$BENCH_REPO_ROOT/.local/bench/node/node_modules"
    # 1 where the Python runtime peer (awslambdaric) is installed, else empty.
    BENCH_PYTHON_RUNTIME="$("$BENCH_PYTHON" -c 'import awslambdaric; print(1)' 2>/dev/null || true)"
    export BENCH_PYTHON_RUNTIME
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -eu
    ensure_bench_peers
    echo "BENCH_PYTHON=$BENCH_PYTHON"
    echo "BENCH_NODE_MODULES=$BENCH_NODE_MODULES"
    echo "BENCH_PYTHON_RUNTIME=$BENCH_PYTHON_RUNTIME"
fi

#!/usr/bin/env bash
# The RSA back ends we could link, side by side (BENCHMARKS.md, "RSA back ends"): builds a
# minimal binary per back end (ring, aws-lc-rs, RustCrypto's rsa 0.9 and 0.10, and a floor that
# checks nothing) with the workspace's release profile, then the harness, which times one RS256
# verify with each, spawns each binary for its cold start, and prints a Markdown table on stdout;
# then the verify columns again with the whole harness at opt-level 3.
#
#   bench/backends/run.sh [--samples S] [--cold N]      (defaults: 500 and 300)
#
# `make bench` runs it in full mode only: aws-lc-rs builds AWS-LC from C (a C compiler is
# needed; cmake is not, aws-lc-sys has a builder of its own), which `make test` never needs. Its
# own cargo project and lock file, outside the workspace, with its target directory beside it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="$here/target"
command -v cc >/dev/null || { echo "bench/backends: aws-lc-sys needs a C compiler (cc)" >&2; exit 1; }

bins="$CARGO_TARGET_DIR/bins"
rm -rf "$bins" && mkdir -p "$bins"
# One build per binary, each with its own back end's feature alone, so that none links another's.
for backend in none ring aws-lc-rs rsa rsa-0_10; do
  features=()
  [ "$backend" = none ] || features=(--features "$backend")
  echo "bench/backends: building verify-$backend" >&2
  cargo build --quiet --release --locked --bin "verify-$backend" ${features[@]+"${features[@]}"} >&2
  cp "$CARGO_TARGET_DIR/release/verify-$backend" "$bins/"
done
echo "bench/backends: building the harness" >&2
cargo build --quiet --release --locked --features harness --bin backends >&2
cargo build --quiet --profile release-o3 --locked --features harness --bin backends >&2
echo "bench/backends: measuring" >&2
"$CARGO_TARGET_DIR/release/backends" "$bins" "$@"
echo
echo "Built with $(rustc --version); AWS-LC compiled by $(cc --version | head -n 1)" \
  "through aws-lc-sys's own builder ($(command -v cmake >/dev/null && echo "cmake present, not used" || echo "no cmake on this machine"))."
echo
echo "### Verify at opt-level 3"
echo
echo "The same verify columns with the whole harness built at opt-level 3 (profile \`release-o3\`: the" \
  "workspace's release profile otherwise), as at \"z\" LLVM does not vectorise."
echo
samples=()
while [ $# -gt 0 ]; do
  case "$1" in --samples) samples=(--samples "$2"); shift 2 ;; *) shift ;; esac
done
"$CARGO_TARGET_DIR/release-o3/backends" --verify-only ${samples[@]+"${samples[@]}"}

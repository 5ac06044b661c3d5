.PHONY: dev test rotate-local-key bench bench-smoke

## Run the API locally on http://127.0.0.1:9000 over DynamoDB Local (installs what is missing).
dev:
	./scripts/dev.sh

## Run every check and test: fmt, clippy, cfn-lint, unit, DynamoDB Local, end to end.
test:
	./scripts/test.sh

## Rotate the local signing key: the current one becomes the previous one (restart `make dev`).
rotate-local-key:
	@test -s .local/jwt-private-key.pem || { echo "no local key yet: run make dev first"; exit 1; }
	@mv .local/jwt-private-key.pem .local/jwt-previous-private-key.pem
	@cargo run --quiet -p auth-core --features keygen --bin local-key -- .local/jwt-private-key.pem
	@echo "rotated: restart make dev; tokens signed with the previous key stay valid"

## Benchmarks beside the Python and Node peers; writes BENCHMARKS.md and bench/chart.svg (~20 min).
bench:
	./scripts/bench.sh

## Every benchmark for a handful of iterations (part of `make test`); timings are not meaningful.
bench-smoke:
	BENCH_MODE=smoke ./scripts/bench.sh

.PHONY: dev test

## Run the API locally on http://127.0.0.1:9000 over DynamoDB Local (installs what is missing).
dev:
	./scripts/dev.sh

## Run every check and test: fmt, clippy, cfn-lint, unit, DynamoDB Local, end to end.
test:
	./scripts/test.sh

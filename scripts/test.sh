#!/usr/bin/env bash
# Runs every test: installs system needs (scripts/setup.sh), checks gofmt, go vet
# and staticcheck (staticcheck.conf), then go test.
# Extra arguments go to go test (e.g. scripts/test.sh -run Drain ./core/...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pkgs=("./...")
[ $# -gt 0 ] && pkgs=("$@")
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -count=1 -timeout 40m "${pkgs[@]}"

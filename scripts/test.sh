#!/usr/bin/env bash
# Runs every test: installs system needs (scripts/setup.sh), then go test.
# Extra arguments go to go test (e.g. scripts/test.sh -run Drain ./core/...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pkgs=("./...")
[ $# -gt 0 ] && pkgs=("$@")
go vet ./...
go test -count=1 -timeout 40m "${pkgs[@]}"

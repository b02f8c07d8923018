#!/usr/bin/env bash
# Dyno runtime benchmarks (root): Start -> web process accepting on $PORT,
# paasd's runc runtime next to a bare `runc run` of the same root file system
# and app in the same run; then 200 idle dynos (heap per dyno, start/stop
# time). Results: bench/runtimes.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.d/30-runtimes.sh
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(uname -r)"
runc --version | head -1
n="${N:-50}"
go test -count=1 -run '^$' -bench 'StartToListen' -benchtime "${n}x" -timeout 30m ./runtimes/runc
go test -count=1 -run '^$' -bench 'IdleDynos' -benchtime 1x -timeout 30m ./runtimes/runc

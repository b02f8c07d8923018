#!/bin/sh
# interleaved rounds: wasmhost (builtin, wasm, wasm-ctxwatch, jsonv2, Health, Crossing) and goplugin Deliver1KiB
set -eu
cd "$(dirname "$0")/.."
d=$(mktemp -d)
go test -c -o $d/wasm.test ./core/pluginhost/wasmhost
go test -c -o $d/gp.test ./core/pluginhost/goplugin
for i in 1 2 3 4 5; do
  echo "# round $i: $(cat /proc/loadavg)"
  (cd core/pluginhost/wasmhost && PAASD_WASM_GUEST=${PAASD_WASM_GUEST:-/tmp/drain.wasm} $d/wasm.test -test.run XXX -test.bench 'Deliver1KiB|Health|Crossing' -test.benchtime 1s -test.benchmem)
  (cd core/pluginhost/goplugin && $d/gp.test -test.run XXX -test.bench 'Deliver1KiB' -test.benchtime 1s -test.benchmem)
done
rm -rf $d

#!/bin/sh
# rounds.sh PKG BENCH ROUNDS [BENCHTIME]: run the benchmarks BENCH of package
# PKG in ROUNDS separate rounds, every peer once per round, so that peers are
# interleaved in time on a shared machine (go test -count runs one peer's
# repeats back to back). Prints the load average before each round.
set -eu
pkg=$1 bench=$2 rounds=$3 benchtime=${4:-1s}
bin=$(mktemp -d)/bench.test
go test -c -o "$bin" "$pkg"
cd "$(go list -f '{{.Dir}}' "$pkg")"
i=1
while [ "$i" -le "$rounds" ]; do
	echo "# round $i: $(cat /proc/loadavg)"
	"$bin" -test.run XXX -test.bench "$bench" -test.benchtime "$benchtime" -test.benchmem
	i=$((i + 1))
done
rm -rf "$(dirname "$bin")"

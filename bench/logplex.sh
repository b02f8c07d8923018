#!/usr/bin/env bash
# Logplex benchmarks (see bench/logplex.md):
#   - lines/s, dyno output -> Logplex -> one live tail + one TCP syslog drain,
#     next to rsyslogd relaying the same lines imtcp -> omfwd, interleaved in
#     the same run (BenchmarkRelay/{logplex,rsyslog}, COUNT rounds);
#   - p99 write-to-tail latency at 50,000 lines/s (BenchmarkTailLatency);
#   - heap bytes per app with 1,000 apps x 1,500 lines (BenchmarkMemory1000Apps).
# Needs rsyslogd (scripts/setup.d/40-rsyslog.sh); starts its own, never the system's.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
COUNT=${COUNT:-5}
pkg=./plugins/drains/syslog
tmp=$(mktemp -d)
trap 'rc=$?; [ $rc -ne 0 ] && tail -30 "$tmp/full.log" >&2; rm -rf "$tmp"; exit $rc' EXIT
raw=$tmp/raw.txt
bin=$tmp/syslog.test
go test -c -o "$bin" "$pkg"
: > "$tmp/full.log"
run() { (cd "$pkg" && "$bin" -test.run '^$' "$@") 2>&1 | tee -a "$tmp/full.log" | grep '^Benchmark' | tee -a "$raw"; }

echo "# machine: $(nproc) cores; $(lscpu | sed -n 's/^Model name: *//p' | head -1); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(rsyslogd -v | head -1 | tr -s ' ')"
# One process per round, so that logplex and rsyslog alternate in time
# (go test -count would run all logplex rounds before all rsyslog rounds).
for _ in $(seq "$COUNT"); do
  run -test.bench 'Relay' -test.benchtime "${N}x"
done
run -test.bench 'TailLatency' -test.benchtime 250000x -test.count 3
run -test.bench 'Memory1000Apps' -test.benchtime 1x -test.count 3

# Medians per benchmark and unit, and the median of the per-round
# logplex/rsyslog ratios (each round runs logplex, then rsyslog).
awk '
function median(arr, n,   i, j, t) {
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
  return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i += 2) {
    unit = $(i + 1); key = name " " unit
    if (!(key in cnt)) order[++nk] = key
    vals[key, ++cnt[key]] = $i
  }
}
END {
  print "\n# medians"
  for (k = 1; k <= nk; k++) {
    key = order[k]; n = cnt[key]
    for (i = 1; i <= n; i++) a[i] = vals[key, i]
    printf "%-40s %14.4g  (n=%d)\n", key, median(a, n), n
  }
  n = cnt["BenchmarkRelay/logplex lines/s"]
  if (n > 0 && n == cnt["BenchmarkRelay/rsyslog lines/s"]) {
    for (i = 1; i <= n; i++) r[i] = vals["BenchmarkRelay/logplex lines/s", i] / vals["BenchmarkRelay/rsyslog lines/s", i]
    printf "%-40s %14.3g  (median of %d same-round ratios)\n", "logplex/rsyslog lines/s", median(r, n), n
  }
}' "$raw"

#!/usr/bin/env bash
# Router benchmark: a Go hello-world backend behind (1) nginx with upstream
# keepalive, (2) paasd's reference router, (3) the router with one http-wasm
# middleware; wrk against each, in the same run, same connections and
# duration, several rounds interleaved. Prints medians.
#
#   bench/router/run.sh [ROUNDS] [SECONDS] [CONNS]
#
# COMPARE=REV (a git revision) also builds the router of REV and runs its two
# wasm-middleware targets (base:router+wasm, base:router+gowasm) in the same
# rounds, for a before/after comparison on the same machine load.
#
# Needs wrk and nginx (scripts/setup.d/50-router-bench.sh).
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-10}
CONNS=${3:-64}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -f "$TMP/nginx.pid" ]; then kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk missing: run scripts/setup.d/50-router-bench.sh" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

BACK=127.0.0.1:19001; NG=127.0.0.1:19002; RT=127.0.0.1:19003; RTW=127.0.0.1:19004; RTG=127.0.0.1:19005
BRTW=127.0.0.1:19006; BRTG=127.0.0.1:19007
COMPARE=${COMPARE:-}
cd "$ROOT"
go build -o "$TMP/hello" ./bench/router/hello
go build -o "$TMP/routerd" ./bench/router/routerd
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$TMP/mw.wasm" ./plugins/router/testdata/addheader
ADDRS="$BACK $NG $RT $RTW $RTG"
if [ -n "$COMPARE" ]; then
  mkdir "$TMP/base"
  git archive "$COMPARE" | tar -x -C "$TMP/base"
  (cd "$TMP/base" && go build -o "$TMP/routerd-base" ./bench/router/routerd)
  "$TMP/routerd-base" -addr $BRTW -backends $BACK -middleware min & PIDS+=($!)
  "$TMP/routerd-base" -addr $BRTG -backends $BACK -middleware "wasm:$TMP/mw.wasm" & PIDS+=($!)
  ADDRS="$ADDRS $BRTW $BRTG"
fi

"$TMP/hello" -addr $BACK & PIDS+=($!)
"$TMP/routerd" -addr $RT -backends $BACK & PIDS+=($!)
"$TMP/routerd" -addr $RTW -backends $BACK -middleware min & PIDS+=($!)
"$TMP/routerd" -addr $RTG -backends $BACK -middleware "wasm:$TMP/mw.wasm" & PIDS+=($!)
cat > "$TMP/nginx.conf" <<NGX
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
daemon on;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP;
  proxy_temp_path $TMP;
  upstream app { server $BACK; keepalive 256; }
  server {
    listen $NG;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
NGX
"$NGINX" -c "$TMP/nginx.conf" -p "$TMP"
for a in $ADDRS; do
  for _ in $(seq 50); do curl -fs -o /dev/null -H 'Host: bench.localhost' "http://$a/" && break; sleep 0.2; done
done

run() { # name addr
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H 'Host: bench.localhost' "http://$2/" > "$TMP/out" 2>&1
  rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/out")
  p50=$(awk '$1=="50%" {print $2}' "$TMP/out")
  p99=$(awk '$1=="99%" {print $2}' "$TMP/out")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$TMP/out")
  echo "$1 $rps $p50 $p99 ${non2xx:-0}" >> "$TMP/results"
  echo "round $r: $1 req/s=$rps p50=$p50 p99=$p99 non2xx=${non2xx:-0}" >&2
}
echo "before: $(uptime)" >&2
for r in $(seq "$ROUNDS"); do
  run direct $BACK
  run nginx $NG
  run router $RT
  run router+wasm $RTW
  run router+gowasm $RTG
  if [ -n "$COMPARE" ]; then
    run base:router+wasm $BRTW
    run base:router+gowasm $BRTG
  fi
done
echo "after: $(uptime)" >&2
echo
echo "machine: $(nproc) cores, $(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2}')"
echo "wrk -t2 -c$CONNS -d${SECS}s, $ROUNDS rounds, medians${COMPARE:+ (base: $COMPARE)}:"
python3 - "$TMP/results" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    n, rps, p50, p99, bad = line.split()
    rows.setdefault(n, []).append((float(rps), p50, p99, int(bad)))
def ms(s):
    for suf, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if s.endswith(suf):
            return float(s[:-len(suf)]) * f
    return float(s)
ng = statistics.median(r[0] for r in rows["nginx"])
print(f"{'target':<20} {'req/s':>10} {'x nginx':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
for n in rows:
    rs = rows[n]
    rps = statistics.median(r[0] for r in rs)
    p50 = statistics.median(ms(r[1]) for r in rs)
    p99 = statistics.median(ms(r[2]) for r in rs)
    print(f"{n:<20} {rps:>10.0f} {rps/ng:>8.2f} {p50:>8.2f} {p99:>8.2f} {sum(r[3] for r in rs):>8}")
PY

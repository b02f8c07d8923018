#!/usr/bin/env bash
# Router benchmark peers: wrk (load generator) and nginx (the reverse proxy
# the paasd router is compared with in bench/router/run.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/00-apt.sh"
apt_need wrk nginx-light
# The package starts a system nginx on port 80; the benchmark runs its own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
if [ -f /run/nginx.pid ]; then nginx -s quit >/dev/null 2>&1 || true; fi

#!/usr/bin/env bash
# Dyno runtimes: iptables (NAT egress and the dyno-to-dyno DROP rule of the
# runc runtime), runc (the bare-runc peer in bench/runtimes.sh). The dynos'
# seccomp profile needs no system package (runtimes/internal/seccompexec).
set -euo pipefail
source "$(dirname "$0")/00-apt.sh"
apt_need iptables runc

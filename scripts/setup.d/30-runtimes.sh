#!/usr/bin/env bash
# Dyno runtimes: iptables (NAT egress and the dyno-to-dyno DROP rule of the
# runc runtime), libseccomp-dev + pkg-config (build with -tags seccomp for
# the dynos' seccomp profile), runc (the bare-runc peer in bench/runtimes.sh).
set -euo pipefail
source "$(dirname "$0")/00-apt.sh"
apt_need iptables libseccomp-dev pkg-config runc

#!/usr/bin/env bash
# Logplex end-to-end tests and benchmarks start their own rsyslogd (a private
# config in a temp dir, foreground, own pid file); they never touch the
# system's rsyslog service. This only installs the daemon from Debian.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/00-apt.sh"
apt_need rsyslog rsyslog-gnutls

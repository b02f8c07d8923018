#!/usr/bin/env bash
# Installs what the test suite needs from the system, idempotently.
# Each area of the project keeps its needs in scripts/setup.d/NN-name.sh;
# this script runs them all in order. Safe to run again: every step checks
# before it installs. Needs root for Debian packages (CI runs as root); as a
# non-root user it skips the installs and the tests that need them skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
for f in scripts/setup.d/*.sh; do
  [ -e "$f" ] || continue
  echo "== setup: $f"
  bash "$f"
done

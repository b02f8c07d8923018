#!/usr/bin/env bash
# Shared helper: apt_need PKG... installs the Debian packages that are missing.
# Sourced by the other setup.d scripts; run alone it refreshes the index once.
set -euo pipefail
apt_need() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "setup: not root, cannot install ${missing[*]}; tests that need them will skip" >&2
    return 0
  fi
  if [ ! -f /tmp/.paasd-apt-updated ]; then
    apt-get update -qq && touch /tmp/.paasd-apt-updated
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  apt_need ca-certificates git
fi

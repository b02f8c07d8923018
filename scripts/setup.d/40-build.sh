#!/usr/bin/env bash
# Build pipeline: git (smart HTTP via git http-backend, the pushing client
# in the end-to-end tests) and the stacks' language toolchains that the
# reference buildpacks use: node + npm (nodejs), python3 + pip (python,
# static). Go comes from /usr/local/go (the project's toolchain).
set -euo pipefail
source "$(dirname "$0")/00-apt.sh"
apt_need git nodejs python3 python3-pip
# Debian packages npm separately; an upstream nodejs package ships it.
command -v npm >/dev/null 2>&1 || apt_need npm

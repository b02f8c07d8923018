#!/usr/bin/env bash
# paas CLI tests: git (remotes, apps:create in a repository) and stty (the
# paas run PTY tests).
set -euo pipefail
. "$(dirname "$0")/00-apt.sh"
apt_need git coreutils

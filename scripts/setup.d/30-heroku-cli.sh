#!/usr/bin/env bash
# The official Heroku CLI, for the end-to-end test that drives paasd's
# Platform API with it (core/daemon TestHerokuCLI). Installed from the npm
# registry at a pinned version. It asks for Node.js >= 20; Debian's nodejs
# and npm packages are installed when npm is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup.d/00-apt.sh

HEROKU_CLI_VERSION=11.10.0

if ! command -v npm >/dev/null 2>&1; then
  apt_need nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: warning: node $(node --version 2>/dev/null || echo missing) is older than 20, which the Heroku CLI $HEROKU_CLI_VERSION asks for" >&2
fi
installed=$(heroku --version 2>/dev/null | sed -n 's|^heroku/\([0-9.]*\).*|\1|p' || true)
if [ "$installed" = "$HEROKU_CLI_VERSION" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: not root, not installing the Heroku CLI; TestHerokuCLI will skip" >&2
  exit 0
fi
npm install -g --no-fund --no-audit "heroku@$HEROKU_CLI_VERSION" >/dev/null
heroku --version >/dev/null || { echo "setup: the Heroku CLI does not run on node $(node --version)" >&2; exit 1; }

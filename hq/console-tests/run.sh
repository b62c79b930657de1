#!/usr/bin/env bash
# The console's browser suite (suite.mjs): installs Debian's chromium and the pinned npm
# packages when missing, builds the gridpatrol binary, and runs. Prints
# "console browser suite: N passed, N failed" and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
# Chromium, and a CJK font so that the screenshots show the zh-CN labels.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -d /usr/share/fonts/truetype/wqy ] || need+=(fonts-wqy-zenhei)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
command -v node >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
# The lock file pins playwright-core and axe-core; node_modules is reused while it matches.
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.gridpatrol-lock-sha256 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund --silent
  echo "$want" > node_modules/.gridpatrol-lock-sha256
fi
(cd ../.. && cargo build -q -p gridpatrol)
node suite.mjs

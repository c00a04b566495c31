#!/usr/bin/env bash
# Before `npm test`: the Temporal UI test drives a real headless Chromium. Debian's package is the
# one used here (browser downloads from test tools cannot work on these machines). Installs it when
# missing and this is a Debian machine where we are root; otherwise says how, and carries on.
set -euo pipefail
if [ -n "${LEADCYCLE_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the Temporal UI test (one time)…"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "note: no chromium found; the Temporal UI test will fail. Install Chromium, or set LEADCYCLE_CHROMIUM to a Chrome/Chromium binary." >&2

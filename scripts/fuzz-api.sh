#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis (PyPI, pinned below) against a stack this run starts itself:
# a Temporal dev server on a temp dir (or TEMPORAL_ADDRESS), a worker and the API on free ports.
# Exits non-zero on any 5xx or crash. Extra arguments go to `schemathesis run`.
#
#   scripts/fuzz-api.sh                       # 30 examples per operation, fixed seed
#   FUZZ_MAX_EXAMPLES=200 scripts/fuzz-api.sh --phases fuzzing
#
# The first run installs schemathesis into <LEADCYCLE_DATA_DIR or .leadcycle>/tools/fuzz-venv.
set -euo pipefail

SCHEMATHESIS_PIN="schemathesis==4.32.5"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LEADCYCLE_DATA_DIR:-$root/.leadcycle}/tools/fuzz-venv"
marker="$venv/leadcycle-pins.txt"

install_schemathesis() {
  echo "[fuzz-api] installing $SCHEMATHESIS_PIN from PyPI into $venv (one-time)…" >&2
  local started=$SECONDS
  # pip --quiet says nothing for a minute or more: a line every 10 s says it still runs.
  (while sleep 10; do echo "[fuzz-api] still installing $SCHEMATHESIS_PIN ($((SECONDS - started))s)" >&2; done) &
  local ticker=$!
  trap "kill $ticker 2>/dev/null" EXIT
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$SCHEMATHESIS_PIN"
  # Written last: a half-finished install has no marker and is redone next time.
  echo "$SCHEMATHESIS_PIN" >"$marker"
  kill "$ticker" 2>/dev/null
  trap - EXIT
  echo "[fuzz-api] installed $SCHEMATHESIS_PIN in $((SECONDS - started))s" >&2
}

if [[ "$(cat "$marker" 2>/dev/null)" != "$SCHEMATHESIS_PIN" || ! -x "$venv/bin/schemathesis" ]]; then
  mkdir -p "$(dirname "$venv")"
  if command -v flock >/dev/null 2>&1; then
    # Two runs at once (CI and a developer, two test files) must not install over each other.
    exec 9>"$venv.lock"
    flock 9
    if [[ "$(cat "$marker" 2>/dev/null)" != "$SCHEMATHESIS_PIN" || ! -x "$venv/bin/schemathesis" ]]; then
      install_schemathesis
    fi
    flock -u 9
  else
    install_schemathesis
  fi
fi

exec "$root/node_modules/.bin/tsx" "$root/scripts/fuzz-api.ts" --schemathesis "$venv/bin/schemathesis" -- "$@"

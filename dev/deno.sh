#!/usr/bin/env bash
# The project's pinned Deno (2.9.6), from the npm package `deno`.
#
#   bash dev/deno.sh <deno args...>    run the pinned Deno, e.g. `bash dev/deno.sh task test`
#   bash dev/deno.sh --bin-dir         print a directory holding a `deno` of the pinned version;
#                                      put it first on PATH (deno tasks call `deno` themselves):
#                                        export PATH="$(bash dev/deno.sh --bin-dir):$PATH"
#
# Uses `deno` from PATH when it already is the pinned version; otherwise fetches it once with
# `npx -y deno@<version>` (needs Node.js + npm: apt-get install -y nodejs npm) and links the
# native binary as dev/.cache/bin/deno.
set -euo pipefail

DENO_VERSION=2.9.6
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$ROOT/dev/.cache/bin"

is_pinned() { [[ "$("$1" --version 2>/dev/null | head -n 1)" == "deno $DENO_VERSION "* ]]; }

# Prints a directory whose `deno` is the pinned version.
pinned_bin_dir() {
  if [[ -x "$BIN_DIR/deno" ]] && is_pinned "$BIN_DIR/deno"; then
    printf '%s\n' "$BIN_DIR"
    return 0
  fi
  local found
  if found="$(command -v deno 2>/dev/null)" && is_pinned "$found"; then
    printf '%s\n' "$(dirname "$found")"
    return 0
  fi
  if ! command -v npx >/dev/null 2>&1; then
    printf 'deno: cannot get Deno %s: npx (Node.js + npm) is missing\n' "$DENO_VERSION" >&2
    printf '  install on Debian/Ubuntu: apt-get install -y nodejs npm\n' >&2
    exit 1
  fi
  printf 'deno: fetching Deno %s with npx (first run only)...\n' "$DENO_VERSION" >&2
  local exec_path
  exec_path="$(npx -y "deno@$DENO_VERSION" eval --quiet 'console.log(Deno.execPath())' </dev/null)" || {
    printf 'deno: cannot run `npx -y deno@%s`; check that the npm registry is reachable\n' \
      "$DENO_VERSION" >&2
    exit 1
  }
  [[ -x "$exec_path" ]] && is_pinned "$exec_path" || {
    printf 'deno: npx gave an unexpected Deno binary: %s\n' "$exec_path" >&2
    exit 1
  }
  mkdir -p "$BIN_DIR"
  ln -sfn "$exec_path" "$BIN_DIR/deno"
  printf '%s\n' "$BIN_DIR"
}

if [[ "${1:-}" == "--bin-dir" ]]; then
  pinned_bin_dir
  exit 0
fi
dir="$(pinned_bin_dir)"
exec "$dir/deno" "$@"

#!/usr/bin/env bash
# Microsoft's SARIF Multitool for tests/reporters/test_sarif.py (`sarif-multitool validate`).
# Installed into <repo>/node_modules (git-ignored), pinned. Idempotent: does nothing when the
# pinned version is already there. The npm package ships a self-contained .NET binary per OS.
set -euo pipefail
VERSION=5.7.0
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$REPO/node_modules/.bin/sarif-multitool"
if [ -x "$BIN" ]; then
  have="$("$BIN" --version 2>&1 || true)"
  case "$have" in *"Multitool $VERSION"*) exit 0 ;; esac
fi
command -v npm >/dev/null 2>&1 || { echo "sarif-multitool: npm not found, skipping" >&2; exit 0; }
pkgs=("@microsoft/sarif-multitool@$VERSION")
# The platform binary is an optional dependency with a ^ range: pin it too.
case "$(uname -s)" in
  Linux) pkgs+=("@microsoft/sarif-multitool-linux@$VERSION") ;;
  Darwin) pkgs+=("@microsoft/sarif-multitool-darwin@$VERSION") ;;
esac
npm install --no-save --no-audit --no-fund --prefix "$REPO" "${pkgs[@]}"
# npm may not run the package's postinstall (chmod u+x); do it ourselves.
for exe in "$REPO"/node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool; do
  [ -e "$exe" ] && chmod u+x "$exe"
done
"$BIN" --version

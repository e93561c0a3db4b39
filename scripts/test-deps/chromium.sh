#!/usr/bin/env bash
# Headless Chromium for tests/reporters/test_html.py (renders report.html). Idempotent.
set -euo pipefail
command -v chromium >/dev/null 2>&1 || { apt-get update -q && \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

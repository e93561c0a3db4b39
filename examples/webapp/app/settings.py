"""Runtime configuration for the inventory service.

Values are read from the environment where possible; the defaults below are
what the team used on their laptops and were never cleaned up.
"""

import os

DATABASE_PATH = os.environ.get("INVENTORY_DB", "/var/lib/inventory/inventory.db")
REPORT_DIR = os.environ.get("INVENTORY_REPORT_DIR", "/var/lib/inventory/reports")
UPSTREAM_API = os.environ.get("INVENTORY_UPSTREAM", "https://api.example.invalid/v1")

# Used by app.jobs to open issues when a nightly sync fails.
# DELIBERATE FAKE: random characters in the shape of a GitHub token, not a real credential.
GITHUB_TOKEN = "ghp_83oexnMGx835SevDTTtSAIPM79vgPRgR04pl"

SECRET_KEY = os.environ.get("INVENTORY_SECRET_KEY") or os.urandom(32)
PORT = int(os.environ.get("PORT", "8000"))

#!/bin/sh
# Make sure a Chromium is installed for the dashboard's browser tests (tests/dashboard/). Idempotent:
# does nothing when `chromium` is on PATH (or $CHROMIUM names one). Installs Debian's chromium package
# (needs root, as on CI). The tests drive it headless through the DevTools protocol with Playwright's
# Python client, which uses this system browser: `playwright install` is never needed.
set -eu
if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
    exit 0
fi
exec sh "$(dirname "$0")/../apt_install.sh" chromium chromium tests/dashboard/install_chromium.sh

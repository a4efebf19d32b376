#!/bin/sh
# Make sure a Chromium is installed for the dashboard's browser tests (tests/dashboard/). Idempotent:
# does nothing when `chromium` is on PATH (or $CHROMIUM names one). Installs Debian's chromium package
# (needs root, as on CI). The tests drive it headless through the DevTools protocol with Playwright's
# Python client, which uses this system browser: `playwright install` is never needed.
set -eu

if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
    exit 0
fi
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/dashboard/install_chromium.sh: no chromium on PATH and no apt-get; install Chromium and set CHROMIUM=/path/to/chromium" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "tests/dashboard/install_chromium.sh: installing chromium needs root (or sudo)" >&2
        exit 1
    fi
fi
echo "tests/dashboard/install_chromium.sh: installing chromium (Debian package)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || {
    echo "tests/dashboard/install_chromium.sh: chromium still not on PATH after apt-get install" >&2
    exit 1
}

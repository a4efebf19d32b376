#!/bin/sh
# tests/apt_install.sh PACKAGE COMMAND: make sure COMMAND is on PATH, installing Debian's PACKAGE when
# it is not (needs root or sudo, as on CI). Shared by tests/redis/install_redis.sh and
# tests/dashboard/install_chromium.sh. RUNLEVEL=1 tells invoke-rc.d not to start a package's own
# service (the tests start their own servers).
set -eu
package="$1"
command="$2"
who="${3:-tests/apt_install.sh}"

if command -v "$command" >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: no $command on PATH and no apt-get; install $package yourself" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "$who: installing $package needs root (or sudo)" >&2
        exit 1
    fi
fi
echo "$who: installing $package (Debian package)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO env RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "$package" >/dev/null
command -v "$command" >/dev/null 2>&1 || {
    echo "$who: $command still not on PATH after apt-get install $package" >&2
    exit 1
}

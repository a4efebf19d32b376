#!/bin/sh
# Make sure a real redis-server is on PATH for the Redis backend tests (tests/redis/, marker "redis").
# Idempotent: does nothing when one is already installed. Installs Debian's redis-server package
# (needs root, as on CI); the package's own service is not started, the tests run their own server.
set -eu

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/redis/install_redis.sh: no redis-server on PATH and no apt-get; install Redis >= 6.2 yourself" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "tests/redis/install_redis.sh: installing redis-server needs root (or sudo)" >&2
        exit 1
    fi
fi
echo "tests/redis/install_redis.sh: installing redis-server (Debian package)"
# RUNLEVEL=1 tells invoke-rc.d not to start the package's own service (the tests start their own
# servers on free ports); containers without an init system skip it anyway.
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO env RUNLEVEL=1 apt-get install -y -qq --no-install-recommends redis-server >/dev/null
command -v redis-server >/dev/null 2>&1 || {
    echo "tests/redis/install_redis.sh: redis-server still not on PATH after apt-get install" >&2
    exit 1
}

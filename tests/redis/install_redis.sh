#!/bin/sh
# Make sure a real redis-server is on PATH for the Redis backend tests (tests/redis/, marker "redis").
# Idempotent: does nothing when one is already installed. Installs Debian's redis-server package
# (needs root, as on CI); the package's own service is not started, the tests run their own server.
set -eu
exec sh "$(dirname "$0")/../apt_install.sh" redis-server redis-server tests/redis/install_redis.sh

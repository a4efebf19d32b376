#!/bin/sh
# Install the Claude Code CLI pinned in tests/e2e/package.json (exact version, from package-lock.json)
# into tests/e2e/node_modules, and the previous pin (tests/e2e/previous/package.json) into
# tests/e2e/previous/node_modules: one e2e module (test_guard_bypass_e2e.py) runs on both, so a
# change between CLI releases shows up in CI. Idempotent: does nothing when a pinned version is
# already installed. Needs node and npm; network access to the npm registry on first run.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

installed_version() {
    [ -x "$1" ] || return 0
    # A temporary HOME: --version must not touch the real user's ~/.claude.
    tmp_home=$(mktemp -d)
    HOME="$tmp_home" DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        "$1" --version 2>/dev/null | cut -d' ' -f1 || true
    rm -rf "$tmp_home"
}

install_pin() {
    dir=$1
    bin="$dir/node_modules/.bin/claude"
    want=$(node -p 'require(process.argv[1]).dependencies["@anthropic-ai/claude-code"]' "$dir/package.json")
    have=$(installed_version "$bin")
    if [ "$have" = "$want" ]; then
        echo "install_cli.sh: Claude Code $want already installed at $bin"
        return 0
    fi
    echo "install_cli.sh: installing Claude Code $want (found: ${have:-none}) with npm ci in $dir"
    # --foreground-scripts: the package's postinstall copies the native binary over bin/claude.exe;
    # show its output if it fails.
    npm ci --prefix "$dir" --no-audit --no-fund --foreground-scripts
    have=$(installed_version "$bin")
    if [ "$have" != "$want" ]; then
        echo "install_cli.sh: error: after npm ci, $bin reports version '${have:-nothing}', expected $want" >&2
        exit 1
    fi
    echo "install_cli.sh: Claude Code $have installed at $bin"
}

install_pin "$here"
install_pin "$here/previous"

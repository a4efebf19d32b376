#!/bin/sh
# Install the Claude Code CLI pinned in tests/e2e/package.json (exact version, from package-lock.json)
# into tests/e2e/node_modules, for the end-to-end tests. Idempotent: does nothing when the pinned
# version is already installed. Needs node and npm; network access to the npm registry on first run.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
bin="$here/node_modules/.bin/claude"
want=$(node -p 'require(process.argv[1]).dependencies["@anthropic-ai/claude-code"]' "$here/package.json")

installed_version() {
    [ -x "$bin" ] || return 0
    # A temporary HOME: --version must not touch the real user's ~/.claude.
    tmp_home=$(mktemp -d)
    HOME="$tmp_home" DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        "$bin" --version 2>/dev/null | cut -d' ' -f1 || true
    rm -rf "$tmp_home"
}

have=$(installed_version)
if [ "$have" = "$want" ]; then
    echo "install_cli.sh: Claude Code $want already installed at $bin"
    exit 0
fi

echo "install_cli.sh: installing Claude Code $want (found: ${have:-none}) with npm ci in $here"
# --foreground-scripts: the package's postinstall copies the native binary over bin/claude.exe;
# show its output if it fails.
npm ci --prefix "$here" --no-audit --no-fund --foreground-scripts

have=$(installed_version)
if [ "$have" != "$want" ]; then
    echo "install_cli.sh: error: after npm ci, $bin reports version '${have:-nothing}', expected $want" >&2
    exit 1
fi
echo "install_cli.sh: Claude Code $have installed at $bin"

#!/usr/bin/env bash
# Install the claude-hooks runtime into a project and register its hooks with Claude Code.
#
#   ./install.sh [PROJECT_DIR]          install (default: the current directory)
#   ./install.sh --uninstall [PROJECT]  remove exactly what install added (logs and state are kept)
#   ./install.sh --status [PROJECT]     what is installed, where, which version, which events
#   ./install.sh --with-redis [PROJECT] also install the Redis client, for [backend] url = "redis://..."
#   ./install.sh --demo                 install into a throwaway sample project, replay a recorded
#                                       Claude Code session through the installed hooks, then (with
#                                       Node.js + npm) run a real Claude Code session against a local
#                                       scripted stand-in for the API (CLAUDE_HOOKS_DEMO_LIVE=0: skip)
#
# Environment: PYTHON=/path/to/python3.11+ to choose the interpreter.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUNTIME_REL=".claude/hooks-runtime"
WITH_REDIS=0

die() { echo "install.sh: $*" >&2; exit 1; }

# A failed install leaves nothing behind: not the environment it was creating, not an empty .claude/.
CREATED_RUNTIME=""
CREATED_CLAUDE_DIR=""
cleanup_failed_install() {
    local status=$?
    [ "$status" -ne 0 ] || return 0
    if [ -n "$CREATED_RUNTIME" ] && [ -d "$CREATED_RUNTIME" ]; then rm -rf "$CREATED_RUNTIME"; fi
    if [ -n "$CREATED_CLAUDE_DIR" ]; then rmdir "$CREATED_CLAUDE_DIR" 2>/dev/null || true; fi
}
trap cleanup_failed_install EXIT

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

# shellcheck source=hooks/find-python.sh
. "$REPO/hooks/find-python.sh"  # first_python, shared with the plugin's launcher

find_python() {
    first_python "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python \
        || die "needs Python >= 3.11 (set PYTHON=/path/to/python3.11 or newer)"
}

source_fingerprint() {
    # Changes whenever the runtime's sources change, so a re-install after 'git pull' updates the venv
    # and a second install of the same sources does nothing.
    "$1" - "$REPO" <<'EOF'
import hashlib, os, sys
root = sys.argv[1]
h = hashlib.sha256()
for top in ("pyproject.toml", "lib", "hooks"):
    path = os.path.join(root, top)
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs
        if f.endswith((".py", ".typed", ".toml", ".jsonl", ".md")) and "__pycache__" not in d
    )
    for f in files:
        h.update(os.path.relpath(f, root).encode())
        with open(f, "rb") as fh:
            h.update(fh.read())
print(h.hexdigest())
EOF
}

project_dir() {  # the project folder as an absolute path, or stop
    [ -d "$1" ] || die "$1 is not a directory"
    (cd "$1" && pwd)
}

clone_installer() {  # python -m lib.installer from this clone, with PYTHON $1 (needs only the stdlib)
    local py="$1"; shift
    PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$py" -m lib.installer "$@"
}

install_into() {
    local project
    project="$(project_dir "$1")" || exit 1
    local rt="$project/$RUNTIME_REL"
    local py
    py="$(find_python)"
    echo "claude-hooks: installing into $project"
    # an invalid settings.json stops the install before anything is written
    clone_installer "$py" check "$project" || exit 1
    [ -d "$project/.claude" ] || CREATED_CLAUDE_DIR="$project/.claude"
    mkdir -p "$project/.claude"
    if [ ! -x "$rt/bin/python" ]; then
        echo "  environment: creating $rt ($("$py" --version))"
        CREATED_RUNTIME="$rt"  # removed again if the install fails (die)
        "$py" -m venv "$rt"
        printf '*\n' > "$rt/.gitignore"
    fi
    local fp spec="$REPO"
    fp="$(source_fingerprint "$rt/bin/python")"
    if [ "$WITH_REDIS" = 1 ] || grep -qs 'redis://' "$project/.claude/hooks.toml"; then
        spec="$REPO[redis]"
        fp="$fp+redis"
    fi
    if [ "$(cat "$rt/.source-fingerprint" 2>/dev/null || true)" != "$fp" ]; then
        echo "  environment: installing the runtime and its dependencies"
        "$rt/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$spec" \
            || die "pip could not install the runtime into $rt (see the pip output above)"
        "$rt/bin/python" -m compileall -q "$rt/lib" >/dev/null 2>&1 || true
        echo "$fp" > "$rt/.source-fingerprint"
    else
        echo "  environment: $rt already up to date"
    fi
    # our own lean claude-hooks command in place of pip's wrapper (python -S, no re; see lib/installer.py)
    "$rt/bin/python" -m lib.installer entry-script "$rt" || die "could not write $rt/bin/claude-hooks"
    "$rt/bin/python" -m lib.installer install "$project" || die "could not register the hooks in $project/.claude/settings.json"
    CREATED_RUNTIME="" CREATED_CLAUDE_DIR=""
    echo "  logs:     $project/.claude/logs/ (hooks.jsonl, traces.jsonl, events.jsonl)"
    echo "  inspect:  $rt/bin/python -m lib --project $project logs"
    INSTALLED_PROJECT="$project"
}

uninstall_from() {
    local project
    project="$(project_dir "$1")" || exit 1
    local rt="$project/$RUNTIME_REL"
    local py
    if [ -x "$rt/bin/python" ]; then py="$rt/bin/python"; else py="$(find_python)"; fi
    echo "claude-hooks: uninstalling from $project"
    clone_installer "$py" uninstall "$project"
    if [ -d "$rt" ]; then
        rm -rf "$rt"
        echo "  environment: removed $rt"
    fi
    echo "  kept: $project/.claude/logs and $project/.claude/state, still git-ignored (delete them if you no longer want them)"
}

show_status() {
    local project
    project="$(project_dir "$1")" || exit 1
    clone_installer "$(find_python)" status "$project"
}

run_demo() {
    # A throwaway sample project: a little code, a secret, a migration that fails (no database runs),
    # and the project's own policy module (the README's example), then the runtime installed into it.
    local base
    base="$(mktemp -d "${TMPDIR:-/tmp}/claude-hooks-demo.XXXXXX")"
    local project="$base/sample-project"
    mkdir -p "$project/src" "$project/scripts" "$project/.claude/hooks"
    printf 'def add(a, b):\n    return a + b\n' > "$project/src/app.py"
    printf 'API_TOKEN=demo-not-a-real-secret\n' > "$project/.env"
    printf '# Sample project\n\nA throwaway project for the claude-hooks demo.\n' > "$project/README.md"
    cat > "$project/scripts/migrate.sh" <<'EOF'
#!/bin/sh
# The sample project's database migration; it fails while no database is running (none is, here).
echo "migrate: connecting to postgresql://localhost:5432/app"
echo "migrate: error: connection refused: is the database running?" >&2
exit 1
EOF
    cat > "$project/.claude/hooks/policy.py" <<'EOF'
"""The sample project's own hooks (named in .claude/hooks.toml)."""

from lib import deny, hook


@hook("PreToolUse", matcher="Bash")
def no_deploys(event):
    if event.tool_input.get("command", "").startswith("./deploy"):
        return deny("Deploys go through CI: open a PR instead.")
EOF
    printf '[runtime]\nhandlers = [".claude/hooks/policy.py"]\n' > "$project/.claude/hooks.toml"
    install_into "$project"
    echo
    # Replays the recorded session, then (with Node.js and npm) runs a real Claude Code session in the
    # project with the end-to-end harness of this clone (CLAUDE_HOOKS_DEMO_LIVE=0 skips it).
    "$project/$RUNTIME_REL/bin/python" -m lib.demo "$project" "$REPO/examples/recorded-session.jsonl" \
        --e2e-dir "$REPO/tests/e2e"
}

main() {
    local action="install" project=""
    while [ $# -gt 0 ]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --uninstall) action="uninstall" ;;
            --status) action="status" ;;
            --demo) action="demo" ;;
            --with-redis) WITH_REDIS=1 ;;
            -*) die "unknown option $1 (see --help)" ;;
            *) [ -z "$project" ] || die "one project directory at a time"; project="$1" ;;
        esac
        shift
    done
    case "$action" in
        install) install_into "${project:-$PWD}" ;;
        uninstall) uninstall_from "${project:-$PWD}" ;;
        status) show_status "${project:-$PWD}" ;;
        demo) [ -z "$project" ] || die "--demo makes its own sample project"; run_demo ;;
    esac
}

main "$@"

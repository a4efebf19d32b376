#!/bin/sh
# The Claude Code plugin route: Claude Code runs `plugin-hook.sh EVENT` for every hook event of the
# hooks-runtime plugin (hooks/hooks.json). It runs the same lean `claude-hooks` entry script that
# install.sh writes, from the plugin's own Python environment in "$CLAUDE_PLUGIN_DATA/runtime" (the
# plugin's data dir: `claude plugin uninstall` deletes it). Logs and state go to the project's .claude/.
#
# First use: the environment does not exist yet. SessionStart (timeout 600 s) makes it in the
# foreground, saying so on stderr, and the session's first message tells the user it happened. Any
# other event starts the set-up in the background and answers without it: `ask` on the events that
# decide (a command the guard could not judge is never silently allowed), nothing on the others.
#
# Steady state costs one `sh` start and a builtin `read` before the exec (bench/README.md).
set -u

root=${CLAUDE_PLUGIN_ROOT:-$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)}
data=${CLAUDE_PLUGIN_DATA:-"$root/.plugin-data"}
rt="$data/runtime"
entry="$rt/bin/claude-hooks"
event=${1:-}

# Ready when the environment was built from this very plugin directory (a plugin update installs a
# new version into a new directory, so the environment is rebuilt from the new sources).
if [ -x "$entry" ] && read -r built_from <"$rt/.plugin-root" 2>/dev/null && [ "$built_from" = "$root" ]; then
    exec "$entry" "$@"
fi

say() { printf 'hooks-runtime: %s\n' "$*" >&2; }

# shellcheck source=hooks/find-python.sh
. "$root/hooks/find-python.sh"  # first_python, shared with install.sh

# Make the environment once; a second launcher waits for the first (mkdir is atomic).
setup() {
    mkdir -p "$data" || return 1
    lock="$data/setup.lock"
    if ! mkdir "$lock" 2>/dev/null; then
        # Someone else is setting up; a lock older than 15 minutes was left by a killed set-up.
        if [ -n "$(find "$lock" -maxdepth 0 -mmin +15 2>/dev/null)" ]; then
            rmdir "$lock" 2>/dev/null
            mkdir "$lock" 2>/dev/null || return 1
        else
            return 2
        fi
    fi
    py=$(first_python "${CLAUDE_HOOKS_PYTHON:-}" python3.13 python3.12 python3.11 python3) || { say "needs Python >= 3.11 on PATH (or CLAUDE_HOOKS_PYTHON=/path/to/python3.11+)"; rmdir "$lock"; return 1; }
    started=$(date +%s)
    say "first use: setting up the plugin's Python environment in $rt (once; about a minute)"
    rm -rf "$rt"
    if "$py" -m venv "$rt" >&2 \
        && "$rt/bin/python" -m pip install --quiet --disable-pip-version-check "$root" >&2 \
        && "$rt/bin/python" -m lib.installer entry-script "$rt" >&2; then
        printf '%s\n' "$root" >"$rt/.plugin-root"
        printf '%s\n' "$(( $(date +%s) - started ))" >"$rt/.setup-seconds"
        say "environment ready ($(( $(date +%s) - started )) s)"
        rmdir "$lock"
        return 0
    fi
    say "setting up $rt failed (see the pip output above); the next session start tries again"
    rm -rf "$rt"
    rmdir "$lock"
    return 1
}

answer_unready() {
    case "$event" in
        PreToolUse|PreSkillShellCommand)
            printf '{"hookSpecificOutput":{"hookEventName":"%s","permissionDecision":"ask","permissionDecisionReason":"hooks-runtime is still setting up its Python environment (first use), so its guards could not judge this call."}}\n' "$event" ;;
        PermissionRequest) ;;  # no answer: Claude Code asks the user as it would without us
    esac
    exit 0
}

if [ "$event" = "SessionStart" ]; then
    setup
    case $? in
        0) CLAUDE_HOOKS_PLUGIN_SETUP=$(cat "$rt/.setup-seconds" 2>/dev/null || echo 0)
           export CLAUDE_HOOKS_PLUGIN_SETUP
           exec "$entry" "$@" ;;
        2) # another launcher is setting up: wait for it (SessionStart has the long timeout)
           i=0
           while [ $i -lt 590 ] && [ -d "$data/setup.lock" ]; do sleep 1; i=$((i + 1)); done
           [ -x "$entry" ] && exec "$entry" "$@"
           exit 0 ;;
        *) exit 0 ;;
    esac
fi

# Another event came first (the plugin was enabled mid-session): set up in the background.
if [ ! -d "$data/setup.lock" ]; then
    (setup >/dev/null 2>&1 &)
fi
answer_unready

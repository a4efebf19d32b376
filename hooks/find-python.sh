# shellcheck shell=sh
# Sourced (POSIX sh and bash) by install.sh and by the plugin's launcher, hooks/plugin-hook.sh, before
# they make a Python environment for the runtime.
#
# first_python CANDIDATE...: print the path of the first candidate that is on PATH and is Python
# >= 3.11 (empty candidates are skipped, so "${PYTHON:-}" can come first); fail when none is.
first_python() {
    for py in "$@"; do
        [ -n "$py" ] || continue
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}

"""A minimal fasthooks PreToolUse hook (fasthooks' own quick-start): deny ``rm -rf``, else no opinion.

Runs in ``bench/.venv-peers`` when fasthooks installs there (optional peer).
"""

from fasthooks import HookApp, deny

app = HookApp()


@app.pre_tool("Bash")
def no_rm_rf(event):  # type: ignore[no-untyped-def]
    if "rm -rf" in event.command:
        return deny("Dangerous command")
    return None


if __name__ == "__main__":
    app.run()

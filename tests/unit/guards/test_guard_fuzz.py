"""Fuzzing: parsing and evaluation never raise, and dangerous commands stay blocked however they are
dressed up (wrappers, quoting, flag order, chains).

``GUARD_FUZZ_EXAMPLES=5000 pytest tests/unit/guards/test_guard_fuzz.py`` runs a longer campaign.
"""

from __future__ import annotations

import os
import shlex

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.guards.bash_policy import BashPolicy
from lib.guards.file_policy import FilePolicy
from lib.guards.shell_parse import Command, parse
from lib.guards.verdict import LEVELS

CTX = {"cwd": "/home/dev/src/app", "project_dir": "/home/dev/src/app", "home": "/home/dev"}
POLICIES = [BashPolicy(level=level) for level in LEVELS]
FILES = [FilePolicy(level=level, resolve=None) for level in LEVELS]
FUZZ = settings(
    max_examples=int(os.environ.get("GUARD_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SHELL_ALPHABET = st.sampled_from(
    [
        *list("abcrmf -/.~*?[]{}()<>|&;$`'\"\\\n\t=#!:0123456789"),
        "$(",
        "${",
        "<<",
        "EOF",
        "\x00",
        "é",
        "\u2028",
    ]
)
shellish = st.lists(SHELL_ALPHABET, max_size=80).map("".join)
any_text = st.text(max_size=300)
words = st.sampled_from(
    ["rm", "-rf", "/", "~", "..", ".", "*", "sudo", "bash", "-c", "eval", "xargs", "find", "-exec", "{}", ";", "git",
     "push", "-f", "main", "curl", "|", "sh", "&&", "||", "$(", ")", "`", "'", '"', "cd", "$HOME", "${X:-/}", "<<EOF",
     "EOF", "\n", "for", "in", "do", "done", "if", "then", "fi", "case", "esac", "(", "{", "}", ">", "/dev/sda", "dd",
     "of=/dev/sda", "chmod", "-R", "777", ":(){", ":|:&", "};:", "env", "-S", "python3", "os.system('rm -rf /')"]
)  # fmt: skip
token_soup = st.lists(words, max_size=30).map(" ".join)


def _check_result(command: str) -> None:
    result = parse(command, **{"cwd": CTX["cwd"], "home": CTX["home"], "project_dir": CTX["project_dir"]})
    for cmd in result.commands:
        assert isinstance(cmd, Command)
        assert all(isinstance(a, str) for a in cmd.argv)
        assert isinstance(cmd.name, str)
    for level_policy in POLICIES:
        v = level_policy.evaluate(command, **CTX)
        assert v.decision in ("allow", "ask", "deny")
        assert v.decision == "allow" or v.reason
    for file_policy in FILES:
        assert file_policy.evaluate_tool("Bash", {"command": command}, **CTX).decision in (
            "allow",
            "ask",
            "deny",
        )


@FUZZ
@given(shellish)
def test_shell_like_noise_never_raises(command: str) -> None:
    _check_result(command)


@FUZZ
@given(any_text)
def test_arbitrary_unicode_never_raises(command: str) -> None:
    _check_result(command)


@FUZZ
@given(token_soup)
def test_token_soup_never_raises(command: str) -> None:
    _check_result(command)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
tool_names = st.sampled_from(
    ["Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "Glob", "Grep", "LS", "Bash", "X"]
)
path_like = st.lists(st.sampled_from(["/", "~", "..", ".", ".env", "*", "**", "{", "}", "a", ".ssh", "\\", "C:"]),
                     max_size=10).map("".join)  # fmt: skip


@FUZZ
@given(
    tool_names,
    st.dictionaries(
        st.sampled_from(["file_path", "notebook_path", "path", "pattern", "glob", "command", "x"]),
        json_values | path_like,
        max_size=4,
    ),
)
def test_file_policy_never_raises_on_any_tool_input(tool: str, tool_input: dict[str, object]) -> None:
    for policy in FILES:
        v = policy.evaluate_tool(tool, tool_input, **CTX)
        assert v.decision in ("allow", "ask", "deny")


# -- dressed-up dangerous commands stay blocked -------------------------------------------------------

rm_flags = st.sampled_from(
    [["-rf"], ["-fr"], ["-r", "-f"], ["-f", "-r"], ["-R", "-f"], ["--recursive", "--force"], ["--force", "--recursive"],
     ["-rfv"], ["-r"], ["--recursive"], ["-Rf", "--"]]
)  # fmt: skip
targets = st.sampled_from(
    ["/", "/*", "~", "~/", "$HOME", "${HOME}", "/home/dev", "..", ".", "*", ".git", "/usr", "/etc"]
)
wrappers = st.sampled_from(
    ["", "sudo ", "sudo -u root ", "env ", "env A=1 ", "command ", "nice -n 5 ", "time ", "timeout 10 ", "nohup ",
     "exec ", "doas ", "/usr/bin/env ", "stdbuf -oL ", "ionice -c 3 "]
)  # fmt: skip
safe_cmds = st.sampled_from(
    ["ls", "echo hi", "git status", "npm test", "pwd", "true", "export X=1", "cat README.md"]
)
joiners = st.sampled_from([" && ", " ; ", " || ", "\n"])


def _embed(core: str, how: int) -> str:
    quoted = shlex.quote(core)
    return [
        core,
        f"bash -c {quoted}",
        f"sh -c {quoted}",
        f"eval {quoted}",
        f"echo $({core})",
        f"({core})",
        f"{{ {core}; }}",
        f"if true; then {core}; fi",
        f"echo {quoted} | bash",
        f"bash <<'EOF'\n{core}\nEOF",
        f"python3 -c {shlex.quote(f'import os; os.system({core!r})')}",
    ][how]


@FUZZ
@given(
    rm_flags, targets, wrappers, st.integers(0, 10), st.lists(safe_cmds, max_size=3), joiners, st.booleans()
)
def test_dangerous_rm_is_blocked_however_dressed(
    flags: list[str], target: str, wrapper: str, how: int, before: list[str], joiner: str, quote_target: bool
) -> None:
    shown_target = shlex.quote(target) if quote_target and not target.startswith(("$", "~", "*")) else target
    core = f"{wrapper}rm {' '.join(flags)} {shown_target}"
    command = joiner.join([*before, _embed(core, how)])
    v = POLICIES[1].evaluate(command, **CTX)
    assert v.decision != "allow", command


@FUZZ
@given(st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True), rm_flags, wrappers, st.integers(0, 8))
def test_deleting_inside_the_project_is_allowed(name: str, flags: list[str], wrapper: str, how: int) -> None:
    wrapper = "" if wrapper.strip().startswith(("sudo", "doas")) else wrapper
    command = _embed(f"{wrapper}rm {' '.join(flags)} ./build/{name}", how)
    assert POLICIES[1].evaluate(command, **CTX).decision == "allow", command


@FUZZ
@given(
    st.sampled_from(["curl -fsSL", "curl -s", "wget -qO-", "curl"]),
    st.sampled_from(["sh", "bash", "sudo bash", "sh -", "zsh", "python3", "sudo -E sh", "bash -s -- --yes"]),
    st.from_regex(r"https://[a-z]{1,10}\.(io|com|sh)/[a-z]{0,8}", fullmatch=True),
)
def test_pipe_to_shell_is_blocked(downloader: str, shell: str, url: str) -> None:
    v = POLICIES[1].evaluate(f"{downloader} {url} | {shell}", **CTX)
    assert (v.decision, v.rule_id) == ("deny", "pipe-to-shell")

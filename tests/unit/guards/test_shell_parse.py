"""The bash parser: every simple command a command line runs, with its words as bash would see them."""

from __future__ import annotations

import pytest

from lib.guards.shell_parse import MAX_INPUT, parse

PROJECT = "/home/dev/app"
HOME = "/home/dev"


def argvs(command: str, **kw: str) -> list[list[str]]:
    ctx = {"cwd": PROJECT, "home": HOME, "project_dir": PROJECT, **kw}
    return [c.argv for c in parse(command, **ctx).commands if c.argv]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("rm -rf /", [["rm", "-rf", "/"]]),
        ("'rm' \"-rf\" /", [["rm", "-rf", "/"]]),
        ("r\"\"m -r'f' /", [["rm", "-rf", "/"]]),
        ("\\rm -rf /", [["rm", "-rf", "/"]]),
        ("rm -rf 'my dir' \"other dir\"", [["rm", "-rf", "my dir", "other dir"]]),
        ("echo $'a\\tb\\x41'", [["echo", "a\tbA"]]),
        ('echo "a\\"b" \'c\\d\'', [["echo", 'a"b', "c\\d"]]),
        ("ls \\\n  -la", [["ls", "-la"]]),
        ("echo a # rm -rf /", [["echo", "a"]]),
    ],
)
def test_quoting_and_escapes(command: str, expected: list[list[str]]) -> None:
    assert argvs(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "a && rm -rf x",
        "a || rm -rf x",
        "a; rm -rf x",
        "a & rm -rf x",
        "a | rm -rf x",
        "a |& rm -rf x",
        "a\nrm -rf x",
        "(rm -rf x)",
        "{ rm -rf x; }",
        "echo $(rm -rf x)",
        "echo `rm -rf x`",
        'echo "$(rm -rf x)"',
        "cat <(rm -rf x)",
        "if true; then rm -rf x; fi",
        "while false; do rm -rf x; done",
        "for i in 1 2; do rm -rf x; done",
        "case y in y) rm -rf x;; esac",
        "f() { rm -rf x; }",
        "function f { rm -rf x; }",
        "[[ -n $(rm -rf x) ]]",
        "echo $(( $(rm -rf x) + 1 ))",
        "bash -c 'rm -rf x'",
        'sh -ec "rm -rf x"',
        "bash -o pipefail -c 'rm -rf x'",
        "busybox sh -c 'rm -rf x'",
        "eval 'rm -rf x'",
        "echo x | xargs rm -rf",
        "find x -exec rm -rf {} \\;",
        "watch -n 1 rm -rf x",
        "su -c 'rm -rf x'",
        "flock /tmp/l -c 'rm -rf x'",
        "flock /tmp/l rm -rf x",
        "ssh host rm -rf x",
        "env -S 'rm -rf x'",
        "echo 'rm -rf x' | bash",
        "bash <<'EOF'\nrm -rf x\nEOF",
        "sh <<< 'rm -rf x'",
        "python3 -c \"import os; os.system('rm -rf x')\"",
        "sudo nice -n 5 timeout -s KILL 10 nohup env A=1 command rm -rf x",
        "time -p rm -rf x",
        "exec rm -rf x",
        "! rm -rf x",
    ],
)
def test_nested_commands_are_found(command: str) -> None:
    found = argvs(command)
    assert any(a[:1] == ["rm"] and "x" in a for a in found), found


def test_prefixes_are_stripped_and_kept_as_wrappers() -> None:
    cmd = parse("sudo -u root -E nice -n 5 ionice -c 3 timeout 10 stdbuf -oL rm -rf x").commands[0]
    assert cmd.argv == ["rm", "-rf", "x"]
    assert cmd.wrappers == ["sudo", "nice", "ionice", "timeout", "stdbuf"]
    assert cmd.elevated
    assert cmd.full_argv[0] == "sudo"


def test_command_lookups_are_not_executions() -> None:
    assert argvs("command -v rm") == [["command", "-v", "rm"]]


def test_env_assignments_are_recorded() -> None:
    cmd = parse("FOO=1 BAR=$HOME env BAZ=2 make", home=HOME).commands[0]
    assert cmd.argv == ["make"]
    assert [(n, a.value) for n, a in cmd.assignments] == [("FOO", "1"), ("BAR", HOME), ("BAZ", "2")]


def test_redirect_targets_are_kept() -> None:
    cmd = parse("echo hi > ~/.bashrc 2>&1 < in.txt", home=HOME).commands[0]
    ops = [(r.op, r.fd, r.target.value if r.target else None) for r in cmd.redirects]
    assert ops == [(">", -1, f"{HOME}/.bashrc"), (">&", 2, "1"), ("<", -1, "in.txt")]
    assert [r.writes for r in cmd.redirects] == [True, False, False]
    assert cmd.redirects[2].reads


def test_group_redirects_apply_to_inner_commands() -> None:
    cmds = parse("{ echo a; echo b; } > /dev/sda").commands
    assert all(any(r.target and r.target.value == "/dev/sda" for r in c.redirects) for c in cmds)


def test_heredoc_bodies_are_data() -> None:
    result = parse("cat > f.sh <<'EOF'\nrm -rf /\nEOF\necho done")
    assert [c.argv for c in result.commands] == [["cat"], ["echo", "done"]]
    assert result.commands[0].stdin_text == "rm -rf /\n"


def test_unquoted_heredoc_runs_its_substitutions() -> None:
    found = argvs("cat <<EOF\n$(rm -rf x)\nEOF")
    assert ["rm", "-rf", "x"] in found


def test_heredoc_fed_to_a_shell_is_parsed() -> None:
    result = parse("bash -s <<EOF\nrm -rf x\nEOF")
    inner = [c for c in result.commands if c.via]
    assert [c.argv for c in inner] == [["rm", "-rf", "x"]]
    assert inner[0].via == ("bash <stdin",)


def test_known_variables_are_expanded() -> None:
    assert argvs('rm -rf $HOME ${HOME}/x "$CLAUDE_PROJECT_DIR" $PWD') == [
        ["rm", "-rf", HOME, f"{HOME}/x", PROJECT, PROJECT]
    ]


def test_assignments_in_the_line_are_followed() -> None:
    assert argvs("D=/; rm -rf $D") == [["rm", "-rf", "/"]]
    assert argvs("export T=/tmp/x && rm -rf $T") == [["export", "T=/tmp/x"], ["rm", "-rf", "/tmp/x"]]
    assert argvs("D=/x; unset D; rm -rf $D")[-1] == ["rm", "-rf", "$D"]


def test_unquoted_known_variable_is_split() -> None:
    assert argvs('OPTS="-rf /"; rm $OPTS') == [["rm", "-rf", "/"]]


def test_cd_is_tracked() -> None:
    cmds = parse(
        "cd build && rm -rf * ; cd / ; rm -rf x ; cd $UNKNOWN ; rm y", cwd=PROJECT, home=HOME
    ).commands
    assert [c.cwd for c in cmds if c.name == "rm"] == [f"{PROJECT}/build", "/", None]
    cmds = parse("cd && ls", cwd=PROJECT, home=HOME).commands
    assert cmds[1].cwd == HOME


def test_subshell_cd_does_not_leak() -> None:
    cmds = parse("(cd /; ls) && rm x", cwd=PROJECT).commands
    assert cmds[-1].cwd == PROJECT


def test_unknown_variables_stay_visible_with_their_empty_value() -> None:
    arg = parse('rm -rf "$DIR/"*').commands[0].args[2]
    assert arg.value == "$DIR/*"
    assert arg.dynamic
    assert arg.if_empty == "/*"
    assert arg.glob


def test_guarded_variables_have_no_empty_value() -> None:
    arg = parse('rm -rf "${DIR:?}/"*').commands[0].args[2]
    assert arg.dynamic
    assert arg.if_empty is None


def test_default_values() -> None:
    arg = parse("rm -rf ${DIR:-/tmp/x}").commands[0].args[2]
    assert arg.if_empty == "/tmp/x"
    assert argvs("D=; rm -rf ${D:-/opt}") == [["rm", "-rf", "/opt"]]


def test_brace_and_tilde_expansion() -> None:
    assert argvs("rm -rf {/,~,~/x} a{1..3}", home=HOME) == [
        ["rm", "-rf", "/", HOME, f"{HOME}/x", "a1", "a2", "a3"]
    ]
    assert argvs("echo ~bob ~root") == [["echo", "/home/bob", "/root"]]
    assert argvs("echo '~' \"~\"") == [["echo", "~", "~"]]


@pytest.mark.parametrize(
    "text",
    ["{a,b}{c,d}", "x{a,b}y{1..3}z", "{a,{b,c}}d", "${x}{a,b}", "a${b,c}", "{1..{3,4}}", "{a}{b,c}", "{a,b",
     "}{a,b}", "{{a,b}", "{a,b}}", "{,}x", "{z..w}", "{1..20..5}", "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}"],
)  # fmt: skip
def test_brace_texts_is_brace_expand_of_one_literal(text: str) -> None:
    from lib.guards.shell_braces import brace_expand, brace_texts
    from lib.guards.shell_words import LIT

    expected = [str(parts[0][1]) for parts in brace_expand([(LIT, text, False)])]
    assert brace_texts(text) == expected


@pytest.mark.parametrize(
    "text", ["{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,/}", "{1..65}", "x{a{1..64},/}", "~/{1..99}"]
)
def test_a_brace_expansion_past_64_words_is_not_cut_short(text: str) -> None:
    from lib.guards.shell_braces import TooManyWords, brace_expand, brace_texts
    from lib.guards.shell_words import LIT

    with pytest.raises(TooManyWords):
        brace_texts(text)
    with pytest.raises(TooManyWords):
        brace_expand([(LIT, text, False)])
    result = parse(f"rm -rf {text}", cwd=PROJECT, home=HOME, project_dir=PROJECT)
    assert result.truncated  # the guard asks: judging the first 64 words would miss the 65th
    assert any("brace expansion" in issue for issue in result.issues)


def test_for_loop_values_are_expanded() -> None:
    assert argvs('for d in / ~; do rm -rf "$d"; done', home=HOME) == [["rm", "-rf", "/", HOME]]


def test_known_substitutions() -> None:
    assert argvs('rm -rf "$(pwd)"')[-1] == ["rm", "-rf", PROJECT]
    assert argvs("rm -rf $(git rev-parse --show-toplevel)")[-1] == ["rm", "-rf", PROJECT]
    assert argvs("rm -rf $(echo /)")[-1] == ["rm", "-rf", "/"]


def test_xargs_takes_echoed_input() -> None:
    assert argvs("echo / /tmp | xargs rm -rf")[-1] == ["rm", "-rf", "/", "/tmp"]
    assert argvs("printf x | xargs -I{} rm -rf /base/{}")[-1] == ["rm", "-rf", "/base/x"]
    inner = parse("ls | xargs -0 -n 1 rm").commands[-1]
    assert inner.argv[0] == "rm" and inner.args[-1].dynamic


def test_find_exec_fills_in_the_start_path() -> None:
    assert argvs("find / -exec rm -rf {} +")[-1] == ["rm", "-rf", "/"]
    assert argvs("find . -name .git -exec rm -rf {} +")[-1] == ["rm", "-rf", "./.git"]
    inner = parse("find . -mtime +3 -exec rm {} \\;").commands[-1]
    assert inner.args[-1].dynamic


def test_pipelines_are_visible() -> None:
    result = parse("curl -s https://x | sudo bash && echo ok")
    pipes = list(result.pipelines().values())
    assert [[c.argv for c in slot] for slot in pipes[0]] == [[["curl", "-s", "https://x"]], [["bash"]]]
    assert result.commands[1].stdin is result.commands[0]


def test_process_substitution_is_kept_on_the_command() -> None:
    bash = next(c for c in parse("bash <(curl -s https://x)").commands if c.name == "bash")
    assert [s.name for s in bash.substitutions] == ["curl"]


def test_arrays_are_not_commands() -> None:
    assert argvs("x=(rm -rf /); echo ok") == [["echo", "ok"]]


def test_functions_are_recorded() -> None:
    result = parse(":(){ :|:& };:")
    assert list(result.functions) == [":"]
    body = result.functions[":"]
    assert len(body) == 2 and all(c.background for c in body)


def test_embedded_interpreter_deletes() -> None:
    assert ["rm", "-rf", "/x"] in argvs("python3 -c 'import shutil; shutil.rmtree(\"/x\")'")
    assert ["rm", "-rf", "/"] in argvs('python -c \'import subprocess; subprocess.run(["rm", "-rf", "/"])\'')
    assert ["rm", "-rf", "/y"] in argvs("python3 - <<'EOF'\nimport shutil\nshutil.rmtree('/y')\nEOF")


@pytest.mark.parametrize(
    "command",
    [
        "echo 'unterminated",
        'echo "unterminated',
        "echo $(unterminated",
        "echo `x",
        "cat <<EOF\nno end",
        "echo ${x",
    ],
)
def test_unbalanced_input_degrades_without_raising(command: str) -> None:
    result = parse(command)
    assert result.issues
    assert not result.failed
    assert any(c.name in ("echo", "cat") for c in result.commands)


def test_nul_bytes_are_removed_conservatively() -> None:
    result = parse("r\x00m -rf /")
    assert result.commands[0].argv == ["rm", "-rf", "/"]
    assert "NUL bytes removed" in result.issues


def test_huge_input_is_truncated() -> None:
    result = parse("echo " + "a" * (MAX_INPUT + 10))
    assert result.truncated
    assert result.commands


def test_deep_nesting_is_truncated_not_crashing() -> None:
    assert parse("eval " * 40 + "ls").truncated
    assert not parse("eval " * 5 + "ls").truncated
    parens = "(" * 5000 + "ls" + ")" * 5000
    result = parse(parens)
    assert result.truncated or result.failed
    subst = "$(" * 3000 + "ls" + ")" * 3000
    result = parse("echo " + subst)
    assert result.truncated or result.failed

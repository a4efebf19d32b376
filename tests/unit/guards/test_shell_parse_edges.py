"""The bash parser on the rarer syntax: every command a line would run is found, wherever bash hides it.

Each case is a place where bash expands a word (and so runs the commands in it) or decodes a quote;
a parser that skipped it would let the guard wave the command through.
"""

from __future__ import annotations

import pytest

from lib.guards.bash_policy import evaluate_bash
from lib.guards.shell_parse import ParseResult, parse

CWD, HOME = "/home/dev/app", "/home/dev"


def parsed(command: str) -> ParseResult:
    return parse(command, cwd=CWD, home=HOME, project_dir=CWD)


def decision(command: str) -> str:
    return evaluate_bash(command, cwd=CWD, home=HOME, project_dir=CWD).decision


def argvs(command: str) -> list[list[str]]:
    return [c.argv for c in parsed(command).commands if c.argv]


def issues(command: str) -> list[str]:
    return parsed(command).issues


@pytest.mark.parametrize(
    "command",
    [
        "x=( a $(rm -rf ~) b )",  # array elements are expanded
        "x+=( `rm -rf ~` )",
        "declare -a x=( $(rm -rf ~) )",
        'local y=( "$(rm -rf ~)" )',
        "x=( <(rm -rf ~) )",
        "echo ${x/a/$(rm -rf ~)}",  # pattern replacement
        "echo ${x//a/`rm -rf ~`}",
        'echo "${x/a/$(rm -rf ~)}"',
        "echo ${x#$(rm -rf ~)}",  # prefix / suffix patterns
        "echo ${x%%$(rm -rf ~)}",
        "echo ${x^^$(rm -rf ~)}",  # case modification pattern
        "echo ${x:0:$(rm -rf ~)}",  # offset and length
        "echo ${@:$(rm -rf ~)}",
        "echo ${arr[$(rm -rf ~)]}",  # subscripts
        "echo ${#arr[$(rm -rf ~)]}",
        "echo ${!arr[$(rm -rf ~)]}",
        "echo ${x:?$(rm -rf ~)}",  # the message is expanded before the command aborts
        "echo ${x?`rm -rf ~`}",
        "for ((i=$(rm -rf ~); i<1; i++)); do :; done",  # arithmetic for header
        "case x in $(rm -rf ~)) ;; esac",  # case patterns
        "case x in (a|$(rm -rf ~)) ;; esac",
        "trap 'rm -rf ~' EXIT",  # the trap action runs at exit
        "trap -- 'rm -rf ~' INT TERM",
        "coproc X { rm -rf ~; }",  # a named coproc: X is its name, not a command
        "coproc X ( rm -rf ~ )",
        "bash <(echo 'rm -rf ~')",  # a shell running what a process substitution prints
        "source <(echo 'rm -rf ~')",
        "bash < <(echo 'rm -rf ~')",
        "bash /dev/stdin <<< 'rm -rf ~'",  # a script path that is stdin
        "chroot / rm -rf ~",  # wrappers that run their arguments
        "unshare -m rm -rf ~",
        "nsenter -t 1 -m rm -rf ~",
        "setpriv --reuid=1000 rm -rf ~",
        "parallel rm -rf ::: ~",  # GNU parallel runs its template once per argument
        "parallel 'rm -rf {}' ::: ~",
        "parallel -j 4 -I XX rm -rf XX ::: ~",
        "parallel ::: 'rm -rf ~' 'ls'",
        'a=(rm -rf ~); "${a[@]}"',  # a command kept in an array
        "a=(rm -rf ~); ${a[*]}",
    ],
)
def test_commands_hidden_in_expansions_are_judged(command: str) -> None:
    assert ["rm", "-rf", "/home/dev"] in argvs(command), argvs(command)
    assert decision(command) == "deny"


#: everyday forms of the same syntax: they stay allowed
EVERYDAY = [
    "x=( a b c ); echo ${x[1]}",
    "echo ${HOME/dev/user} ${#HOME} ${!HOME*}",
    "trap 'rm -f /tmp/build.lock' EXIT",
    "trap - EXIT",
    "trap -p",
    "for ((i=0; i<3; i++)); do echo $i; done",
    "coproc BC { bc -l; }",
    'case "$1" in start) echo go ;; *) echo usage ;; esac',
    "source <(kubectl completion bash)",
    "bash <(echo 'echo hi')",
    "diff <(ls a) <(ls b)",
    "parallel gzip ::: a.log b.log",
    "ls | parallel gzip",
    "chroot /srv ls",
    "git -c core.pager=less log",
    "git -c alias.st=status st",
    "git -c user.name=dev commit -m msg",
    "a=(ls -la); ${a[@]}",
    "IFS=: ; p=/a:/b; ls $p",
]
#: git settings whose value git runs through a shell: judged as that command
GIT_SHELL_SETTINGS = [
    "git -c core.pager='rm -rf ~' log",
    "git -c alias.x='!rm -rf ~' x",
    "git -c core.sshCommand='rm -rf ~' fetch",
    "git -c credential.helper='!rm -rf ~' push",
    "git -c diff.x.textconv='rm -rf ~' diff",
    "git -ccore.editor='rm -rf ~' commit",
]


@pytest.mark.parametrize(
    ("command", "expected"),
    [(c, "allow") for c in EVERYDAY] + [(c, "deny") for c in GIT_SHELL_SETTINGS],
)
def test_decisions_on_everyday_forms_and_git_settings(command: str, expected: str) -> None:
    assert decision(command) == expected


def test_a_trap_action_is_parsed_like_eval_and_a_reset_runs_nothing() -> None:
    assert argvs("trap 'rm -f /tmp/lock' EXIT") == [
        ["trap", "rm -f /tmp/lock", "EXIT"],
        ["rm", "-f", "/tmp/lock"],
    ]
    assert argvs("trap - EXIT") == [["trap", "-", "EXIT"]]


def test_a_plain_array_is_one_quoted_value_not_commands() -> None:
    assert argvs("x=( rm -rf / )") == []
    assert argvs("x=( a b ); echo done") == [["echo", "done"]]


def test_a_coproc_without_a_name_runs_its_command() -> None:
    assert argvs("coproc rm -rf ~") == [["rm", "-rf", "/home/dev"]]
    assert argvs("coproc") == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("echo $'\\101\\x42\\u00e9\\U0001F600'", "ABé\U0001f600"),  # octal, hex, \u, \U
        ("echo $'\\cA\\q'", "\x01\\q"),  # control character; an unknown escape stays as written
        ("echo $'\\x'", "\\x"),  # \x without digits
        ("echo $'\\777'", "\xff"),  # octal past a byte is cut to 8 bits, as bash does
        ('echo $"hello"', "hello"),  # a locale string is a double-quoted string
        ('echo "a\\\nb"', "ab"),  # a line continuation inside double quotes
        ("echo a\\\nb", "ab"),
        ('echo "a$(echo "b)")c"', "ab)c"),  # a quote inside $( ) inside a quote
        ("echo \"$'x'\"", "$'x'"),  # no ANSI-C quoting inside double quotes
    ],
)
def test_quotes_decode_as_bash_decodes_them(command: str, expected: str) -> None:
    assert argvs(command)[-1] == ["echo", expected]


def test_an_unterminated_ansi_c_quote_is_reported() -> None:
    assert argvs("echo $'abc") == [["echo", "abc"]]
    assert "unterminated $'...' quote" in issues("echo $'abc")


def test_nested_backticks_are_unescaped_and_each_level_is_found() -> None:
    found = argvs("echo `echo \\`rm -rf y\\``")
    assert ["rm", "-rf", "/home/dev/app/y"] in found or ["rm", "-rf", "y"] in found
    assert ["rm", "-rf", "y"] in argvs('echo "x`rm -rf y`z"')


@pytest.mark.parametrize(
    ("command", "issue"),
    [
        ("cat <(rm -rf x", "unterminated process substitution"),
        ("(rm -rf x", "unterminated subshell"),
        ("f ( rm -rf x", "unexpected '('"),
    ],
)
def test_unterminated_constructs_still_show_their_commands(command: str, issue: str) -> None:
    assert any("rm" in argv for argv in argvs(command))
    assert issue in issues(command)


@pytest.mark.parametrize(
    "command",
    [
        "a |\n rm -rf x",  # a newline after a pipe
        "function f () \n{ rm -rf x; }",  # function keyword with () and a newline
        "f ()\n{ rm -rf x; }",
        "for i\nin a; do rm -rf x; done",  # newline before `in`
        "for i\ndo rm -rf x; done",  # no `in`: iterates over "$@"
        "case $x\nin\n(a) rm -rf x;;\nb) true;;\nesac",  # newlines and a parenthesised pattern
        "case $x in a) rm -rf x",  # never closed
        "time -p rm -rf x",
        "! rm -rf x",
        "select s in a; do rm -rf x; done",
        "[[ -n x && $(rm -rf x) ]]",
    ],
)
def test_compound_commands_across_lines_are_followed(command: str) -> None:
    assert ["rm", "-rf", "x"] in argvs(command), argvs(command)


def test_a_test_expression_keeps_its_operators_as_words() -> None:
    assert argvs("[[ -n x && -f y ]]") == [["[[", "[[", "-n", "x", "&&", "-f", "y"]]
    assert argvs("[[ -n x") == [["[[", "[[", "-n", "x"]]


@pytest.mark.parametrize(("command", "op"), [("ls &>> log", "&>>"), ("ls &> log", "&>"), ("ls >| log", ">|")])
def test_redirections_that_write_are_seen_as_writes(command: str, op: str) -> None:
    (cmd,) = parsed(command).commands
    (redirect,) = cmd.redirects
    assert (redirect.op, redirect.writes, redirect.target.value if redirect.target else None) == (
        op,
        True,
        "log",
    )


def test_unquoted_expansions_split_on_a_known_ifs() -> None:
    assert argvs("IFS=: ; p=/a:/b; ls $p")[-1] == ["ls", "/a", "/b"]
    assert argvs("x='a b'; echo $x \"$x\"")[-1] == ["echo", "a", "b", "a b"]

"""Secret redaction: a corpus of secret shapes that must disappear and look-alikes that must stay."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib import redaction
from lib.redaction import MASK, is_secret_name, redact, redact_text

_rng = random.Random(1234)


def rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


B64URL = string.ascii_letters + string.digits + "-_"
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"

PEM_BODY = "\n".join(rand(64, string.ascii_letters + string.digits + "+/") for _ in range(5))

# (description, text containing the secret, the secret itself)
SECRETS: list[tuple[str, str]] = [
    ("anthropic api key", "sk-ant-api03-" + rand(93, B64URL) + "AA"),
    ("anthropic admin key", "sk-ant-admin01-" + rand(93, B64URL)),
    ("anthropic oauth token", "sk-ant-oat01-" + rand(80, B64URL)),
    ("openai project key", "sk-proj-" + rand(48, B64URL) + "T3BlbkFJ" + rand(48, B64URL)),
    ("openai legacy key", "sk-" + rand(20) + "T3BlbkFJ" + rand(20)),
    ("openai service account key", "sk-svcacct-" + rand(60, B64URL)),
    ("openai admin key", "sk-admin-" + rand(60, B64URL)),
    ("openai long key", "sk-" + rand(48)),
    ("aws access key id", "AKIA" + rand(16, UPPER_DIGITS)),
    ("aws temporary key id", "ASIA" + rand(16, UPPER_DIGITS)),
    ("github classic pat", "ghp_" + rand(36)),
    ("github oauth token", "gho_" + rand(36)),
    ("github app user token", "ghu_" + rand(36)),
    ("github app server token", "ghs_" + rand(36)),
    ("github refresh token", "ghr_" + rand(76)),
    ("github fine-grained pat", "github_pat_" + rand(22) + "_" + rand(59)),
    ("slack bot token", "xoxb-" + rand(12, string.digits) + "-" + rand(13, string.digits) + "-" + rand(24)),
    (
        "slack user token",
        "xoxp-" + rand(12, string.digits) + "-" + rand(12, string.digits) + "-" + rand(32, HEX),
    ),
    (
        "slack app token",
        "xapp-1-A" + rand(10, UPPER_DIGITS) + "-" + rand(13, string.digits) + "-" + rand(64, HEX),
    ),
    (
        "slack webhook",
        "https://hooks.slack.com/services/T"
        + rand(8, UPPER_DIGITS)
        + "/B"
        + rand(8, UPPER_DIGITS)
        + "/"
        + rand(24),
    ),
    ("google api key", "AIza" + rand(35, B64URL)),
    ("google oauth client secret", "GOCSPX-" + rand(28, B64URL)),
    ("google oauth access token", "ya29." + rand(120, B64URL)),
    ("google refresh token", "1//0" + rand(60, B64URL)),
    ("stripe live secret key", "sk_live_" + rand(24)),
    ("stripe restricted key", "rk_live_" + rand(24)),
    ("gitlab pat", "glpat-" + rand(20, B64URL)),
    ("npm token", "npm_" + rand(36)),
    ("pypi token", "pypi-AgEIcHlwaS5vcmc" + rand(60, B64URL)),
    ("huggingface token", "hf_" + rand(34, string.ascii_letters)),
    ("sendgrid key", "SG." + rand(22, B64URL) + "." + rand(43, B64URL)),
    ("digitalocean token", "dop_v1_" + rand(64, HEX)),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + rand(43, B64URL)),
    ("bearer header", "Authorization: Bearer " + rand(40, B64URL + ".")),
    (
        "basic auth header",
        "Authorization: Basic " + rand(24, string.ascii_letters + string.digits + "+/") + "==",
    ),
    ("rsa private key", "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----"),
    (
        "openssh private key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n" + PEM_BODY + "\n-----END OPENSSH PRIVATE KEY-----",
    ),
    ("pkcs8 private key", "-----BEGIN PRIVATE KEY-----\n" + PEM_BODY + "\n-----END PRIVATE KEY-----"),
    (
        "pgp private key",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n" + PEM_BODY + "\n-----END PGP PRIVATE KEY BLOCK-----",
    ),
    ("private key without its END line", "-----BEGIN EC PRIVATE KEY-----\n" + PEM_BODY),
    ("postgres url password", "postgres://admin:" + rand(16) + "@db.internal:5432/app"),
    ("redis url password", "redis://:" + rand(20) + "@cache:6379/0"),
    ("https url password", "https://deploy:" + rand(12) + "@git.example.com/repo.git"),
    ("env password", "DB_PASSWORD=" + rand(14)),
    ("env secret", "export JWT_SECRET=" + rand(32)),
    ("env token", "GITLAB_TOKEN=" + rand(26)),
    (
        "env aws secret access key",
        "AWS_SECRET_ACCESS_KEY=" + rand(40, string.ascii_letters + string.digits + "/+"),
    ),
    ("env api key quoted", 'OPENAI_API_KEY="' + rand(30) + '"'),
    ("json password field", '{"username": "bob", "password": "' + rand(12) + '"}'),
    ("yaml client secret", "client_secret: " + rand(30)),
    ("cli flag password", "mysql --password=" + rand(10) + " -u root"),
    ("api key header", "X-Api-Key: " + rand(32)),
    ("camelCase access token", "accessToken=" + rand(40)),
    ("private key field", "PRIVATE_KEY='" + rand(40) + "'"),
    ("sentry dsn", "SENTRY_DSN=" + "https://" + rand(32, HEX) + "@o1.ingest.sentry.io/42"),
]


def secret_of(text: str) -> str:
    """The sensitive part of a corpus entry (what must not survive)."""
    for sep in ("PRIVATE KEY-----\n", "PRIVATE KEY BLOCK-----\n"):
        if sep in text:
            return text.split(sep, 1)[1][:64]
    for marker in ("Bearer ", "Basic "):
        if marker in text:
            return text.split(marker, 1)[1]
    if "://" in text and "@" in text and "sentry" not in text:
        return text.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    for sep in ("=", ": ", ":"):
        if sep in text and not text.startswith(("sk-", "eyJ", "xox", "https://hooks")):
            tail = text.rsplit(sep, 1)[1] if sep != "=" else text.split(sep, 1)[1]
            return tail.split()[0].strip("\"'{}")
    return text


def test_corpus_has_at_least_40_secret_shapes() -> None:
    assert len(SECRETS) >= 40


@pytest.mark.parametrize(("kind", "text"), SECRETS, ids=[k for k, _ in SECRETS])
def test_secret_is_removed_alone_and_inside_a_sentence(kind: str, text: str) -> None:
    secret = secret_of(text)
    assert len(secret) >= 8, kind
    for context in (text, f"running step: {text} (exit 0)", f"line one\n  {text}\nline three"):
        out = redact_text(context)
        assert secret not in out, f"{kind}: {out!r}"
        assert "REDACTED" in out
    assert secret not in str(redact({"output": f"cmd: {text}"}))


# Secrets handed to a program as arguments or through its environment, which neither a token shape
# nor a ``name=value`` gives away: (description, command, the secret).
ARGV_SECRETS: list[tuple[str, str, str]] = [
    ("mysql attached -p", "mysql -h db -u root -pS3cr3tPw db", "S3cr3tPw"),
    ("mysqldump attached -p quoted", "mysqldump -u app -p'Tr0ub4dor&3x' shop > dump.sql", "Tr0ub4dor&3x"),
    ("mariadb attached -p", "mariadb -uroot -pMariaPw12 -e 'show databases'", "MariaPw12"),
    ("postgres env password", "PGPASSWORD=pgSecret99 psql -h db -U app", "pgSecret99"),
    ("mysql env password", "MYSQL_PWD=myPwd4567 mysql -u root", "myPwd4567"),
    ("sshpass env", "SSHPASS=sshSecret1 sshpass -e ssh deploy@host", "sshSecret1"),
    ("htpasswd-like env", "export HTPASSWD=apr1secret9 && ./start", "apr1secret9"),
    ("curl basic user", "curl -u admin:CurlPw9876 https://api.example.com/v1", "CurlPw9876"),
    ("curl --user=", "curl --user=deploy:UserPw5555 -X POST https://ci.example.com", "UserPw5555"),
    ("curl attached -u", "curl -s -uci:AttachedPw77 https://x.example.com", "AttachedPw77"),
    ("wget proxy user", "wget --proxy-user joe:ProxyPw42 https://example.com/file", "ProxyPw42"),
    ("docker login -p", "docker login -u bob -p DockerPw321 registry.example.com", "DockerPw321"),
    ("podman login --password", "podman login --password PodPw8765 -u me quay.io", "PodPw8765"),
    ("helm registry login", "helm registry login ghcr.io -u me -p HelmPw5432", "HelmPw5432"),
    ("sshpass -p", "sshpass -p 'SshPw 1234' ssh root@10.0.0.2", "SshPw 1234"),
    ("sshpass -p attached", "sshpass -pSshPw5678 scp f host:", "SshPw5678"),
    ("redis-cli -a", "redis-cli -h cache -p 6379 -a RedisPw2468 ping", "RedisPw2468"),
    ("redis-cli --pass", "redis-cli --pass RedisPw1357 info", "RedisPw1357"),
    (
        "aws configure set secret",
        "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "aws configure set session token",
        "aws configure set aws_session_token FQoGZXIvYXdzEPT",
        "FQoGZXIvYXdzEPT",
    ),
    ("git config token", "git config --global github.token GitCfgTok99", "GitCfgTok99"),
    ("long option --password", "pg_restore --password RestorePw11 -d app", "RestorePw11"),
    ("long option --api-key", "mytool --api-key ApiKeyValue77 upload", "ApiKeyValue77"),
    ("long option --client-secret", 'oauthctl --client-secret "Client Secret 9" login', "Client Secret 9"),
    ("long option --token", "vault login --token hvs_TokenValue12 -method=token", "hvs_TokenValue12"),
]


def test_argv_corpus_size() -> None:
    assert len(ARGV_SECRETS) >= 25


@pytest.mark.parametrize(("kind", "command", "secret"), ARGV_SECRETS, ids=[k for k, _, _ in ARGV_SECRETS])
def test_secret_in_arguments_or_environment_is_removed(kind: str, command: str, secret: str) -> None:
    for context in (command, f"$ {command}\nexit status 1", f"bash -c '{command}; echo done'"):
        out = redact_text(context)
        assert secret not in out, f"{kind}: {out!r}"
        assert "REDACTED" in out, kind
    assert secret not in str(redact({"tool_input": {"command": command}}))


ARGV_LOOKALIKES: list[str] = [
    "mysql -u root -p app_db",
    "mysql -h db -P3306 -u root -p",
    'mysql -p"$MYSQL_PASSWORD" app',
    "docker login --password-stdin -u bob registry.example.com",
    "docker run -p 8080:80 nginx",
    "echo $TOKEN | gh auth login --with-token",
    "ansible-playbook --ask-pass site.yml",
    "psql --no-password -h db app",
    "curl -u alice https://example.com",
    "curl -s https://example.com -o out.json",
    "git push -u origin feature",
    "mkdir -p build/out && cp -p a b",
    "ssh -p 2222 deploy@host",
    "redis-cli -h cache ping",
    "aws configure set region eu-west-1",
    "aws configure set aws_secret_access_key $AWS_SECRET_ACCESS_KEY",
    "git config user.name 'Jane Doe'",
    "git config --global core.editor vim",
    "npm install --save-dev typescript",
    "pytest --token-file tests/token.txt -q",
    "sshpass -p $SSH_PASS ssh host",
    "OLDPWD=/home/user/project make",
    "export PASSWORD_STORE_DIR=/home/u/.password-store",
]


LOOKALIKES: list[str] = [
    "sk-learn is spelled scikit-learn",
    "task-ant-colony simulation",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it",
    "session 5921294c-55cd-4911-91ca-88811f0d9977 started",
    "toolu_01HkQ9s2x7PqVb3cZ8mN4rTt",
    "max_tokens=4096",
    "input_tokens: 1200, output_tokens: 88",
    "token_count=17",
    "PASSWORD_MIN_LENGTH=12",
    "GITHUB_TOKEN=$GITHUB_TOKEN",
    "API_KEY=${API_KEY}",
    'password: "<your password here>"',
    "secret=***",
    "export AUTH_TOKEN_FILE=/run/secrets/token",
    "primary_key=id",
    "sort_key: created_at",
    "https://example.com/path?q=1",
    "git clone git@github.com:org/repo.git",
    "ssh://git@host:22/repo",
    "Bearer auth is configured in settings",
    "the token bucket holds 10 tokens",
    "AKIA is the prefix of AWS key ids",
    "ghp_ tokens are GitHub classic PATs",
    "xoxb- is a Slack bot token prefix",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    "Exit code 1\nerror: no such file",
    "ratelimit: 30 calls per 60s",
    "password_reset_url=https://example.com/reset",
    "skeleton-key-design.md",
    "key=value",
    "user: alice",
    "time: 12:30:45",
    "Read(file_path=/home/user/project/secrets.md)",
]


@pytest.mark.parametrize("text", LOOKALIKES + ARGV_LOOKALIKES)
def test_lookalike_stays_untouched(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True), ("DB_PASSWORD", True), ("apiKey", True), ("api_key", True), ("x-api-key", True),
        ("client_secret", True), ("accessToken", True), ("GITHUB_TOKEN", True), ("Authorization", True),
        ("AWS_SECRET_ACCESS_KEY", True), ("private_key", True), ("cookie", True), ("passphrase", True),
        ("max_tokens", False), ("token_count", False), ("input_tokens", False), ("password_min_length", False),
        ("primary_key", False), ("session_id", False), ("tool_use_id", False), ("command", False),
        ("secret_file", False), ("file_path", False), ("PGPASSWORD", True), ("SSHPASS", True),
        ("HTPASSWD", True), ("csrftoken", True), ("bypass", False), ("password_store_dir", False),
    ],
)  # fmt: skip
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_structured_redaction_masks_by_key_and_keeps_references() -> None:
    data = {
        "tool_input": {"command": "curl -H 'Authorization: Bearer " + "a" * 30 + "' https://api"},
        "env": {"DB_PASSWORD": "hunter2hunter2", "GITHUB_TOKEN": "$GITHUB_TOKEN", "PORT": 5432},
        "usage": {"input_tokens": 10, "max_tokens": 4096},
        "headers": [{"x-api-key": "abc123abc123"}],
        "flag": True,
    }
    out = redact(data)
    assert out["env"] == {"DB_PASSWORD": MASK, "GITHUB_TOKEN": "$GITHUB_TOKEN", "PORT": 5432}  # type: ignore[index]
    assert out["usage"] == {"input_tokens": 10, "max_tokens": 4096}  # type: ignore[index]
    assert out["headers"] == [{"x-api-key": MASK}]  # type: ignore[index]
    assert "a" * 30 not in str(out) and out["flag"] is True  # type: ignore[index]
    assert data["env"]["DB_PASSWORD"] == "hunter2hunter2"  # type: ignore[index]  # the input is not changed


def test_long_values_are_truncated_and_secrets_across_the_cut_still_go() -> None:
    key = "ghp_" + rand(36)
    blob = "x" * 995 + key + "y" * 50_000_000
    out = redact({"tool_response": {"stdout": blob}}, max_chars=1000)
    stdout = out["tool_response"]["stdout"]  # type: ignore[index]
    assert len(stdout) < 1100
    assert key[:10] not in stdout
    assert "truncated" in stdout
    listing = redact({"filenames": [f"f{i}" for i in range(1000)]}, max_items=50)
    assert len(listing["filenames"]) == 51 and listing["filenames"][-1] == "…[950 more items]"  # type: ignore[index]


def test_deep_nesting_is_cut() -> None:
    value: object = "leaf"
    for _ in range(100):
        value = [value]
    assert "[nested too deep]" in str(redact(value))


# -- the fast paths give the regexes' answers ---------------------------------------------------------

NAME_CHARS = st.sampled_from([*"aZ9_-.:é xYk", "Key", "key", "API", "token", "Pass", "word"])


@given(st.lists(NAME_CHARS, max_size=12).map("".join))
def test_name_words_split_like_the_regex(name: str) -> None:
    import re

    expected = [w.lower() for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    assert redaction.name_words(name) == expected


ASSIGNMENT_PARTS = st.sampled_from(
    [
        "DB_PASSWORD", "apiKey", "api_key", "Token", "max_tokens", "user", "passwd", "AUTH", "name",
        "=", ": ", " = ", '"', "'", " ", "\n", ",", "hunter2", "$SECRET", "x@y", "://", "s3cr3t-value",
        "Bearer", "https://u:pw@host/", "keyboard", "monkey",
    ]
)  # fmt: skip


@given(st.lists(ASSIGNMENT_PARTS, max_size=14).map("".join))
def test_skipping_texts_without_a_secret_name_changes_nothing(text: str) -> None:
    fast = redact_text(text)
    hints, redaction._NAME_HINTS = redaction._NAME_HINTS, ("",)  # every text scanned by the regex
    try:
        assert fast == redact_text(text)
    finally:
        redaction._NAME_HINTS = hints


def test_plain_texts_do_not_import_re() -> None:
    from tests.hookkit import run_without_site

    code = (
        "import sys; from lib.redaction import redact, redact_text; "
        "r = redact({'command': 'echo hello', 'description': 'greet', 'max_tokens': 5, 'stdout': 'a: 1 = 2'}); "
        "t = redact_text('PostToolUse Bash: exit code 3 at 12:00'); "
        "c = redact_text('git status -s && ls -la --color=auto | head -n 5'); "
        "print('re' in sys.modules)"
    )
    assert run_without_site(code).strip() == "False"

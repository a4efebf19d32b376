"""Bash guard rules for infrastructure, data stores, containers and publishing: ``infra-destroy``
(``terraform destroy``, ``kubectl delete ns|all --all``, ``helm uninstall``, cloud deletes),
``data-destroy`` (``DROP``/``TRUNCATE`` through a SQL client, ``redis-cli FLUSHALL``,
``docker system prune -a``, ``aws s3 rm --recursive``, ``aws s3 rb --force``),
``container-host-mount`` (``docker run -v /:/host``, the Docker socket, ``--privileged``) and
``publish`` (``npm publish``, ``twine upload``, ``cargo publish``, ...).

Loaded by :mod:`lib.guards.bash_policy` only for a command named in :data:`NAMES`. Read-only look-alikes
(``kubectl get``, ``terraform plan``, ``docker ps``, ``helm list``, ``SELECT``) are never flagged.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.bash_rules import LineCheck
    from lib.guards.shell_parse import Command

__all__ = ["NAMES", "judge"]

_SQL = (
    "psql",
    "mysql",
    "mariadb",
    "sqlite3",
    "sqlite",
    "duckdb",
    "cockroach",
    "clickhouse-client",
    "sqlcmd",
    "mongo",
    "mongosh",
)
_CLOUD = ("aws", "gcloud", "gsutil", "az", "doctl", "flyctl", "heroku", "vercel")
_CONTAINERS = ("docker", "podman", "nerdctl")
_PUBLISHERS = ("npm", "pnpm", "yarn", "twine", "cargo", "gem", "poetry", "flit", "hatch", "uv", "gh")
#: The command names this family judges.
NAMES = frozenset(
    {"terraform", "tofu", "terragrunt", "pulumi", "kubectl", "oc", "helm", "redis-cli", "dropdb", "mongo",
     *_SQL, *_CLOUD, *_CONTAINERS, *_PUBLISHERS}
)  # fmt: skip

_SQL_DESTROY = ("drop database", "drop schema", "drop table", "truncate", "dropdatabase()", ".drop()",
                "delete from")  # fmt: skip
_HOST_SOURCES = ("/", "/etc", "/root", "/home", "/var", "/usr", "/boot", "/proc", "/sys", "/dev", "/run")


def _words(cmd: Command) -> list[str]:
    return [a.value for a in cmd.args[1:]]


def _positionals(words: list[str]) -> list[str]:
    return [w for w in words if not w.startswith("-")]


def judge(line: LineCheck, cmd: Command) -> None:
    """Add the findings of this family for ``cmd``."""
    name, words = cmd.name, _words(cmd)
    pos = _positionals(words)
    verb = pos[0] if pos else ""
    if name in ("terraform", "tofu", "terragrunt", "pulumi"):
        if (
            verb == "destroy"
            or (verb == "apply" and "-destroy" in words)
            or (name == "pulumi" and verb == "destroy")
        ):
            line.add("infra-destroy", f"{name} {verb}", cmd)
    elif name in ("kubectl", "oc"):
        _kubectl(line, cmd, words, pos)
    elif name == "helm" and verb in ("uninstall", "delete", "del", "un"):
        line.add("infra-destroy", f"helm {verb} {' '.join(pos[1:2])}".rstrip(), cmd)
    elif name in _SQL or name == "redis-cli" or name == "dropdb":
        _data_store(line, cmd, name, words)
    elif name in _CLOUD:
        _cloud(line, cmd, name, words, pos)
    elif name in _CONTAINERS:
        _container(line, cmd, words, pos)
    elif name in _PUBLISHERS:
        _publish(line, cmd, name, pos)


def _kubectl(line: LineCheck, cmd: Command, words: list[str], pos: list[str]) -> None:
    if not pos or pos[0] != "delete":
        return
    kinds = {k for p in pos[1:2] for k in p.lower().split(",")}
    everything = "--all" in words or "-A" in words or "--all-namespaces" in words
    if kinds & {
        "ns",
        "namespace",
        "namespaces",
        "pv",
        "persistentvolume",
        "persistentvolumes",
        "crd",
        "node",
        "nodes",
    }:
        line.add("infra-destroy", f"kubectl delete {pos[1]}", cmd)
    elif "all" in kinds or everything:
        line.add("infra-destroy", "kubectl delete --all", cmd)


def _data_store(line: LineCheck, cmd: Command, name: str, words: list[str]) -> None:
    if name == "dropdb":
        line.add("data-destroy", "dropdb", cmd)
        return
    if name == "redis-cli":
        upper = {w.upper() for w in words}
        if upper & {"FLUSHALL", "FLUSHDB"}:
            line.add("data-destroy", f"redis-cli {'FLUSHALL' if 'FLUSHALL' in upper else 'FLUSHDB'}", cmd)
        return
    texts = [*words]
    if cmd.stdin_text:
        texts.append(cmd.stdin_text)
    for text in texts:
        low = " ".join(text.lower().split())
        for stmt in _SQL_DESTROY:
            if stmt in low and (stmt != "delete from" or " where " not in f" {low} "):
                line.add("data-destroy", f"{name} runs {stmt.upper()}", cmd)
                return


def _cloud(line: LineCheck, cmd: Command, name: str, words: list[str], pos: list[str]) -> None:
    if name == "aws" and pos[:1] == ["s3"]:
        sub = pos[1] if len(pos) > 1 else ""
        if sub == "rm" and "--recursive" in words:
            line.add("data-destroy", "aws s3 rm --recursive", cmd)
        elif sub == "rb" and "--force" in words:
            line.add("data-destroy", "aws s3 rb --force", cmd)
        return
    if (
        name == "gsutil"
        and pos[:1] in (["rm"], ["rb"])
        and ("-r" in words or "-R" in words or pos[0] == "rb")
    ):
        line.add("data-destroy", f"gsutil {pos[0]}", cmd)
        return
    destructive = ("delete", "destroy", "remove", "terminate-instances", "delete-stack", "delete-db-instance",
                   "delete-cluster", "delete-bucket", "delete-table", "rb")  # fmt: skip
    hit = next((p for p in pos if p in destructive or p.startswith(("delete-", "terminate-"))), None)
    if hit is not None:
        line.add("infra-destroy", f"{name} … {hit}", cmd)


def _container(line: LineCheck, cmd: Command, words: list[str], pos: list[str]) -> None:
    verb = pos[0] if pos else ""
    if (
        verb == "system"
        and "prune" in pos[1:2]
        and any(w in ("-a", "--all", "-af", "-fa", "--volumes") for w in words)
    ):
        line.add("data-destroy", "docker system prune -a", cmd)
        return
    if verb == "volume" and "prune" in pos[1:2]:
        line.add("data-destroy", "docker volume prune", cmd)
        return
    if verb not in ("run", "create") and pos[:2] != ["container", "run"]:
        return
    if any(w in ("--privileged", "--pid=host") for w in words):
        line.add("container-host-mount", "--privileged" if "--privileged" in words else "--pid=host", cmd)
        return
    for i, w in enumerate(words):
        spec = None
        if w in ("-v", "--volume", "--mount") and i + 1 < len(words):
            spec = words[i + 1]
        elif w.startswith(("--volume=", "--mount=", "-v")) and w not in ("-v",):
            spec = w.split("=", 1)[1] if "=" in w and w.startswith("--") else w[2:]
        if not spec:
            continue
        fields = spec.split(",")
        named = [f.split("=", 1)[1] for f in fields if f.startswith(("source=", "src="))]
        source = named[0] if named else fields[0].split(":", 1)[0]
        source = source.rstrip("/") or "/"
        if source in _HOST_SOURCES or source == line.places.home or source.endswith("docker.sock"):
            line.add("container-host-mount", f"mounts the host's {source}", cmd)
            return


def _publish(line: LineCheck, cmd: Command, name: str, pos: list[str]) -> None:
    if any(a.value in ("--dry-run", "-n", "--dry_run") for a in cmd.args[1:]):
        return  # checks what would be published, publishes nothing
    verb = pos[0] if pos else ""
    if name in ("npm", "pnpm", "yarn") and (verb == "publish" or pos[:2] == ["npm", "publish"]):
        line.add("publish", f"{name} publish", cmd)
    elif name == "twine" and verb == "upload":
        line.add("publish", "twine upload", cmd)
    elif name in ("cargo", "gem", "poetry", "flit", "hatch", "uv") and verb in ("publish", "push"):
        line.add("publish", f"{name} {verb}", cmd)
    elif name == "gh" and pos[:2] == ["release", "create"]:
        line.add("publish", "gh release create", cmd)

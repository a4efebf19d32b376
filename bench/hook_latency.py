"""Hook latency: our hook commands against bare Python and the Python hook libraries users pick.

A hook runs on every tool call, so its wall time per call is what a user pays. This script

1. installs the runtime with ``./install.sh`` into a fresh temporary project (as a user would; the
   dev venv's editable install is never measured), and the peers (cchooks, optionally fasthooks)
   into their own venv ``bench/.venv-peers``;
2. runs, in interleaved rounds (every command once per round, so machine load hits all alike),
   ``python -c pass`` with the runtime's interpreter (the floor), a minimal stdin-JSON script, a
   minimal cchooks and fasthooks hook, and each of our hook commands exactly as
   ``settings.example.json`` registers them (``sh -c '<command>'`` with ``CLAUDE_PROJECT_DIR`` set,
   a recorded Claude Code payload on stdin);
3. prints p50 / p95 wall time, the ratio to bare Python's p50, CPU time and peak RSS per command,
   checks that every one of our invocations answered cleanly and left its log record, and notes
   the machine's load.

``--soak`` runs 16 hook processes in parallel for 10 s instead, then checks that no record was lost
or torn in ``hooks.jsonl`` / ``events.jsonl`` / ``traces.jsonl``, that the breaker and rate-limit
counts are exact, and prints the throughput.

When ``redis-server`` is on PATH (``tests/redis/install_redis.sh``), the same run also measures the
Redis backend: the runtime is installed with ``--with-redis``, a local ``redis-server`` is started on
a free port, and a second scratch project with ``[backend] url = "redis://..."`` gets its own rows
(PreToolUse, PostToolUse, PostToolUseFailure on Bash) interleaved with the file rows, and its own
soak right after the file soak, with the same exactness checks read from Redis. The verdicts
compare Redis with the file backend of the same run (targets: PreToolUse Bash p50 <= 1.25x, soak
throughput >= 80%). ``--no-redis`` leaves it out.

    python3 bench/hook_latency.py                       # table, 40 rounds
    python3 bench/hook_latency.py --rounds 60 --json out.json
    python3 bench/hook_latency.py --soak [--procs 16 --seconds 10]
    python3 bench/hook_latency.py --project DIR          # reuse a project ./install.sh already set up

Stdlib only (the peers live in their own venv). Child processes run without
``PYTHONDONTWRITEBYTECODE``, with the byte code ``install.sh`` compiled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
PEERS = os.path.join(BENCH, "peers")
PEERS_VENV = os.path.join(BENCH, ".venv-peers")
RECORDED = os.path.join(REPO, "examples", "recorded-session.jsonl")
RUNTIME_REL = os.path.join(".claude", "hooks-runtime")
RECORDED_CWD = "/home/user/project"
TARGET_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure")
SCRATCH: list[str] = []  # scratch projects made by this run (removed at the end unless --keep)


# -- environment -------------------------------------------------------------------------------------


def child_env(project: str) -> dict[str, str]:
    """The environment Claude Code gives a hook: ours minus byte-code suppression and our overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "VIRTUAL_ENV")
        and not k.startswith("CLAUDE_HOOKS_")
    }
    env["CLAUDE_PROJECT_DIR"] = project
    return env


def install_runtime(project: str, *, with_redis: bool = False) -> None:
    """``./install.sh [--with-redis] PROJECT`` (quiet unless it fails)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    flags = ["--with-redis"] if with_redis else []
    proc = subprocess.run(
        ["bash", os.path.join(REPO, "install.sh"), *flags, project], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"hook_latency: ./install.sh {project} failed:\n{proc.stdout}\n{proc.stderr}")


def scratch_project(runtime: str, config: str = "") -> str:
    """A fresh project (temp dir) whose ``.claude/hooks-runtime`` is a symlink to ``runtime``, so the
    measured state and logs start empty and never touch the project the runtime came from;
    ``config`` becomes its ``.claude/hooks.toml``."""
    project = tempfile.mkdtemp(prefix="hook-latency-project-")
    SCRATCH.append(project)
    os.makedirs(os.path.join(project, ".claude"))
    os.symlink(runtime, os.path.join(project, RUNTIME_REL))
    if config:
        with open(os.path.join(project, ".claude", "hooks.toml"), "w", encoding="utf-8") as f:
            f.write(config)
    return project


def redis_config(url: str) -> str:
    return f'[backend]\nurl = "{url}"\n'


def start_redis() -> object | None:
    """A local ``redis-server`` on a free port (``None`` when none is installed)."""
    sys.path.insert(0, os.path.join(REPO, "tests", "redis"))
    from redis_server import RedisServer, redis_binary

    if redis_binary() is None:
        print("note: redis-server is not installed (tests/redis/install_redis.sh); no Redis rows")
        return None
    from pathlib import Path

    server = RedisServer(Path(tempfile.mkdtemp(prefix="hook-latency-redis-")))
    SCRATCH.append(str(server.directory))
    server.start()
    return server


REDIS_ROWS = ("PreToolUse", "PostToolUse", "PostToolUseFailure")


def check_bytecode(runtime: str) -> None:
    """Fail loudly when the installed runtime has no byte code (every import would compile)."""
    found = False
    for root, _, files in os.walk(os.path.join(runtime, "lib")):
        if root.endswith(os.path.join("lib", "__pycache__")) and any(f.startswith("runtime.") for f in files):
            found = True
            break
    if not found:
        sys.exit(f"hook_latency: {runtime} has no compiled byte code for lib.runtime; re-run ./install.sh")


def setup_peers(base_python: str) -> dict[str, str]:
    """Create ``bench/.venv-peers`` with cchooks (and fasthooks if it installs); return peer -> python."""
    python = os.path.join(PEERS_VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([base_python, "-m", "venv", PEERS_VENV], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    found: dict[str, str] = {}
    for package, pin in (("cchooks", "cchooks==0.1.5"), ("fasthooks", "fasthooks==0.1.4")):
        have = subprocess.run([python, "-c", f"import {package}"], env=env, capture_output=True)
        if have.returncode != 0:
            proc = subprocess.run(
                [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", pin],
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                print(f"note: {pin} did not install; its row is left out ({proc.stderr.strip()[-200:]})")
                continue
        found[package] = python
    subprocess.run(
        [python, "-m", "compileall", "-q", os.path.join(PEERS_VENV, "lib")], env=env, capture_output=True
    )
    return found


# -- payloads ----------------------------------------------------------------------------------------


def recorded_payloads(project: str) -> dict[tuple[str, str | None], dict[str, object]]:
    """The first recorded payload of each (event, tool), its cwd moved into ``project``."""
    out: dict[tuple[str, str | None], dict[str, object]] = {}
    with open(RECORDED, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            payload = json.loads(line.replace(RECORDED_CWD, project))
            out.setdefault((payload["hook_event_name"], payload.get("tool_name")), payload)
    return out


def payload_for(event: str, recorded: dict[tuple[str, str | None], dict[str, object]]) -> dict[str, object]:
    """A realistic payload for ``event``: recorded (Bash for tool events), else built from a recorded one."""
    for key in ((event, "Bash"), (event, None)):
        if key in recorded:
            return dict(recorded[key])
    base = dict(recorded[("PreToolUse", "Bash")])
    common = {
        k: base[k]
        for k in ("session_id", "transcript_path", "cwd", "permission_mode", "prompt_id")
        if k in base
    }
    tool = {"tool_name": "Bash", "tool_input": base["tool_input"]}
    extra: dict[str, dict[str, object]] = {
        "PermissionRequest": {**tool, "permission_suggestions": []},
        "PreSkillShellCommand": {**tool, "tool_use_id": "toolu_skill", "command_name": "status",
                                 "command_source": "projectSettings", "invoked_by": "user"},
        "PermissionDenied": {**tool, "tool_use_id": "toolu_denied", "reason": "denied by the auto-mode classifier"},
        "Notification": {"message": "Claude needs your permission to use Bash", "notification_type": "permission_prompt"},
        "SubagentStart": {"agent_id": "agent_1", "agent_type": "general-purpose"},
        "SubagentStop": {"agent_id": "agent_1", "agent_type": "general-purpose", "stop_hook_active": False,
                         "last_assistant_message": "Done."},
        "PreCompact": {"trigger": "manual", "custom_instructions": ""},
        "TaskCreated": {"task_id": "1", "task_subject": "Write the tests"},
        "TaskCompleted": {"task_id": "1", "task_subject": "Write the tests"},
    }  # fmt: skip
    return {**common, "hook_event_name": event, **extra.get(event, {})}  # else: the common fields


def registered_commands() -> list[tuple[str, str]]:
    """``(event, command)`` as ``settings.example.json`` registers them, in its order."""
    with open(os.path.join(REPO, "settings.example.json"), encoding="utf-8") as f:
        settings = json.load(f)
    out = []
    for event, groups in settings["hooks"].items():
        for group in groups:
            for handler in group["hooks"]:
                out.append((event, handler["command"]))
    return out


# -- one process -------------------------------------------------------------------------------------


class Sample:
    """One run of one command."""

    __slots__ = ("cpu_ms", "status", "stderr", "stdout", "wall_ms")

    def __init__(self, wall_ms: float, cpu_ms: float, status: int, stdout: bytes, stderr: bytes) -> None:
        self.wall_ms = wall_ms
        self.cpu_ms = cpu_ms
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


def spawn(argv: list[str], stdin: bytes, env: dict[str, str]) -> Sample:
    """Run ``argv`` with ``stdin``; wall time from spawn to reap, CPU time from ``wait4`` (the process
    and the children it waited for, e.g. the ``sh`` Claude Code starts).

    The ``ru_maxrss`` of that ``wait4`` is *not* the command's peak memory: Linux carries the spawning
    process's high-water mark across ``exec``, so it is at least this benchmark's own RSS. Peak memory
    is measured separately by :func:`peak_rss_kb`."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    actions = [
        (os.POSIX_SPAWN_DUP2, in_r, 0),
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
        *((os.POSIX_SPAWN_CLOSE, fd) for fd in (in_r, in_w, out_r, out_w, err_r, err_w)),
    ]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    sel = selectors.DefaultSelector()
    os.set_blocking(in_w, False)
    pending = memoryview(stdin)
    if pending:
        sel.register(in_w, selectors.EVENT_WRITE)
    else:
        os.close(in_w)
    sel.register(out_r, selectors.EVENT_READ)
    sel.register(err_r, selectors.EVENT_READ)
    open_fds = 2 + (1 if pending else 0)
    while open_fds:
        for key, _ in sel.select():
            fd = key.fd
            if fd == in_w:
                try:
                    pending = pending[os.write(in_w, pending) :]
                except BrokenPipeError:
                    pending = pending[:0]
                if not pending:
                    sel.unregister(in_w)
                    os.close(in_w)
                    open_fds -= 1
            else:
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    sel.unregister(fd)
                    os.close(fd)
                    open_fds -= 1
    sel.close()
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    return Sample(
        wall,
        (usage.ru_utime + usage.ru_stime) * 1000,
        os.waitstatus_to_exitcode(status),
        b"".join(chunks[out_r]),
        b"".join(chunks[err_r]),
    )


# -- the latency table -------------------------------------------------------------------------------


GNU_TIME = "/usr/bin/time"


def peak_rss_kb(argv: list[str], stdin: bytes, env: dict[str, str]) -> int | None:
    """The command's real peak RSS in KiB, from GNU time (a small process that forks the command, so
    no high-water mark of ours leaks in); None when GNU time is not installed."""
    if not os.access(GNU_TIME, os.X_OK):
        return None
    fd, out = tempfile.mkstemp(prefix="hook-latency-rss-")
    os.close(fd)
    try:
        sample = spawn([GNU_TIME, "-f", "%M", "-o", out, *argv], stdin, env)
        with open(out, encoding="utf-8") as f:
            text = f.read().split()
        return int(text[-1]) if sample.status == 0 and text and text[-1].isdigit() else None
    finally:
        os.unlink(out)


class Row:
    """A command in the table and how to feed it."""

    def __init__(
        self,
        label: str,
        argv: list[str],
        payload: dict[str, object] | None,
        *,
        ours: str | None = None,
        project: str | None = None,
    ):
        self.label = label
        self.argv = argv
        self.payload = payload
        self.ours = ours  # the event name for our hook commands
        self.project = project  # another project than the table's (the Redis rows)
        self.samples: list[Sample] = []
        self.rss_kb: list[int] = []

    def stdin(self, round_no: int) -> bytes:
        if self.payload is None:
            return b""
        payload = dict(self.payload)
        if "tool_use_id" in payload:
            suffix = "f" if payload.get("hook_event_name") == "PostToolUseFailure" else ""
            payload["tool_use_id"] = f"toolu_bench_{round_no}{suffix}"
        return json.dumps(payload).encode()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def build_rows(
    project: str, runtime_python: str, peers: dict[str, str], redis_project: str | None = None
) -> list[Row]:
    recorded = recorded_payloads(project)
    pre = payload_for("PreToolUse", recorded)
    rows = [
        Row("python -c pass (bare start-up)", [runtime_python, "-c", "pass"], None),
        Row("sh -c 'python -c pass'", ["/bin/sh", "-c", f'"{runtime_python}" -c pass'], None),
        Row(
            "stdin-JSON script (json.load)",
            ["/bin/sh", "-c", f'"{runtime_python}" "{PEERS}/stdin_json.py"'],
            pre,
        ),
    ]
    for peer in ("cchooks", "fasthooks"):
        if peer in peers:
            command = f'"{peers[peer]}" "{PEERS}/{peer}_pre.py"'
            rows.append(Row(f"{peer}, minimal PreToolUse", ["/bin/sh", "-c", command], pre))
    for event, command in registered_commands():
        payload = payload_for(event, recorded)
        tool = payload.get("tool_name")
        label = f"ours: {event}" + (f" ({tool})" if tool else "")
        rows.append(Row(label, ["/bin/sh", "-c", command], payload, ours=event))
        if redis_project is not None and event in REDIS_ROWS:
            label = f"ours on Redis: {event}" + (f" ({tool})" if tool else "")
            rows.append(Row(label, ["/bin/sh", "-c", command], payload, ours=event, project=redis_project))
    launcher = plugin_launcher(project, runtime_python)
    rows.append(
        Row("ours via the plugin: PreToolUse (Bash)", ["/bin/sh", "-c", launcher], pre, ours="PreToolUse")
    )
    return rows


def plugin_launcher(project: str, runtime_python: str) -> str:
    """The plugin route's command for PreToolUse: ``hooks/plugin-hook.sh`` with a plugin data dir whose
    environment is ready (its entry script is the installed runtime's), as after the first session."""
    data = os.path.join(project, ".plugin-data")
    os.makedirs(os.path.join(data, "runtime", "bin"), exist_ok=True)
    entry = os.path.join(os.path.dirname(runtime_python), "claude-hooks")
    link = os.path.join(data, "runtime", "bin", "claude-hooks")
    if not os.path.islink(link):
        os.symlink(entry, link)
    with open(os.path.join(data, "runtime", ".plugin-root"), "w", encoding="utf-8") as f:
        f.write(REPO + "\n")
    return (
        f'CLAUDE_PLUGIN_ROOT="{REPO}" CLAUDE_PLUGIN_DATA="{data}" '
        f'"{os.path.join(REPO, "hooks", "plugin-hook.sh")}" PreToolUse'
    )


def check_answer(row: Row, sample: Sample) -> str | None:
    """Why one of our invocations did not answer cleanly (None when it did)."""
    if sample.status != 0:
        return f"exit {sample.status}"
    if sample.stderr.strip():
        return f"stderr: {sample.stderr.decode(errors='replace').strip()[:300]}"
    if sample.stdout.strip():
        try:
            answer = json.loads(sample.stdout)
        except ValueError:
            return f"stdout is not JSON: {sample.stdout[:200]!r}"
        decision = (answer.get("hookSpecificOutput") or {}).get("permissionDecision")
        if decision == "deny":
            return f"denied: {answer}"
    return None


def count_invocations(project: str) -> dict[str, int]:
    """Invocation records (``hook == "runtime"``) in hooks.jsonl by event."""
    counts: dict[str, int] = {}
    for record in read_jsonl(os.path.join(project, ".claude", "logs", "hooks.jsonl"))[0]:
        if record.get("hook") == "runtime":
            event = str(record.get("event"))
            counts[event] = counts.get(event, 0) + 1
    return counts


def run_table(args: argparse.Namespace, runtime: str, redis_url: str | None = None) -> dict[str, object]:
    config = ""
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            config = f.read()
    project = scratch_project(runtime, config)
    redis_project = scratch_project(runtime, config + redis_config(redis_url)) if redis_url else None
    runtime_python = os.path.join(runtime, "bin", "python")
    check_bytecode(runtime)
    peers = {} if args.no_peers else setup_peers(os.path.realpath(runtime_python))
    rows = build_rows(project, runtime_python, peers, redis_project)
    envs = {p: child_env(p) for p in (project, redis_project) if p is not None}
    load_before = os.getloadavg()
    problems: dict[str, str] = {}
    before = {p: count_invocations(p) for p in envs}
    for round_no in range(-args.warmup, args.rounds):
        for row in rows:
            sample = spawn(row.argv, row.stdin(round_no), envs[row.project or project])
            if row.ours is not None:
                problem = check_answer(row, sample)
                if problem and row.label not in problems:
                    problems[row.label] = problem
            elif sample.status != 0 and row.label not in problems:
                problems[row.label] = f"exit {sample.status}: {sample.stderr.decode(errors='replace')[-300:]}"
            if round_no >= 0:
                row.samples.append(sample)
    load_after = os.getloadavg()
    for round_no in range(args.rss_runs):  # peak memory: a separate pass through GNU time
        for row in rows:
            rss = peak_rss_kb(row.argv, row.stdin(args.rounds + round_no), envs[row.project or project])
            if rss is not None:
                row.rss_kb.append(rss)
    after = {p: count_invocations(p) for p in envs}
    runs = args.rounds + args.warmup + (args.rss_runs if os.access(GNU_TIME, os.X_OK) else 0)
    for row in rows:
        where = row.project or project
        logged = after[where].get(row.ours or "", 0) - before[where].get(row.ours or "", 0)
        if row.ours is not None and logged < runs:
            problems.setdefault(row.label, f"only {logged} of {runs} log records")

    bare = statistics.median(s.wall_ms for s in rows[0].samples)
    results = []
    for row in rows:
        wall = [s.wall_ms for s in row.samples]
        p50, p95 = statistics.median(wall), percentile(wall, 0.95)
        results.append(
            {
                "command": row.label,
                "event": row.ours,
                "backend": "redis" if row.project else "file",
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "p50_x": round(p50 / bare, 2),
                "p95_x": round(p95 / bare, 2),
                "cpu_p50_ms": round(statistics.median(s.cpu_ms for s in row.samples), 2),
                "peak_rss_mb": round(max(row.rss_kb) / 1024, 1) if row.rss_kb else None,
            }
        )
    report: dict[str, object] = {
        "rounds": args.rounds,
        "warmup": args.warmup,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "bare_p50_ms": round(bare, 2),
        "rows": results,
        "problems": problems,
    }
    print_table(report)
    return report


def print_table(report: dict[str, object]) -> None:
    rows = report["rows"]
    assert isinstance(rows, list)
    print(
        f"Hook latency: {report['rounds']} interleaved rounds (+{report['warmup']} warm-up), Python "
        f"{report['python']}, {report['cpus']} CPUs, load {report['load_before']} -> {report['load_after']}"
    )
    print(
        "ratios: to the p50 of bare `python -c pass` in the same run; CPU: user+sys of the process tree "
        "(p50); peak RSS: max over a separate pass through GNU time\n"
    )
    header = ("command", "p50 ms", "p95 ms", "p50/bare", "p95/bare", "CPU ms", "peak RSS MB")
    width = max(len(str(r["command"])) for r in rows)
    print(f"| {header[0]:<{width}} | " + " | ".join(f"{h:>8}" for h in header[1:]) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * 10 for _ in header[1:]) + "|")
    for r in rows:
        cells = (
            r["p50_ms"],
            r["p95_ms"],
            f"{r['p50_x']:.2f}x",
            f"{r['p95_x']:.2f}x",
            r["cpu_p50_ms"],
            r["peak_rss_mb"],
        )
        print(f"| {r['command']:<{width}} | " + " | ".join(f"{c!s:>8}" for c in cells) + " |")
    print()
    verdicts = []
    file_p50 = {r["event"]: r["p50_ms"] for r in rows if r.get("backend") == "file" and r["event"]}
    for r in rows:
        if r.get("backend") == "redis" and r["event"] in file_p50:
            ratio = r["p50_ms"] / file_p50[r["event"]]
            r["p50_vs_file"] = round(ratio, 2)
            target = " (target <= 1.25x)" if r["event"] == "PreToolUse" else ""
            verdicts.append(f"{r['command']}: p50 {ratio:.2f}x the file backend's{target}")
        elif r["event"] in TARGET_EVENTS:
            ok = r["p50_x"] <= 2.0 and r["p95_x"] <= 3.0 and (r["peak_rss_mb"] or 0) <= 30
            verdicts.append(
                f"{r['command']}: {'meets' if ok else 'MISSES'} p50 <= 2.0x, p95 <= 3.0x, RSS <= 30 MB"
            )
    print("\n".join(verdicts))
    problems = report["problems"]
    assert isinstance(problems, dict)
    for label, problem in problems.items():
        print(f"PROBLEM {label}: {problem}")


# -- the parallel soak -------------------------------------------------------------------------------

SOAK_CONFIG = """\
# bench/hook_latency.py --soak: the breaker never opens, so its failure count must be exact
[breaker]
max_failures = 1000000
"""


def read_jsonl(path: str) -> tuple[list[dict[str, object]], int, list[tuple[int, int]]]:
    """Records of ``path`` and its rotated files (oldest first), the count of lines that do not
    parse (torn), and ``(id, position)`` of every record that carries an integer ``id``."""
    directory, base = os.path.split(path)
    try:
        generations = sorted(
            int(n[len(base) + 1 :])
            for n in os.listdir(directory)
            if n.startswith(base + ".") and n[len(base) + 1 :].isdigit()
        )
    except FileNotFoundError:
        return [], 0, []
    current = generations[-1] + 1 if generations else 0
    try:
        with open(path + ".lock", "rb") as f:
            raw = f.read().strip()
            current = int(raw) if raw.isdigit() else current
    except FileNotFoundError:
        pass
    records: list[dict[str, object]] = []
    ids: list[tuple[int, int]] = []
    torn = 0
    for gen, name in [(g, f"{path}.{g}") for g in generations] + [(current, path)]:
        try:
            with open(name, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        offset = 0
        for line in data.split(b"\n")[:-1]:
            try:
                record = json.loads(line)
            except ValueError:
                torn += 1
            else:
                records.append(record)
                if isinstance(record.get("id"), int):
                    ids.append((record["id"], (gen << 40) | offset))
            offset += len(line) + 1
        if data and not data.endswith(b"\n"):
            torn += 1
    return records, torn, ids


REDIS_QUERY = """
import json, sys, redis
client, ns = redis.Redis.from_url(sys.argv[1]), sys.argv[2]
def doc(name):
    raw = client.get("claude-hooks:{%s}:state:%s" % (ns, name))
    return json.loads(raw) if raw else {}
topics = {}
for _, fields in client.xrange("claude-hooks:{%s}:events" % ns):
    topic = fields[b"topic"].decode()
    topics[topic] = topics.get(topic, 0) + 1
print(json.dumps({"breakers": doc("breakers"), "ratelimits": doc("ratelimits"), "topics": topics}))
"""


def redis_contents(runtime: str, url: str, project: str) -> dict[str, dict[str, object]]:
    """The project's breakers and rate-limit documents and event topics in Redis (read with the
    runtime's redis-py)."""
    proc = subprocess.run(
        [os.path.join(runtime, "bin", "python"), "-c", REDIS_QUERY, url, os.path.basename(project)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def run_soak(args: argparse.Namespace, runtime: str, redis_url: str | None = None) -> dict[str, object]:
    project = scratch_project(runtime, SOAK_CONFIG + (redis_config(redis_url) if redis_url else ""))
    claude = os.path.join(project, ".claude")
    recorded = recorded_payloads(project)
    commands = dict(registered_commands())
    env = child_env(project)
    templates = {
        "pre": payload_for("PreToolUse", recorded),
        "failure": payload_for("PostToolUseFailure", recorded),
        "post_read": dict(recorded[("PostToolUse", "Read")]),
        "pre_read": dict(recorded[("PreToolUse", "Read")]),
    }
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    counts: dict[str, int] = {}
    per_worker: list[dict[str, int]] = [{} for _ in range(args.procs)]
    latencies: list[float] = []
    cpu_ms: list[float] = []
    problems: list[str] = []

    def call(worker: int, kind: str, i: int) -> None:
        payload = dict(templates[kind])
        payload["session_id"] = f"00000000-0000-4000-8000-{worker:012d}"
        payload["tool_use_id"] = f"toolu_soak_{worker}_{i}_{'bash' if kind in ('pre', 'failure') else 'read'}"
        event = str(payload["hook_event_name"])
        sample = spawn(["/bin/sh", "-c", commands[event]], json.dumps(payload).encode(), env)
        with lock:
            latencies.append(sample.wall_ms)
            cpu_ms.append(sample.cpu_ms)
            counts[kind] = counts.get(kind, 0) + 1
            per_worker[worker][kind] = per_worker[worker].get(kind, 0) + 1
            if sample.status != 0 or sample.stderr.strip():
                problems.append(
                    f"{kind}: exit {sample.status} {sample.stderr.decode(errors='replace').strip()[:200]}"
                )

    def worker(w: int) -> None:
        i = 0
        while time.monotonic() < deadline:  # one iteration: a failing Bash call and a good Read call
            for kind in ("pre", "failure", "pre_read", "post_read"):
                call(w, kind, i)
            i += 1

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.procs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    load_after = os.getloadavg()
    total = sum(counts.values())

    checks: list[tuple[str, bool, str]] = []
    logs = os.path.join(claude, "logs")
    hooks_records, hooks_torn, _ = read_jsonl(os.path.join(logs, "hooks.jsonl"))
    by_event: dict[str, int] = {}
    for r in hooks_records:
        if r.get("hook") == "runtime":
            by_event[str(r.get("event"))] = by_event.get(str(r.get("event")), 0) + 1
    expect = {
        "PreToolUse": counts.get("pre", 0) + counts.get("pre_read", 0),
        "PostToolUseFailure": counts.get("failure", 0),
        "PostToolUse": counts.get("post_read", 0),
    }
    checks.append(("hooks.jsonl: no torn line", hooks_torn == 0, f"{hooks_torn} torn"))
    checks.append(
        ("hooks.jsonl: one invocation record per call", by_event == expect, f"{by_event} vs {expect}")
    )

    event_records, events_torn, ids = read_jsonl(os.path.join(logs, "events.jsonl"))
    topics: dict[str, int] = {}
    for r in event_records:
        topics[str(r.get("topic"))] = topics.get(str(r.get("topic")), 0) + 1
    where = "file"
    if redis_url:  # events and state are in Redis; nothing may have fallen back to the files
        where = "Redis"
        # a reader first replays what contention sent through the journal (lib/backends/reconcile.py)
        subprocess.run(
            [os.path.join(runtime, "bin", "python"), "-m", "lib", "--project", project, "breakers"],
            capture_output=True,
            env=env,
        )
        remote = redis_contents(runtime, redis_url, project)
        checks.append(("nothing fell back to the file bus", not event_records, f"{len(event_records)} local"))
        topics = {str(k): int(v) for k, v in remote["topics"].items()}  # type: ignore[call-overload]
    expect_topics = {"tool.pre": expect["PreToolUse"], "tool.failure": expect["PostToolUseFailure"],
                     "tool.post": expect["PostToolUse"]}  # fmt: skip
    got_topics = {k: topics.get(k, 0) for k in expect_topics}
    checks.append(("events.jsonl: no torn line", events_torn == 0, f"{events_torn} torn"))
    checks.append(
        (
            f"events ({where}): one tool.* event per call",
            got_topics == expect_topics,
            f"{got_topics} vs {expect_topics}",
        )
    )
    bad_ids = [(i, p) for i, p in ids if i != p]
    checks.append(("events.jsonl: every id is its record's position", not bad_ids, f"{len(bad_ids)} differ"))

    span_records, spans_torn, _ = read_jsonl(os.path.join(logs, "traces.jsonl"))
    hook_spans: dict[str, int] = {}
    for r in span_records:
        attrs = r.get("attributes")
        if r.get("type") == "span" and isinstance(attrs, dict) and "hook.event" in attrs:
            hook_spans[str(attrs["hook.event"])] = hook_spans.get(str(attrs["hook.event"]), 0) + 1
    checks.append(("traces.jsonl: no torn line", spans_torn == 0, f"{spans_torn} torn"))
    checks.append(("traces.jsonl: one hook span per call", hook_spans == expect, f"{hook_spans} vs {expect}"))

    # the breaker counts a Bash failure under the command's key (``Bash:git status``, [breaker] bash_key)
    # and, with the default ``scope = "session"``, per session: ``<key>@<session id>``, one per worker
    sys.path.insert(0, REPO)
    from lib.breaker.keys import breaker_key

    key = breaker_key("Bash", templates["failure"].get("tool_input"))  # type: ignore[arg-type]
    if redis_url:
        breakers = remote["breakers"].get("breakers", {})  # type: ignore[union-attr]
    else:
        with open(os.path.join(claude, "state", "breakers.json"), encoding="utf-8") as f:
            breakers = json.load(f)["breakers"]
    wrong = []
    for w in range(args.procs):
        want = per_worker[w].get("failure", 0)
        got = breakers.get(f"{key}@00000000-0000-4000-8000-{w:012d}", {})
        if want and (got.get("consecutive_failures"), got.get("failures")) != (want, want):
            wrong.append(
                f"worker {w}: consecutive {got.get('consecutive_failures')}, total {got.get('failures')} vs {want}"
            )
    checks.append(
        (
            f"breakers ({where}): {key} failures counted exactly in every session",
            not wrong,
            "; ".join(wrong[:3]),
        )
    )
    if redis_url:
        windows = remote["ratelimits"].get("windows", {})  # type: ignore[assignment]
    else:
        with open(os.path.join(claude, "state", "ratelimits.json"), encoding="utf-8") as f:
            windows = json.load(f)["windows"]
    wrong = []
    for w in range(args.procs):
        sid = f"00000000-0000-4000-8000-{w:012d}"
        for tool, kind in (("Bash", "pre"), ("Read", "pre_read")):
            got = len(windows.get(f"{tool}@{sid}", {}).get("calls", []))
            if got != per_worker[w].get(kind, 0):
                wrong.append(f"{tool}@w{w}: {got} vs {per_worker[w].get(kind, 0)}")
    checks.append((f"rate limits ({where}): every admitted call counted", not wrong, "; ".join(wrong[:5])))
    checks.append(("every call exit 0, nothing on stderr", not problems, "; ".join(problems[:3])))

    report: dict[str, object] = {
        "backend": where,
        "procs": args.procs,
        "seconds": round(elapsed, 2),
        "invocations": total,
        "throughput_per_s": round(total / elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_ms": round(percentile(latencies, 0.95), 2) if latencies else None,
        "cpu_per_hook_ms": round(statistics.mean(cpu_ms), 2) if cpu_ms else None,
        "cpu_busy_by_hooks": round(sum(cpu_ms) / 1000 / (elapsed * (os.cpu_count() or 1)), 2),
        "counts": counts,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "checks": [{"check": c, "ok": ok, "detail": d} for c, ok, d in checks],
    }
    print(
        f"Soak ({where} backend): {args.procs} hook processes in parallel for {elapsed:.1f} s, {os.cpu_count()} CPUs, "
        f"load {report['load_before']} -> {report['load_after']}"
    )
    print(
        f"{total} invocations ({counts}): {report['throughput_per_s']} hooks/s, "
        f"latency under load p50 {report['latency_p50_ms']} ms, p95 {report['latency_p95_ms']} ms; "
        f"CPU {report['cpu_per_hook_ms']} ms per hook, the hooks kept {report['cpu_busy_by_hooks']:.0%} of "
        "the CPUs busy"
    )
    for c, ok, d in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {c}" + ("" if ok else f": {d}"))
    return report


# -- main --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="measured rounds (default 40)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds first (default 3)")
    parser.add_argument(
        "--rss-runs", type=int, default=5, help="runs per command for peak memory (default 5)"
    )
    parser.add_argument(
        "--project",
        help="take the runtime from this project (./install.sh done); default: install into a temp one",
    )
    parser.add_argument("--no-peers", action="store_true", help="leave out cchooks/fasthooks")
    parser.add_argument("--soak", action="store_true", help="the parallel soak instead of the table")
    parser.add_argument("--procs", type=int, default=16, help="soak: hook processes in parallel (default 16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="soak: duration (default 10)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--config", metavar="FILE", help="table: the measured project's .claude/hooks.toml")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    parser.add_argument("--no-redis", action="store_true", help="leave out the Redis backend's rows and soak")
    args = parser.parse_args(argv)

    tmp = None
    if args.project:
        project = os.path.abspath(args.project)
    else:
        tmp = tempfile.mkdtemp(prefix="hook-latency-")
        project = os.path.join(tmp, "project")
        os.makedirs(project)
        print(f"installing the runtime into {project} ...", flush=True)
        install_runtime(project, with_redis=not args.no_redis)
    runtime = os.path.realpath(os.path.join(project, RUNTIME_REL))
    server = None if args.no_redis else start_redis()
    url = getattr(server, "url", None)
    try:
        if args.soak:
            report = run_soak(args, runtime)
            ok = all(c["ok"] for c in report["checks"])  # type: ignore[index, union-attr]
            if url:
                on_redis = run_soak(args, runtime, url)
                ok = ok and all(c["ok"] for c in on_redis["checks"])  # type: ignore[index, union-attr]
                share = float(on_redis["throughput_per_s"]) / float(report["throughput_per_s"])  # type: ignore[arg-type]
                print(f"\nRedis soak throughput: {share:.0%} of the file backend's (target >= 80%)")
                report = {"file": report, "redis": on_redis, "redis_share": round(share, 2)}
        else:
            report = run_table(args, runtime, url)
            ok = not report["problems"]
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(report, f, indent=2)
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
        for path in [*SCRATCH, *([tmp] if tmp else [])]:
            if args.keep:
                print(f"kept {path}")
            else:
                shutil.rmtree(path, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env bash
# Run the whole test suite from a fresh clone: makes .venv with the test dependencies, installs the
# pinned Claude Code CLI for the end-to-end tests (tests/e2e/install_cli.sh), a redis-server for
# the Redis backend tests and Debian's chromium for the dashboard's browser tests when missing, runs
# the static checks (ruff check, ruff format --check, mypy --strict, pyright), then pytest measuring
# coverage in every process, then the coverage gate (tests/coverage_gate.py). Extra arguments go to
# pytest.
#
#   tests/run.sh                 everything (what CI runs); fails on any check, test or coverage floor
#   tests/run.sh tests/unit -x   a subset: no static checks, coverage reported but not enforced
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# shellcheck source=hooks/find-python.sh
. hooks/find-python.sh  # first_python, shared with install.sh and the plugin's launcher
if [ ! -x .venv/bin/python ]; then
    py=$(first_python "${PYTHON:-}" python3 python3.13 python3.12 python3.11) \
        || { echo "tests/run.sh: needs Python >= 3.11" >&2; exit 1; }
    "$py" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"

command -v node >/dev/null 2>&1 || { echo "tests/run.sh: the end-to-end tests need Node.js and npm" >&2; exit 1; }
sh tests/e2e/install_cli.sh

if [ -x tests/redis/install_redis.sh ]; then
    sh tests/redis/install_redis.sh
fi
sh tests/dashboard/install_chromium.sh

# Static checks first on a full run (tool versions pinned in pyproject.toml's dev extra); a failure is
# reported and the tests still run, so one CI run shows everything that is wrong.
failed=()
check() {
    local name="$1"; shift
    echo "tests/run.sh: $name"
    "$@" || failed+=("$name")
}
if [ "$#" -eq 0 ]; then
    check "ruff check" .venv/bin/ruff check .
    check "ruff format --check" .venv/bin/ruff format --check .
    check "mypy --strict" .venv/bin/mypy
    check "pyright" .venv/bin/pyright
fi

# Coverage is measured in every process the tests start ([tool.coverage.run] in pyproject.toml);
# tests/coverage_gate.py then combines it and checks the floors (enforced on a full run, reported for
# a subset: `.venv/bin/python tests/coverage_gate.py --report-only` shows the figures again).
# pytest-xdist spreads the tests over one worker per CPU (PYTEST_WORKERS overrides; 0 runs them in
# this process): the suite spends much of its time waiting on the processes it starts.
.venv/bin/python -m coverage erase
set +e
.venv/bin/python -m coverage run -m pytest -n "${PYTEST_WORKERS:-auto}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "tests/run.sh: pytest collected no tests" >&2
fi
[ "$status" -eq 0 ] || failed+=("pytest")
gate_args=()
[ "$#" -eq 0 ] || gate_args=(--report-only)
check "coverage gate" .venv/bin/python tests/coverage_gate.py "${gate_args[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    for name in "${failed[@]}"; do echo "tests/run.sh: FAILED: $name" >&2; done
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"

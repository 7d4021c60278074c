#!/usr/bin/env bash
# Static checks CI runs before the tests (issue #15): lint, formatting, types, import graph. Fast: about
# ten seconds cold, two warm (mypy keeps its cache in .mypy_cache). Every check runs even when an earlier one
# fails, so one CI run shows all problems; the exit status is 1 when any failed.
# Usage: scripts/check.sh   (after `scripts/setup.sh dev`, which installs ruff and mypy; `make check` does both)
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
step() {
  local name="$1"
  shift
  echo "== $name" >&2
  "$@" || failed+=("$name")
}

# Paths and settings come from pyproject.toml ([tool.ruff], [tool.mypy]).
step "ruff check" .venv/bin/ruff check --quiet .
step "ruff format --check" .venv/bin/ruff format --check --quiet .
step "mypy" .venv/bin/mypy
step "import graph" .venv/bin/python scripts/check_imports.py

if [ ${#failed[@]} -gt 0 ]; then
  (IFS=","; echo "check failed: ${failed[*]}" >&2)
  exit 1
fi
echo "check passed" >&2

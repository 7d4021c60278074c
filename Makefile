# The README's two commands: `make app` and `make test`. Each sets up what it needs first.
.PHONY: app test check setup setup-dev bench-judge bench-app bench-gpu bench-stats

app: setup
	scripts/app.sh

test: setup-dev
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest

# Static checks (ruff, ruff format, mypy, the import graph); CI runs them before the tests.
check: setup-dev
	scripts/check.sh

setup:
	scripts/setup.sh app

setup-dev:
	scripts/setup.sh dev

# Benchmarks (docs/PERFORMANCE.md): each prints a table and writes bench/results/*.json.
bench-judge: setup-dev
	HF_HUB_OFFLINE=1 .venv/bin/python bench/judge.py

bench-app: setup-dev
	HF_HUB_OFFLINE=1 .venv/bin/python bench/app.py

bench-gpu: setup-dev
	HF_HUB_OFFLINE=1 .venv/bin/python bench/gpu.py

bench-stats: setup-dev
	.venv/bin/python bench/stats.py

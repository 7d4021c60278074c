# The README's two commands: `make app` and `make test`. Each sets up what it needs first.
.PHONY: app test setup setup-dev

app: setup
	scripts/app.sh

test: setup-dev
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest

setup:
	scripts/setup.sh app

setup-dev:
	scripts/setup.sh dev

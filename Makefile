# massline: `make run` starts the whole system, `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEPS_HASH := $(shell cat pyproject.toml shared/pyproject.toml requirements.lock 2>/dev/null | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(DEPS_HASH)
PYTEST_ARGS ?=

.PHONY: install run test test-unit test-component test-integration test-e2e asyncapi lint clean help

help:
	@echo "make run    - install (first time) and start everything on http://127.0.0.1:$${PORT:-8000}"
	@echo "make test   - install and run the unit, component, integration and e2e tests"
	@echo "make lint   - ruff on everything, mypy --strict on shared/ and the domain packages"
	@echo "make fuzz   - schemathesis, a large budget, over every service and the gateway (docs/hostile-input.md)"
	@echo "make asyncapi - regenerate docs/asyncapi.json from the code"
	@echo "make chaos  - fault suite under a vote load (kills, broker loss, rebalance, redelivery, a cut link); writes docs/reliability.md (root, ~15 min)"

$(STAMP): pyproject.toml shared/pyproject.toml requirements.lock
	@echo "[massline] creating the virtual environment in $(VENV) and installing (first run takes a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# The browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts for readable screenshots.
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "[massline] installing Chromium from the distribution's packages" && \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null); } || \
	  echo "[massline] Chromium not installed: the browser tests will say so"
	@# promtool checks and unit-tests the alert rules (tests/unit/test_alert_rules.py): Debian's Prometheus package.
	@command -v promtool >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "[massline] installing promtool from the distribution's prometheus package" && \
	  (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	   prometheus >/dev/null); } || \
	  echo "[massline] promtool not installed: the alert rule tests will say so"
	@$(PY) -m pip install --disable-pip-version-check --no-input --progress-bar off -c requirements.lock -e './shared[embedded]' -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "[massline] installed"

install: $(STAMP)

run: install
	@$(PY) -m services.operations run

test: install
	@$(PY) -m pytest tests $(PYTEST_ARGS)

test-unit: install
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-component: install
	@$(PY) -m pytest tests/component $(PYTEST_ARGS)

test-integration: install
	@$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-e2e: install
	@$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# The rule set is in pyproject.toml ([tool.ruff], [tool.mypy]); mypy is strict on shared/ and every domain.
lint: install
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy --strict shared/massline $(wildcard services/*/domain services/*/domain.py)

asyncapi: install
	@$(PY) -m services.operations asyncapi

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

# Benchmarks and evaluations (not tests): each writes its figures to docs/.
.PHONY: bench-votes bench-notify eval-fraud fuzz chaos
bench-votes: install
	@$(PY) tests/bench/bench_votes.py

bench-notify: install
	@$(PY) tests/bench/bench_notify.py

eval-fraud: install
	@$(PY) tests/bench/eval_fraud.py

# Schemathesis with a large budget (>= 30,000 cases) over every service and the gateway: docs/hostile-input.md.
fuzz: install
	@$(PY) tests/bench/fuzz.py

chaos: install
	@$(PY) tests/bench/chaos.py

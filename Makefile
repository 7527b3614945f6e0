# massline: `make run` starts the whole system, `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEPS_HASH := $(shell cat pyproject.toml shared/pyproject.toml requirements.lock 2>/dev/null | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(DEPS_HASH)
PYTEST_ARGS ?=

.PHONY: install run test test-unit test-component test-integration test-e2e asyncapi k8s lint clean help deploy-lock

help:
	@echo "make run    - install (first time) and start everything on http://127.0.0.1:$${PORT:-8000}"
	@echo "make test   - install and run the unit, component, integration and e2e tests"
	@echo "make lint   - ruff on everything, mypy --strict on shared/ and the domain packages"
	@echo "make fuzz   - schemathesis, a large budget, over every service and the gateway (docs/hostile-input.md)"
	@echo "make asyncapi - regenerate docs/asyncapi.json from the code"
	@echo "make k8s   - rebuild deploy/k8s/prometheus-rule.yaml and kafka-topics.yaml from their sources"
	@echo "make restore-drill - pg_dump under a vote load, restore on a fresh cluster, replay, check; writes docs/operations.md"
	@echo "make chaos  - fault suite under a vote load (kills, broker loss, rebalance, redelivery, a cut link); writes docs/reliability.md (root, ~15 min)"

$(STAMP): pyproject.toml shared/pyproject.toml requirements.lock
	@echo "[massline] creating the virtual environment in $(VENV) and installing (first run takes a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# The browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts for readable screenshots.
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "[massline] installing Chromium from the distribution's packages" && \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null); } || \
	  echo "[massline] Chromium not installed: the browser tests will say so"
	@# The downstream-tools test reads the embedded broker with Debian's kcat (docs/integration.md).
	@command -v kcat >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "[massline] installing kcat from the distribution's packages" && \
	  (apt-get update -q >/dev/null && apt-get install -y -q kcat >/dev/null); } || \
	  echo "[massline] kcat not installed: the kcat tests will say so (under CI they fail)"
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

# The custom-resource validators (KEDA, Prometheus Operator models) are npm packages: tests/k8s-validate.
K8S_VALIDATE := tests/k8s-validate
NODE_STAMP := $(K8S_VALIDATE)/node_modules/.installed

$(NODE_STAMP): $(K8S_VALIDATE)/package.json $(K8S_VALIDATE)/package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "[massline] installing Node.js and npm from the distribution's packages" && \
	  (apt-get update -q >/dev/null && apt-get install -y -q nodejs npm >/dev/null); } || true
	@if command -v npm >/dev/null; then \
	  echo "[massline] installing the Kubernetes custom-resource validators (npm ci in $(K8S_VALIDATE))"; \
	  (cd $(K8S_VALIDATE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && touch $@; \
	else echo "[massline] npm not found: tests/unit/test_k8s_manifests.py will say so"; fi

# axe-core, the accessibility checker the browser tests inject into the pages: tests/a11y.
A11Y := tests/a11y
A11Y_STAMP := $(A11Y)/node_modules/.installed

$(A11Y_STAMP): $(A11Y)/package.json $(A11Y)/package-lock.json $(NODE_STAMP)
	@if command -v npm >/dev/null; then \
	  echo "[massline] installing axe-core for the accessibility checks (npm ci in $(A11Y))"; \
	  (cd $(A11Y) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && touch $@; \
	else echo "[massline] npm not found: the accessibility checks in tests/e2e will say so"; fi

install: $(STAMP) $(NODE_STAMP) $(A11Y_STAMP)

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

# deploy/k8s/prometheus-rule.yaml from deploy/prometheus/rules/, deploy/k8s/kafka-topics.yaml from the topic catalog.
k8s: install
	@$(PY) -m services.operations k8s-rules
	@$(PY) -m services.operations kafka-topics

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts build/lock-venv

# The image installs from deploy/requirements.hashes.txt (pip --require-hashes): requirements.lock's pins of what
# the services need, each with its files' sha256. Run after changing requirements.lock or a dependency list;
# tests/unit/test_images.py fails while the two disagree. pip-tools runs in a venv of its own (build/lock-venv).
PIP_TOOLS := pip-tools==7.6.2
deploy-lock:
	@test -x build/lock-venv/bin/pip-compile || { $(PYTHON) -m venv build/lock-venv && \
	  build/lock-venv/bin/pip install --disable-pip-version-check -q '$(PIP_TOOLS)'; }
	@build/lock-venv/bin/pip-compile --quiet --no-header --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --output-file deploy/requirements.hashes.txt deploy/requirements.in
	@# The local packages are installed from the build context, not by hash: drop their lines.
	@{ echo "# requirements.lock's pins of what the image installs, with sha256 hashes: \`make deploy-lock\` writes it"; \
	  echo "# from deploy/requirements.in; edit those, not this."; \
	  awk '/^# WARNING: pip install will require/ {skip=1; next} skip && /^(#|massline|    #)/ {next} {skip=0; print}' \
	  deploy/requirements.hashes.txt; } > deploy/requirements.hashes.tmp && \
	  mv deploy/requirements.hashes.tmp deploy/requirements.hashes.txt
	@echo "[massline] wrote deploy/requirements.hashes.txt"

# Benchmarks and evaluations (not tests): each writes its figures to docs/.
.PHONY: bench-votes bench-notify eval-fraud eval-blind fuzz chaos restore-drill
bench-votes: install
	@$(PY) tests/bench/bench_votes.py

bench-notify: install
	@$(PY) tests/bench/bench_notify.py

eval-fraud: install
	@$(PY) tests/bench/eval_fraud.py

# A second traffic mix, written apart from the detectors and from eval-fraud's world: docs/antifraud-blind.md.
eval-blind: install
	@$(PY) tests/bench/blind_mix.py --out docs/antifraud-blind.md

# Schemathesis with a large budget (>= 30,000 cases) over every service and the gateway: docs/hostile-input.md.
fuzz: install
	@$(PY) tests/bench/fuzz.py

chaos: install
	@$(PY) tests/bench/chaos.py

# Backup under load, restore on a fresh cluster and broker, replay the outboxes, check every vote: docs/operations.md.
restore-drill: install
	@$(PY) tests/bench/restore_drill.py

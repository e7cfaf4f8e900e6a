# wa-manager: developer and CI tasks. A fresh machine needs only python3 (and apt-get
# for the browser the end-to-end tests drive). `make help` lists the targets.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_ARGS ?=
export DEBIAN_FRONTEND := noninteractive

.PHONY: help venv install browser lint test test-lowest screenshots demo bench reliability

help:
	@echo "make install      create $(VENV) and install wa-manager with its dev tools"
	@echo "make lint         ruff check, ruff format --check, mypy --strict, import-linter"
	@echo "make test         install + browser + lint + pytest (warnings are errors) + test-lowest"
	@echo "make test-lowest  unit and integration tests with every direct dependency at its floor"
	@echo "make screenshots  the end-to-end tests, renewing docs/screenshots (make test leaves them)"
	@echo "make demo         a local tour: fake UltraMsg, sample chats, web UI on :8000"
	@echo "                  (installs the runtime only, none of the dev tools)"
	@echo "                  (make demo DEMO_ARGS=--no-serve stops after the sync)"
	@echo "make bench        the performance suite (benchmarks/README.md)"
	@echo "make reliability  the reliability suite, fast and slow; figures in docs/reliability.md"

venv install: $(DEV_STAMP)

# $(VENV), made when missing (installing python3-venv with apt-get where venv fails).
define make_venv
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing python3-venv with apt-get"; \
	  rm -rf $(VENV); \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; \
	  $(PYTHON) -m venv $(VENV); }
endef

# Two stamps, each re-installing only when pyproject.toml changed since its install:
# the runtime alone (what `make demo` needs) and the runtime with the dev extras
# (tests, linters, Playwright, the fuzzer, matplotlib), which covers the runtime too.
$(RUNTIME_STAMP): pyproject.toml
	$(make_venv)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e .
	@touch $(RUNTIME_STAMP)

$(DEV_STAMP): pyproject.toml
	$(make_venv)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $(DEV_STAMP) $(RUNTIME_STAMP)

# The end-to-end tests drive Debian's chromium; no browser is ever downloaded.
# The fonts make emoji and CJK names readable in the screenshots (docs/screenshots).
BROWSER_PACKAGES := chromium fonts-noto-color-emoji fonts-wqy-microhei
browser:
	@if [ -x /usr/bin/chromium ] && dpkg -s fonts-noto-color-emoji fonts-wqy-microhei >/dev/null 2>&1; then \
	  echo "chromium: /usr/bin/chromium"; \
	else \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y $(BROWSER_PACKAGES); \
	fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(DEV_STAMP) browser lint
	$(BIN)/python -m pytest -m "not slow"
	$(MAKE) test-lowest

# The lower bounds in pyproject.toml are promises: $(LOWEST) holds every direct
# dependency (runtime and the `test` extra) at the lowest version they allow, the rest
# at their newest, as uv's lowest-direct resolution picks them (uv itself comes from
# PyPI into that venv). The unit and integration tests must pass there too.
LOWEST := .venv-lowest
LOWEST_STAMP := $(LOWEST)/.installed
$(LOWEST_STAMP): pyproject.toml
	@[ -x $(LOWEST)/bin/python ] || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --disable-pip-version-check -q uv
	$(LOWEST)/bin/uv pip compile --quiet --python $(LOWEST)/bin/python --resolution lowest-direct \
	  --extra test pyproject.toml -o $(LOWEST)/requirements.txt
	$(LOWEST)/bin/uv pip sync --quiet --python $(LOWEST)/bin/python $(LOWEST)/requirements.txt
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --no-deps -e .
	@touch $(LOWEST_STAMP)

test-lowest: $(LOWEST_STAMP)
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider -m "not slow" tests/unit tests/integration

# The browser tests again, this time writing their screenshots into docs/screenshots.
screenshots: $(DEV_STAMP) browser
	WA_MANAGER_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -m e2e tests/e2e

demo: $(RUNTIME_STAMP)
	$(BIN)/wa-manager demo $(DEMO_ARGS)

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.instances
	$(BIN)/python -m benchmarks.duplicates

# The whole reliability suite (its fast and slow tests) and the older fault and auth
# suites it counts; prints the figures and, on a green run, writes them to docs/reliability.md.
RELIABILITY_SUITES := tests/reliability tests/integration/test_ultramsg_client.py \
	tests/unit/test_chat_parsing.py tests/integration/test_http_auth.py \
	tests/integration/test_http_visibility.py

reliability: $(DEV_STAMP)
	WA_MANAGER_RELIABILITY_REPORT=docs/reliability.md \
	  $(BIN)/python -m pytest $(RELIABILITY_SUITES)

# MediaNest: `make run` sets up and starts everything; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export MEDIANEST_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export MEDIANEST_TEST_MQTT_URL ?= mqtt://127.0.0.1:1883

.PHONY: run test test-fast lint audit lock bench fuzz install install-run system-deps test-deps services web clean

# install: everything (servers, models, test and lint tools); install-run: what running needs.
install: $(DEV_STAMP)
install-run: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch pinned exactly: the CPU build; any other spec pulls gigabytes of CUDA
	$(PY) -m pip install --quiet torch==2.13.0
	# requirements.lock pins every version (the audited set); `make lock` refreshes it
	$(PY) -m pip install --quiet -c requirements.lock -e ".[server,inference]"
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c requirements.lock -e ".[server,inference,dev]"
	touch $(DEV_STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

# what the browser tests need on top: Debian's chromium (Playwright drives it; it never downloads one)
test-deps:
	@bash scripts/install-system-deps.sh --test

# The browser app into web/dist (served by `medianest serve web`; not committed): `npm ci` from
# its lock file when node_modules is stale, then the production build. Node.js is Debian's when
# it is new enough, else one from PyPI in the venv (see the script).
web: install-run system-deps
	@bash scripts/build-web.sh $(PY)

services:
	@bash scripts/ensure-services.sh

run: install-run system-deps web
	$(VENV)/bin/medianest up

test: install system-deps test-deps services audit web
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

test-fast: install
	$(PY) -m pytest -q -m "not slow" -x

lint: install audit
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

# Known vulnerabilities with a fixed release in the locked dependencies fail the build; what
# could not be looked up is listed (--strict makes that fatal too).
audit: install
	$(PY) scripts/audit_deps.py requirements.lock

lock: install
	{ sed -n '1,2p' requirements.lock; $(PY) -m pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# Every script records its figures (each against a baseline measured in the same run) into
# bench/results/latest.json; the last line prints them as one table. Not part of `make test`.
bench: install system-deps test-deps services web
	$(PY) bench/report.py --reset
	$(PY) bench/auth.py
	$(PY) bench/ingest.py
	$(PY) bench/store_list.py
	$(PY) bench/job_queue.py
	$(PY) bench/inference.py
	$(PY) bench/vector_search.py
	$(PY) bench/near_duplicates.py
	$(PY) bench/people.py
	$(PY) bench/web_timeline.py
	$(PY) bench/web_browser.py
	$(PY) bench/report.py

fuzz: install
	MEDIANEST_FUZZ_EXAMPLES=200 $(PY) -m pytest -q tests/fuzz

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist

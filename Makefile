# The two commands of the README: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
export ECP_DATABASE_URL ?= sqlite:///$(CURDIR)/var/ecp.sqlite

.PHONY: run test install install-test system-deps browser-deps test-sqlite test-postgres lint serve lock

# The locks (make lock) pin every package, with the hashes of its files, for Python 3.11 on Linux
# x86_64: a fresh machine installs exactly what was tested. pip and uv are pinned here too.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
PIP_VERSION := 26.3
UV_VERSION := 0.13.9
LOCK_PYTHON := 3.11.7

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==$(PIP_VERSION)

# Two pip calls: --require-hashes checks every file of the lock, which the project itself (this
# checkout, editable, no dependencies of its own to bring) cannot be part of.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(TEST_LOCK) $(VENV)/.installed
	$(BIN)/pip install --quiet --require-hashes -r $(TEST_LOCK)
	touch $@

# Regenerates both locks from pyproject.toml, keeping every pinned version that still fits;
# `make lock LOCK_ARGS=--upgrade` moves everything to the newest versions allowed. The test lock
# is constrained by the runtime one, so both install the same runtime versions.
LOCK_FLAGS = --generate-hashes --python-version $(LOCK_PYTHON) \
  --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" --quiet \
  $(LOCK_ARGS)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra test -c $(LOCK) $(LOCK_FLAGS) -o $(TEST_LOCK)

install: system-deps $(VENV)/.installed
# The bench harness tests drive wrk, so the test install brings it too (bench-deps, below).
install-test: system-deps browser-deps bench-deps $(VENV)/.installed-test

# WeasyPrint needs Pango; Debian ships it as a package.
system-deps:
	@if ! ldconfig -p | grep -q libpango-1.0; then \
	  echo "Installation de Pango (PDF)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; \
	fi

# Playwright's own browser download is blocked here: the tests drive Debian's Chromium.
browser-deps:
	@if ! command -v chromium >/dev/null; then \
	  echo "Installation de Chromium (tests navigateur)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

# The demo agent logs in with its password alone (docs/product.md): staff MFA is facultative here
# only; everywhere else ECP_STAFF_MFA defaults to obligatoire.
run: install
	ECP_BASE_URL=http://$(HOST):$(PORT) $(BIN)/ecp migrate
	ECP_BASE_URL=http://$(HOST):$(PORT) $(BIN)/ecp seed-demo
	@echo ""
	@echo "  Portail Famille : http://$(HOST):$(PORT)/"
	@echo "  Espace agents   : http://$(HOST):$(PORT)/agents/connexion"
	@echo "  Comptes de démonstration :"
	@echo "    famille Martin  F00001 / demo-famille-1"
	@echo "    famille Diallo  F00002 / demo-famille-2"
	@echo "    agent SEJ       agent  / demo-agent-sej-2026"
	@echo "  (démonstration : double authentification des agents facultative)"
	@echo "  Courriels envoyés aux familles : var/courriels/*.eml"
	@echo ""
	ECP_BASE_URL=http://$(HOST):$(PORT) ECP_STAFF_MFA=facultative ECP_MAIL_DIR=$(CURDIR)/var/courriels \
	  ECP_PAYMENT_PROVIDERS=paybox,payfip ECP_REGIE_IBAN=FR7630001007941234567890185 ECP_REGIE_BIC=BDFEFRPPCCT \
	  $(BIN)/ecp serve --host $(HOST) --port $(PORT)

# SQLite always; PostgreSQL too when ECP_TEST_POSTGRES_URL is set (CI sets it).
test: install-test
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$ECP_TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	  else echo "ECP_TEST_POSTGRES_URL non défini : passe PostgreSQL non lancée."; fi

# The whole run's logs must hold no password, token, code famille or e-mail (docs/security.md H3).
LOG_AUDIT := -p tests.web.ops.log_audit_plugin

# pytest-xdist: each worker process has its own SQLite file or PostgreSQL database, shared app
# and live server (tests/conftest.py). --dist loadfile: a file's tests run in one process, in
# their order, as without xdist (some follow on from the test before, like the browser tests on
# their module's server); --no-loadscope-reorder: files in collection order, the long browser
# files first, rather than by number of tests (which leaves them for the end). The SQLite pass
# gets a third worker: its browser tests mostly wait (page loads, Playwright's round trips), and
# the third process works meanwhile. The PostgreSQL pass keeps the two cores busy with two.
# SQLITE_WORKERS=0 (or POSTGRES_WORKERS=0) runs that pass in this one process.
SQLITE_WORKERS ?= 3
POSTGRES_WORKERS ?= 2
parallel = $(if $(filter 0,$(1)),,-n $(1) --dist loadfile --no-loadscope-reorder)

test-sqlite:
	ECP_TEST_ENGINE=sqlite $(BIN)/python -m pytest -p no:cacheprovider $(LOG_AUDIT) $(call parallel,$(SQLITE_WORKERS))

test-postgres:
	ECP_TEST_ENGINE=postgres $(BIN)/python -m pytest -p no:cacheprovider $(LOG_AUDIT) $(call parallel,$(POSTGRES_WORKERS)) -m "not browser and not sqlite_only"

# ruff, pinned in the test extras: lint rules (pyproject.toml) and formatting, checked only.
LINT_PATHS := src tests $(wildcard migrations bench)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# ---- Benchmark (issue 7): a generated commune, the app under granian, wrk as load generator.
# `make bench`: 10,000 families; `make bench-quick`: a small commune, under three minutes.
# The PostgreSQL + Redis pass (1, 2 then 4 workers) uses ECP_BENCH_POSTGRES_URL / ECP_BENCH_REDIS_URL
# (default 127.0.0.1:5432 user postgres, 127.0.0.1:6379/15) and is skipped when they are down.
# Results: a table on stdout and bench-results/<label>-<time>.json, compared with the previous one.
# The bench (bench/, outside the product package) runs from this checkout: its own commands are
# `python -m bench.run` and `python -m bench.seed --families N` (the generated commune).
# `make bench-opening`: the registration opening (bench/opening.py): 2,500 families of the
# 10,000-family commune arriving within 5 minutes on 2 workers, PostgreSQL (its own ecp_bench_opening
# database) and Redis (index 13 of ECP_BENCH_REDIS_URL's server, flushed).
.PHONY: bench bench-quick bench-opening bench-deps

bench-deps:
	@if ! command -v wrk >/dev/null; then \
	  echo "Installation de wrk (générateur de charge)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

bench: install bench-deps
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: install bench-deps
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

bench-opening: install
	$(BIN)/python -m bench.opening $(BENCH_ARGS)

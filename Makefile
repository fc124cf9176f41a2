# The two commands of the README: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
export ECP_DATABASE_URL ?= sqlite:///$(CURDIR)/var/ecp.sqlite

.PHONY: run test install install-test system-deps browser-deps test-sqlite test-postgres lint serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

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

# The demo agent logs in with its password alone (PRODUCT.md): staff MFA is facultative here
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
	ECP_BASE_URL=http://$(HOST):$(PORT) ECP_STAFF_MFA=facultative ECP_MAIL_DIR=$(CURDIR)/var/courriels $(BIN)/ecp serve --host $(HOST) --port $(PORT)

# SQLite always; PostgreSQL too when ECP_TEST_POSTGRES_URL is set (CI sets it).
test: install-test
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$ECP_TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	  else echo "ECP_TEST_POSTGRES_URL non défini : passe PostgreSQL non lancée."; fi

# The whole run's logs must hold no password, token, code famille or e-mail (SECURITY.md H3).
LOG_AUDIT := -p tests.web.ops.log_audit_plugin

test-sqlite:
	ECP_TEST_ENGINE=sqlite $(BIN)/python -m pytest -p no:cacheprovider $(LOG_AUDIT)

test-postgres:
	ECP_TEST_ENGINE=postgres $(BIN)/python -m pytest -p no:cacheprovider $(LOG_AUDIT) -m "not browser and not sqlite_only"

# ruff, pinned in the test extras: lint rules (pyproject.toml) and formatting, checked only.
LINT_PATHS := src tests migrations $(wildcard bench)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# ---- Benchmark (issue 7): a generated commune, the app under granian, wrk as load generator.
# `make bench`: 10,000 families; `make bench-quick`: a small commune, under three minutes.
# The PostgreSQL + Redis pass (1 then 2 workers) uses ECP_BENCH_POSTGRES_URL / ECP_BENCH_REDIS_URL
# (default 127.0.0.1:5432 user postgres, 127.0.0.1:6379/15) and is skipped when they are down.
# Results: a table on stdout and bench-results/<label>-<time>.json, compared with the previous one.
.PHONY: bench bench-quick bench-deps

bench-deps:
	@if ! command -v wrk >/dev/null; then \
	  echo "Installation de wrk (générateur de charge)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

bench: install bench-deps
	$(BIN)/python -m ecp.bench.run $(BENCH_ARGS)

bench-quick: install bench-deps
	$(BIN)/python -m ecp.bench.run --quick $(BENCH_ARGS)

# Le Bol d'Air — the two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SAO := var/sao/package
DB ?= bolair
# SQLite databases and the web client, as absolute paths for trytond
export TRYTOND_DATABASE__PATH := $(CURDIR)/var/db
export TRYTOND_WEB__ROOT := $(CURDIR)/$(SAO)
# PostgreSQL used by the second leg of `make test` when it is reachable
PG_URI ?= postgresql://postgres@127.0.0.1:5432/

.PHONY: run test bench install install-test sao demo chromium pango clean

run: install sao demo
	@echo "Web client: http://localhost:8000  (admin / admin-demo)"
	@echo "Portal:     http://localhost:8000/$(DB)/portal/  (anna.verdou@example.com / bolair-demo-2026)"
	@# The e-mails of the demo (portal sign-up, reset, orders) are printed
	@# here by a local SMTP server
	$(PY) tests/smtp_sink.py --port 8025 & SINK=$$!; \
	trap "kill $$SINK" EXIT; \
	$(VENV)/bin/trytond -c trytond.conf -d $(DB)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed pango
# WeasyPrint (PDF of the loyalty card) needs Pango from Debian
pango:
	@ldconfig -p | grep -q libpangoft2-1.0 || { \
		echo "Installing Debian's Pango for the PDF reports"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && \
		$$SUDO apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0; }

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install -q -r requirements-test.txt
	touch $@

install-test: $(VENV)/.installed-test pango chromium sao

$(SAO)/.installed:
	rm -rf var/sao && mkdir -p var/sao
	cd var/sao && npm pack --silent tryton-sao@8.0 && tar xzf tryton-sao-*.tgz \
		&& rm tryton-sao-*.tgz
	cd $(SAO) && npm install --silent --omit=dev --legacy-peer-deps \
		--no-audit --no-fund
	touch $@

sao: $(SAO)/.installed

# The demo database is built under a temporary name, then renamed:
# an interrupted build never passes for a finished one.
var/db/$(DB).sqlite: | $(VENV)/.installed
	mkdir -p var/db
	rm -f var/db/$(DB)-build.sqlite
	$(VENV)/bin/bolair demo -c trytond.conf -d $(DB)-build
	mv var/db/$(DB)-build.sqlite $@

demo: var/db/$(DB).sqlite

chromium:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && \
		$$SUDO apt-get install -y -q chromium chromium-driver; }

test: install-test
	$(PY) tests/run.py --backend sqlite
	@if $(PY) tests/pg_available.py "$(PG_URI)"; then \
		TRYTOND_DATABASE_URI="$(PG_URI)" $(PY) tests/run.py --backend postgresql; \
	elif [ "$$CI" = true ]; then \
		echo "PostgreSQL is required in CI but $(PG_URI) is not reachable"; \
		exit 1; \
	else \
		echo "PostgreSQL not reachable at $(PG_URI): PostgreSQL leg not run"; \
	fi

# Benchmarks print their figures; BENCH_ARGS="--rows 5000" for a short run
bench: install
	$(PY) bench/bench_import.py $(BENCH_ARGS)
	$(PY) bench/bench_invoice.py $(BENCH_INVOICE_ARGS)
	$(PY) bench/bench_loyalty.py $(BENCH_LOYALTY_ARGS)
	$(PY) bench/bench_gdpr.py $(BENCH_GDPR_ARGS)
	$(PY) bench/bench_segmentation.py $(BENCH_SEGMENTATION_ARGS)
	$(PY) bench/bench_portal.py $(BENCH_PORTAL_ARGS)

clean:
	rm -rf var/cache var/db/$(DB)-build.sqlite

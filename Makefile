# Deliberation Hall. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app.py

.PHONY: run serve worker test test-sqlite test-postgres test-browser-deps lint translations messages bench bench-voting bench-scale bench-soak bench-idle bench-pages clean

# Install when requirements change (the stamp files are newer than the requirements).
$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found). Set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt tests/requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r tests/requirements.txt
	touch $@

# Compiled catalogs (.mo) are built from the committed .po files, never committed themselves.
translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d deliberation/translations 2>&1 | grep -v "^compiling catalog" || true

# Re-extract the strings after changing templates or code, then translate the new ones.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F deliberation/babel.cfg -k _l -k lazy_gettext -o deliberation/translations/messages.pot .
	$(BIN)/pybabel update -N -i deliberation/translations/messages.pot -d deliberation/translations

run: $(VENV)/.installed translations
	$(BIN)/flask db upgrade
	$(BIN)/flask demo --if-empty
	$(BIN)/python app.py

# Production-style serving: one gunicorn process with the gevent worker (deploy/gunicorn.conf.py;
# WebSocket through simple-websocket on greenlets, as Flask-SocketIO documents). Run several on
# different ports behind nginx (deploy/) with REDIS_URL set so live rooms and rate limits are shared.
BIND ?= 127.0.0.1:8000
serve: $(VENV)/.installed translations
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py --bind $(BIND) app:app

# The outbound message worker (email, SMS) on the Redis queue; needs REDIS_URL (issue 20).
# Without REDIS_URL each server process delivers by itself and no worker is needed.
worker: $(VENV)/.installed translations
	$(BIN)/flask outbox worker

test: test-sqlite
	@if [ -n "$$CI" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL run is skipped (CI runs it)."; \
	fi

test-sqlite: $(VENV)/.installed-test translations test-browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests -q

test-postgres: $(VENV)/.installed-test translations test-browser-deps
	DATABASE_URL=$${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest tests -q -p no:cacheprovider

# Browser tests drive Debian's Chromium (no browser download). Installed when missing and we
# may (root); otherwise the browser tests skip and say why.
test-browser-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
			|| echo "Could not install chromium; browser tests will be skipped."; \
	fi
	@# nginx checks deploy/nginx.conf for real (tests/test_deploy.py); it is never started as a service.
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's nginx for the deployment test..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends \
			nginx-light >/dev/null \
			&& (pkill -x nginx || true)) || echo "Could not install nginx; the deployment test will be skipped."; \
	fi

# Benchmarks print their figures; the latest results go in BENCHMARKS.md by hand.
bench: $(VENV)/.installed-test translations
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/agenda_bench.py

bench-voting: $(VENV)/.installed-test translations
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/voting_bench.py

# SQLite with one process versus PostgreSQL + Redis with two processes behind nginx (issue 8).
bench-scale: $(VENV)/.installed-test translations test-browser-deps
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/scale_bench.py

# Bytes transferred and first paint of the main pages in headless Chromium (issue 9).
# 32 connections on the 500-comment item page and the vote form for 10 minutes under `make serve`'s
# settings; worker restarts must be 0 (issue 22). SOAK_SECONDS=60 for a short run.
bench-soak: $(VENV)/.installed-test translations
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/soak.py --seconds $${SOAK_SECONDS:-600}

# 2,000 idle Socket.IO connections against `make serve`'s settings, pages timed meanwhile (issue 22).
bench-idle: $(VENV)/.installed-test translations
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/idle_sockets.py

bench-pages: $(VENV)/.installed-test translations test-browser-deps
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/page_weight.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

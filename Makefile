# make run   serve the app on SQLite + SqliteHuey with demo data (web server and task consumer)
# make test  run the whole test suite
VENV ?= .venv
PYTHON ?= python3
FLASK = $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# pip's and setuptools' chatter goes to a log, shown only when an install fails.
PIP_QUIET = > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }

.PHONY: install install-example install-test run test lint bench clean

# The app and what it runs on: no test tools.
install: $(VENV)/.installed

# The example host platform the demo plays (examples/workspace), installed as a plugin.
install-example: $(VENV)/.installed-example

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip $(PIP_QUIET)
	$(VENV)/bin/pip install -q -e . $(PIP_QUIET)
	touch $@

$(VENV)/.installed-example: $(VENV)/.installed examples/workspace/pyproject.toml
	$(VENV)/bin/pip install -q -e ./examples/workspace $(PIP_QUIET)
	touch $@

# The test tools, and both examples installed as third-party plugins are (their tests and the
# authorization matrix's rows for their routes are part of the suite).
install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed-example examples/invoices/pyproject.toml
	$(VENV)/bin/pip install -q -e '.[test]' -e ./examples/invoices $(PIP_QUIET)
	touch $@

run: install-example
	@$(FLASK) db upgrade
	@$(FLASK) demo
	@trap 'kill $$consumer 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/huey_consumer wsgi.huey -w 2 -k thread -m 0.5 -q & consumer=$$!; \
	echo ""; \
	echo "Activity Stream: http://$(HOST):$(PORT)/  (sign-ins: see README.md, password demo-password)"; \
	echo "  admin@example.com  owner@example.com  teammate@example.com  client@example.com"; \
	echo "  Ctrl+C stops the server and the task consumer."; \
	echo ""; \
	$(VENV)/bin/gunicorn -c python:core.serving -w 2 --log-level warning -b $(HOST):$(PORT) wsgi:app

# Test processes at once (pytest-xdist): each has its own databases; a file's tests stay together.
TEST_WORKERS ?= 2

test: install-test
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install-test
	$(VENV)/bin/python -m bench.activity
	$(VENV)/bin/python -m bench.api_read
	$(VENV)/bin/python -m bench.email_tab
	$(VENV)/bin/python -m bench.evidence
	$(VENV)/bin/python -m bench.logins
	$(VENV)/bin/python -m bench.search
	$(VENV)/bin/python -m bench.writers

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

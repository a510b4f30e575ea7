# make run   serve the app on SQLite + SqliteHuey with demo data (web server and task consumer)
# make test  run the whole test suite
VENV ?= .venv
PYTHON ?= python3
FLASK = $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo ""
	@echo "Activity Stream: http://$(HOST):$(PORT)/  (sign-ins: see README.md, password demo-password)"
	@echo "  admin@example.com  owner@example.com  teammate@example.com  client@example.com"
	@echo ""
	@trap 'kill $$consumer 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/huey_consumer wsgi.huey -w 2 -k thread -m 0.5 & consumer=$$!; \
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(VENV)/bin/python bench/activity.py
	$(VENV)/bin/python bench/email_tab.py
	$(VENV)/bin/python bench/logins.py
	$(VENV)/bin/python bench/search.py
	$(VENV)/bin/python bench/writers.py

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

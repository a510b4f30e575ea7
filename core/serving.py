"""How gunicorn serves the app: ``gunicorn -c python:core.serving -b HOST:PORT wsgi:app``.

Threaded workers (``gthread``), not gunicorn's default sync ones. A sync worker owns one
connection from accept to the end of its response, so a few sockets that connect and send
nothing (a browser leaving a page mid-load, a keep-alive nobody uses, a port scan) hold every
worker until it sends or the worker's timeout ends it. A threaded worker waits
for a new connection's first bytes for a few seconds in one of its threads, then parks the
socket in its poller without a thread, and closes it when ``keepalive`` passes with nothing
sent. Requests run on the threads: SQLite's writers still queue in order across threads and
processes (``core.db.QueuedSqliteDatabase`` takes one lock descriptor per thread), and each
thread takes its own connection from the pool (32 per process, more than the threads).

Every value can be overridden on the command line (``-w 8``) or with ``GUNICORN_CMD_ARGS``.
A client that sends part of a request and stops holds one thread until it closes the
connection (gunicorn has no read timeout for a request's head), so 24 such clients fill a
worker: put a reverse proxy that buffers requests (nginx does by default) in front of a
public install.
"""

import os

# Two processes per core; one is enough for SQLite's single writer, more serve reads.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
worker_class = "gthread"
# Enough threads that idle sockets waiting out their first seconds leave threads for requests.
threads = 24
# Seconds an idle kept-alive (or never used) connection stays open without a thread.
keepalive = 5
# A request that runs longer than this is a bug: its worker is restarted.
timeout = 30
graceful_timeout = 10

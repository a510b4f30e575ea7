"""Benchmarks of Activity Stream: each measures one part of the app at scale on a real
database (a SQLite file in a temporary directory, or PostgreSQL where the bench takes a URL)
and prints ONE JSON object on stdout, progress on stderr. They are benchmarks, not tests: a
missed target shows as ``"pass": false`` and the exit code stays 0; only an error exits 1.

Run each as a module from the repository root (``make bench`` runs them all)::

    .venv/bin/python -m bench.activity --events 100000 --no-http   # the Activity tab
    .venv/bin/python -m bench.email_tab --messages 20000            # the Email tab, the sender
    .venv/bin/python -m bench.logins --attempts 100000              # sign-ins, the Logins tab
    .venv/bin/python -m bench.search --events 100000                # search on the Activity tab
    .venv/bin/python -m bench.writers --backends sqlite             # concurrent writers

``--help`` lists each one's options; bench/README.md explains the Activity bench's numbers.

Shared by them: ``bench.harness`` (output, work directory, the app on a bench database,
statistics, gunicorn and wrk), ``bench.stream`` (the Activity bench's seeded people and
events, recording one by one, the timing of a page; also used by ``bench.search``) and the
floors, ``bench.sqlite_floor`` and ``bench.postgres_floor`` (the recorder's writes with the
plain driver).
"""

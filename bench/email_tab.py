"""Benchmark of the Email tab: the outbox row an action pays for, the sender's throughput
against a real SMTP server, and the tab's pages at 100,000 messages.

Prints ONE JSON object on stdout (progress on stderr). A benchmark, not a test: a missed
target is reported (``"pass": false``), the exit code stays 0.

    .venv/bin/python -m bench.email_tab                     # 100,000 messages, temp SQLite
    .venv/bin/python -m bench.email_tab --messages 20000 --send 500
"""

import argparse
import contextlib
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

from flask import render_template
from flask import request

from bench import harness
from core.db import database
from core.demo import demo_users
from core.events import Ref
from core.events import record_activity
from core.listing.feed import parse_cursor
from core.notifications import Notification
from core.notifications import notify
from plugins.email import outbox
from plugins.email import sender
from plugins.email import views
from plugins.email.filters import parse_filters
from plugins.email.models import SENT
from plugins.email.models import EmailMessage

TARGETS = {"outbox_row_ms": 0.3, "send_per_s": 200, "page_ms": 2.0}
KINDS = ("task.assigned", "task.completed", "task.commented", "document.shared")


log = harness.logger("email-bench")


def median_ms(samples_ns):
    """Return the median of nanosecond samples, in milliseconds."""
    return round(statistics.median(samples_ns) / 1e6, 3)


def p95_ms(samples_ns):
    """Return the 95th percentile of nanosecond samples (the lower rank), in milliseconds."""
    ordered = sorted(samples_ns)
    return round(ordered[int(0.95 * (len(ordered) - 1))] / 1e6, 3)


@contextlib.contextmanager
def smtp_sink():
    """Run aiosmtpd in a process of its own (so it does not share our GIL); yield its URL."""
    port = harness.free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        harness.wait_for_port(port, process, "aiosmtpd", seconds=10)
        yield f"smtp://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def subfolder(workdir, name):
    """Create and return the folder ``name`` in ``workdir`` (one app's database each)."""
    path = workdir / name
    path.mkdir()
    return path


def build_app(workdir):
    """Build the app on a SQLite file of its own in ``workdir``, with the demo people; tasks
    are queued, not run (the sender is driven by hand)."""
    app = harness.build_app(f"sqlite:///{workdir / 'email.db'}", workdir, HUEY_IMMEDIATE=False)
    harness.seed_demo_people(app)
    return app


def note(recipient, actor, index):
    """Return the "task assigned" notification ``actor`` sends ``recipient``."""
    return Notification(
        "task.assigned",
        (recipient,),
        f"Task assigned to you: Task {index}",
        "workspace/mail/task_assigned",
        {
            "title": f"Task {index}",
            "company": "Acme Corp",
            "actor_name": actor.name,
            "link": "https://stream.example/workspace/tasks/1",
        },
        sender=actor,
    )


def outbox_cost(app, repeat):
    """Time an action (a recorded change, committed) with and without its notification."""
    people = list(demo_users().values())
    actor, recipient = people[1], people[4]
    without, with_mail, notify_only = [], [], []
    for index in range(repeat + 50):
        with app.test_request_context("/"):
            t0 = time.perf_counter_ns()
            with database.atomic():
                record_activity(actor, "task.updated", Ref("task", index, f"Task {index}"))
            t1 = time.perf_counter_ns()
            with database.atomic():
                record_activity(actor, "task.updated", Ref("task", index, f"Task {index}"))
                t2 = time.perf_counter_ns()
                notify(note(recipient, actor, index))
                t3 = time.perf_counter_ns()
            t4 = time.perf_counter_ns()
        if index >= 50:  # warm-up: prepared statements, template cache
            without.append(t1 - t0)
            with_mail.append(t4 - t1)
            notify_only.append(t3 - t2)
    added = median_ms(notify_only)
    return {
        "notify_in_transaction": {"median_ms": added, "p95_ms": p95_ms(notify_only)},
        "action_without_mail_median_ms": median_ms(without),
        "action_with_mail_median_ms": median_ms(with_mail),
        "target_ms": TARGETS["outbox_row_ms"],
        "pass": added <= TARGETS["outbox_row_ms"],
    }


def throughput(app, count, threads):
    """Queue ``count`` messages, then deliver them with ``threads`` workers to aiosmtpd."""
    people = list(demo_users().values())
    with smtp_sink() as url, app.app_context():
        with app.test_request_context("/"), database.atomic():
            ids = [notify(note(people[i % 10], people[0], i))[0] for i in range(count)]
        settings = sender.Settings.from_config({**app.config, "SMTP_URL": url})
        pending = list(ids)
        lock = threading.Lock()

        def work():
            database.connect(reuse_if_open=True)
            while True:
                with lock:
                    if not pending:
                        break
                    message_id = pending.pop()
                sender.deliver(message_id, settings)
            database.close()

        started = time.perf_counter()
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started
        sent = (
            EmailMessage.select()
            .where(EmailMessage.id.in_(ids) & (EmailMessage.status == SENT))
            .count()
        )
    rate = round(sent / seconds, 1)
    return {
        "messages": count,
        "threads": threads,
        "sent": sent,
        "seconds": round(seconds, 2),
        "per_s": rate,
        "target_per_s": TARGETS["send_per_s"],
        "pass": sent == count and rate >= TARGETS["send_per_s"],
    }


def seed_messages(app, total, rng):
    """Write ``total`` messages through ``outbox.queue`` (10,000 per transaction)."""
    people = list(demo_users().values())
    html = render_template(
        "workspace/mail/task_assigned.html",
        recipient=people[0],
        actor_name="Avery Chen",
        title="Task",
        company="Acme",
        link=None,
    )
    done = 0
    while done < total:
        batch = min(10_000, total - done)
        rows = []
        for index in range(done, done + batch):
            who, to = rng.choice(people), rng.choice(people)
            private = rng.random() < 0.05
            rows.append(
                {
                    "kind": "private_message" if private else rng.choice(KINDS),
                    "private": private,
                    "sender_id": who.id,
                    "sender_name": who.name,
                    "recipient": to,
                    "subject": f"Message {index} about task {index % 997}",
                    "text_body": "Hello",
                    "html_body": html,
                }
            )
        with database.atomic():
            outbox.queue(rows)
        done += batch
    with database.atomic():
        EmailMessage.update(status=SENT, lease_until=None).execute()
        # (peewee reads ``%`` as LIKE: plain SQL for the modulo.)
        database.execute_sql("UPDATE email_message SET status = 'failed' WHERE id % 97 = 0")
    log(f"seeded {total} messages")


def time_page(app, viewer, args, repeat):
    """Time one page as the rows fragment computes it: FEED.page + rows_context (+ template)."""
    path = "/stream/email/rows?" + urlencode(args)
    server_ns, render_ns = [], []
    for index in range(repeat + 20):
        with app.app_context(), app.test_request_context(path, headers={"HX-Request": "true"}):
            t0 = time.perf_counter_ns()
            rows, cursor = views.FEED.page(
                viewer, parse_filters(request.args), after=parse_cursor(request.args)
            )
            context = views.FEED.rows_context(viewer, request.args, rows, cursor)
            t1 = time.perf_counter_ns()
            render_template("feed/rows.html", **context)
            t2 = time.perf_counter_ns()
        if index >= 20:
            server_ns.append(t1 - t0)
            render_ns.append(t2 - t0)
    median = median_ms(server_ns)
    return {
        "url": path,
        "rows": len(rows),
        "median_ms": median,
        "p95_ms": p95_ms(server_ns),
        "with_template_median_ms": median_ms(render_ns),
        "target_ms": TARGETS["page_ms"],
        "pass": median <= TARGETS["page_ms"] and len(rows) == 50,
    }


def main():
    """Measure the outbox, the sender and the pages; print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=2000, help="messages for the throughput")
    parser.add_argument("--threads", type=int, default=2, help="sender threads")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(42)
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg()[0],
        }
    }
    with harness.work_directory(None, "email-bench-") as tmp:
        app = build_app(subfolder(tmp, "a"))
        with app.app_context():
            log("outbox cost…")
            result["outbox_row"] = outbox_cost(app, args.repeat)
        log("sender throughput…")
        send_app = build_app(subfolder(tmp, "b"))
        result["sender_one_thread"] = throughput(send_app, args.send // 2, 1)
        result["sender"] = throughput(send_app, args.send, args.threads)
        pages_app = build_app(subfolder(tmp, "c"))
        with pages_app.app_context():
            seed_messages(pages_app, args.messages, rng)
            people = demo_users()
            admin, client = people["admin@example.com"], people["client@example.com"]
            teammate = people["teammate@example.com"]
            deep = EmailMessage.select(EmailMessage.id).order_by(EmailMessage.id.desc())
            depth = min(20_000, args.messages // 2)
            cursor = deep.offset(depth).limit(1).scalar()
        result["pages"] = {
            "first": time_page(pages_app, admin, {}, args.repeat),
            "filtered": time_page(
                pages_app, admin, {"recipient": client.id, "status": "sent"}, args.repeat
            ),
            "deep": time_page(pages_app, admin, {"after": cursor}, args.repeat),
            "teammate_related": {
                **time_page(pages_app, teammate, {}, args.repeat),
                "target_ms": None,
                "pass": None,
            },  # not a target: the ``related`` scope, for the record
            "messages": args.messages,
            "deep_rows_skipped": depth,
            "viewer": "admin@example.com (scope all)",
        }
    result["pass"] = all(
        part["pass"]
        for part in (
            result["outbox_row"],
            result["sender"],
            *(result["pages"][k] for k in ("first", "filtered", "deep")),
        )
    )
    harness.print_json(result)


if __name__ == "__main__":
    main()

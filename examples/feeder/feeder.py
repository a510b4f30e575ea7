"""Feed events of "another system" (a ledger) into Activity Stream over its HTTP API.

Python's standard library only. It sends ``--count`` events in batches of ``--batch`` to
``POST /api/v1/events``, each batch with an ``Idempotency-Key`` derived from its own event ids
(``ledger:ledger-000000..ledger-000249``), so a batch sent twice is recorded once.

Kill it at any moment (even ``kill -9``) and run it again with the same ``--state`` file: it
resumes after the last batch it saw acknowledged, and resends the one that was in flight under
the same key, so the stream holds each event exactly once. The state file also keeps the
moment the events are dated from, so every run builds exactly the same batches (a key names
one body, byte for byte). ``--from-start`` resends every batch (each answered from its key).

    python examples/feeder/feeder.py --base http://127.0.0.1:5000 --token ast_… \\
        --state /tmp/feeder.json

``--base`` and ``--token`` default to the ``BASE`` and ``TOKEN`` environment variables.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC
from datetime import datetime
from datetime import timedelta

VERBS = ("invoice.created", "invoice.sent", "invoice.paid")
RETRIES = 8  # tries of one batch on a lost connection or a server error


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=os.environ.get("BASE"), help="the server's URL")
    parser.add_argument("--token", default=os.environ.get("TOKEN"), help="an events:write token")
    parser.add_argument("--count", type=int, default=10_000, help="events to feed")
    parser.add_argument("--batch", type=int, default=250, help="events per request (≤ 1000)")
    parser.add_argument("--source", default="ledger", help="the other system's name")
    parser.add_argument("--state", default="feeder-state.json", help="where progress is kept")
    parser.add_argument("--from-start", action="store_true", help="resend every batch")
    args = parser.parse_args(argv)
    if not args.base or not args.token:
        parser.error("--base and --token (or BASE and TOKEN) are needed")
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be from 1 to 1000")
    return args


def load_state(args):
    """Return the state of this feed: kept in ``args.state``, or new (dated from a day ago)."""
    same = {"source": args.source, "count": args.count, "batch": args.batch}
    try:
        with open(args.state) as file:
            state = json.load(file)
        if {key: state.get(key) for key in same} == same:
            return state
    except (OSError, ValueError):
        pass
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    state = {**same, "since": since.isoformat(), "acknowledged": 0}
    save_state(args.state, state)
    return state


def save_state(path, state):
    """Write ``state`` to ``path`` atomically: a kill leaves the old file or the new one."""
    partial = f"{path}.partial"
    with open(partial, "w") as file:
        json.dump(state, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def source_event(source, number, since, count):
    """Return the other system's event ``number``, as the API takes it (always the same)."""
    moment = since + timedelta(seconds=number * 80_000 // max(count, 1))
    verb = VERBS[number % 3]
    invoice = f"INV-{number // 3:05d}"
    event = {
        "actor": {"external_id": f"{source}:clerk-{number % 7}", "name": f"Clerk {number % 7}"},
        "verb": verb,
        "object": {"type": "invoice", "id": invoice, "label": f"Invoice {invoice}"},
        "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "metadata": {"source": source, "source_id": f"{source}-{number:06d}"},
    }
    if verb == "invoice.paid":
        event["changes"] = {"status": ["sent", "paid"]}
    return event


def batch_request(args, state, first):
    """Return ``(key, body)`` of the batch starting at event ``first``: the same every run."""
    since = datetime.fromisoformat(state["since"])
    last = min(first + args.batch, args.count)
    events = [source_event(args.source, n, since, args.count) for n in range(first, last)]
    ids = [event["metadata"]["source_id"] for event in events]
    key = f"{args.source}:{ids[0]}..{ids[-1]}"
    body = json.dumps(events, sort_keys=True, separators=(",", ":")).encode()
    return key, body


def send(args, key, body):
    """POST one batch until it is answered; return ``(status, headers, answer)``. Waits out
    429 and 409 "in progress", retries lost connections and server errors with a growing
    pause, and stops on any other refusal (the answer says why)."""
    request = urllib.request.Request(
        args.base.rstrip("/") + "/api/v1/events",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {args.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    pause = 0.5
    for _ in range(RETRIES):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            answer = error.read().decode("utf-8", "replace")
            wait = error.headers.get("Retry-After")
            if error.code in (429, 409) and wait and "different" not in answer:
                time.sleep(float(wait))
                continue
            if error.code < 500:
                raise SystemExit(f"batch {key} refused: {error.code} {answer}") from None
        except (urllib.error.URLError, OSError) as error:
            print(f"batch {key}: {error}; retrying in {pause:.1f} s", file=sys.stderr)
        time.sleep(pause)
        pause = min(pause * 2, 10)
    raise SystemExit(f"batch {key}: no answer after {RETRIES} tries")


def main(argv=None):
    """Feed every batch not yet acknowledged; print one line per batch and a summary."""
    args = parse_args(argv)
    state = load_state(args)
    first = 0 if args.from_start else state["acknowledged"]
    recorded = replayed = 0
    while first < args.count:
        key, body = batch_request(args, state, first)
        status, headers, answer = send(args, key, body)
        size = len(answer["data"])
        if headers.get("Idempotent-Replayed") == "true":
            replayed += size
        else:
            recorded += size
        first += size
        state["acknowledged"] = max(state["acknowledged"], first)
        save_state(args.state, state)
        print(f"batch {key}: {status}, {first}/{args.count}", flush=True)
    print(f"done: {recorded} recorded, {replayed} answered from their keys", flush=True)


if __name__ == "__main__":
    main()

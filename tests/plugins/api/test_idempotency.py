"""``Idempotency-Key`` on ``POST /api/v1/events``: a retry answers the first answer and records
nothing; concurrent identical requests record one batch; another body under a key is a 409."""

import json
import threading
from datetime import timedelta

import psycopg2
import pytest

from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from tests.plugins.api.conftest import bearer
from tests.plugins.api.test_ingest import event
from tests.plugins.api.test_ingest import event_count

PROBLEM = "application/problem+json"


def post(client, token, body, key):
    """POST ``body`` with the Idempotency-Key ``key``."""
    return client.post(
        "/api/v1/events",
        data=body if isinstance(body, bytes) else json.dumps(body),
        headers={**bearer(token), "Idempotency-Key": key},
        content_type="application/json",
    )


@pytest.fixture
def token(token_for):
    """Return an admin's ``events:write`` token."""
    return token_for("admin@example.com", "events:write")


def batch(size=3, first=0):
    """Return ``size`` events of distinct objects."""
    return [
        event(object={"type": "invoice", "id": n, "label": f"Invoice {n}"})
        for n in range(first, first + size)
    ]


def test_a_retry_answers_the_first_answer_and_records_nothing(app, client, token):
    first = post(client, token, batch(), "key-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(client, token, batch(), "key-1")
    assert (again.status_code, again.data) == (201, first.data)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert event_count(app) == 3


def test_the_same_key_with_another_body_is_a_409(app, client, token):
    assert post(client, token, batch(), "key-1").status_code == 201
    other = post(client, token, batch(first=10), "key-1")
    assert other.status_code == 409 and other.mimetype == PROBLEM
    assert other.json["errors"][0]["field"] == "Idempotency-Key"
    assert event_count(app) == 3


def test_a_key_belongs_to_the_tokens_person(app, client, token, token_for):
    assert post(client, token, batch(), "shared").status_code == 201
    same_person = token_for("admin@example.com", "events:write", name="second")
    assert post(client, same_person, batch(), "shared").headers.get("Idempotent-Replayed")
    someone_else = token_for("owner@example.com", "events:write")
    answer = post(client, someone_else, batch(), "shared")
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers
    assert event_count(app) == 6


def test_a_refused_request_keeps_no_key_so_its_fixed_retry_records(app, client, token):
    bad = batch()
    bad[1]["verb"] = "nope"
    assert post(client, token, bad, "key-2").status_code == 422
    assert post(client, token, batch(), "key-2").status_code == 201
    assert event_count(app) == 3


def test_an_expired_key_is_taken_over_and_pruned(app, client, token):
    from plugins.api import idempotency
    from plugins.api.idempotency import IdempotencyKey

    assert post(client, token, batch(), "old").status_code == 201
    assert post(client, token, batch(), "kept").status_code == 201
    with app.app_context():
        IdempotencyKey.update(created_at=utcnow() - timedelta(hours=25)).where(
            IdempotencyKey.key == "old"
        ).execute()
    answer = post(client, token, batch(first=10), "old")  # another body: a new request now
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers
    assert event_count(app) == 9
    with app.app_context():
        IdempotencyKey.update(created_at=utcnow() - timedelta(hours=25)).where(
            IdempotencyKey.key == "old"
        ).execute()
        ttl = idempotency.ttl_of(app.config)
        assert idempotency.prune(ttl, batch=1) == 1
        assert [row.key for row in IdempotencyKey.select()] == ["kept"]


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é"])
def test_a_malformed_key_is_a_400_naming_the_header(client, token, key):
    answer = client.post(
        "/api/v1/events",
        data=json.dumps(event()),
        headers={**bearer(token), "Idempotency-Key": key.encode("utf-8").decode("latin-1")},
        content_type="application/json",
    )
    assert answer.status_code == 400 and answer.json["errors"][0]["field"] == "Idempotency-Key"


def test_concurrent_identical_requests_record_one_batch_and_answer_alike(app, token):
    """N threads, each with its own client and database connection, send the same request at
    once: exactly one batch is recorded, and every answer is that batch's 201."""
    threads_count = 8
    body = json.dumps(batch(size=50)).encode()
    start = threading.Barrier(threads_count)
    answers = [None] * threads_count

    def send(index):
        client = app.test_client()
        start.wait()
        answer = post(client, token, body, "burst")
        answers[index] = (answer.status_code, answer.data)
        if not database.is_closed():
            database.close()

    workers = [threading.Thread(target=send, args=(i,)) for i in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert event_count(app) == 50
    assert {status for status, _ in answers} == {201}
    assert len({data for _, data in answers}) == 1


def test_a_request_waiting_too_long_for_its_keys_first_request_gets_409_in_progress(
    app, client, token, people
):
    """PostgreSQL: another transaction holds the key's row; past API_IDEMPOTENCY_WAIT the
    retry is told it is in progress, and records once that transaction is gone."""
    with app.app_context():
        if is_sqlite():
            pytest.skip("SQLite serialises writers: a retry waits for the first one's commit")
    app.config["API_IDEMPOTENCY_WAIT"] = 0.3
    holder = psycopg2.connect(app.config["DATABASE_URL"])
    try:
        with holder.cursor() as cursor:
            cursor.execute(
                "INSERT INTO api_idempotency_key (user_id, key, digest, created_at)"
                " VALUES (%s, 'held', 'x', now())",
                (people["admin@example.com"].id,),
            )
        answer = post(client, token, batch(), "held")
        assert answer.status_code == 409 and answer.headers["Retry-After"] == "1"
        assert "in progress" in answer.json["detail"]
    finally:
        holder.rollback()
        holder.close()
    assert post(client, token, batch(), "held").status_code == 201
    assert event_count(app) == 3

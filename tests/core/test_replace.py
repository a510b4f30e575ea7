"""Replacing personal values in sealed records (core.evidence.replace): the seals still verify,
a value changed again or a forged note shows, only personal columns, only under the
pseudonymise permit. SQLite and PostgreSQL."""

import json

import peewee
import pytest

from core.auth.signins import SignInAttempt
from core.db import database
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.evidence import guard
from core.evidence.replace import ReplaceNote
from core.evidence.replace import replace_values
from core.evidence.seal import personal_hasher
from core.evidence.seal import seal_all
from core.evidence.verify import verify

KEY = b"r" * 32
REFUSED = (peewee.IntegrityError, peewee.InternalError, peewee.ProgrammingError)


@pytest.fixture
def events(app, people):
    """Record five events by Dana (with an address) and a sign-in attempt; return the ids."""
    with app.app_context():
        dana = people["teammate@example.com"]
        ids = []
        for n in range(5):
            event = record_activity(dana, "task.updated", Ref("task", n, f"Dana's task {n}"))
            ids.append(event.id)
        SignInAttempt.create(name_typed="teammate@example.com", outcome="failure", ip="10.0.0.7")
        return ids


def found(app):
    """Return ``{kind: where}`` of what verification finds."""
    with app.app_context():
        return {f.kind: f.where for f in verify(key=KEY).findings}


def replace(app, model, new_values):
    with app.app_context(), database.atomic():
        return replace_values(model, new_values, key=KEY)


@pytest.mark.parametrize("sealed_first", [True, False])
def test_replaced_values_still_verify(app, events, sealed_first):
    if sealed_first:
        with app.app_context():
            seal_all(KEY)
    new = {i: {"actor_name": "Person 7f3a", "object_label": "Person's task"} for i in events[:3]}
    assert replace(app, ActivityEvent, new) == 3
    with app.app_context():
        (attempt,) = SignInAttempt.select()
    assert replace(app, SignInAttempt, {attempt.id: {"name_typed": "p@x.invalid", "ip": None}})
    # Replaced again (a second person in the same records): the notes chain.
    assert replace(app, ActivityEvent, {events[0]: {"object_label": "Person's thing"}}) == 1
    with app.app_context():
        seal_all(KEY)
        names = {e.actor_name for e in ActivityEvent.select().where(ActivityEvent.id << events)}
        assert names == {"Person 7f3a", "Dana Scully"}
        assert "Dana" not in ReplaceNote.select().first().changes  # hashes only
    assert found(app) == {}


def test_a_replaced_value_changed_again_or_a_forged_note_shows(app, events):
    with app.app_context():
        seal_all(KEY)
    replace(app, ActivityEvent, {events[1]: {"actor_name": "Person 7f3a"}})
    with app.app_context(), guard.lifted():
        set_actor_name(events[1], "Someone else")
    assert found(app) == {"field modified": f"record {events[1]}"}
    # A note written without the key reads as nothing: the record shows as modified.
    with app.app_context(), guard.lifted():
        set_actor_name(events[1], "Dana Scully")
        assert found(app) == {}
        set_actor_name(events[2], "Forged")
        hashed = personal_hasher(KEY)
        changes = json.dumps({"actor_name": [hashed("Dana Scully"), hashed("Forged")]})
        ReplaceNote.create(kind="activity", record_id=events[2], changes=changes, mac="0" * 64)
    assert found(app) == {"field modified": f"record {events[2]}"}


def set_actor_name(event_id, name):
    """Change an event's actor name behind the app's back."""
    ActivityEvent.update(actor_name=name).where(ActivityEvent.id == event_id).execute()


def test_only_personal_columns_of_a_sealed_table_are_replaced(app, events):
    with app.app_context(), database.atomic(), pytest.raises(ValueError, match="verb"):
        replace_values(ActivityEvent, {events[0]: {"verb": "task.deleted"}}, key=KEY)


def test_updates_need_the_pseudonymise_permit_and_it_allows_no_deletion(app, events):
    update = "UPDATE activity_event SET actor_name = 'x'"
    for holder in (None, guard.PRUNE):
        with app.app_context(), pytest.raises(REFUSED, match="append-only"), database.atomic():
            if holder:
                with guard.permit(holder):
                    database.execute_sql(update)
            else:
                database.execute_sql(update)
    with app.app_context():
        with pytest.raises(REFUSED, match="append-only"), database.atomic():
            permitted = guard.permit(guard.PSEUDONYMISE)
            with permitted:
                database.execute_sql("DELETE FROM activity_event")
        with database.atomic(), guard.permit(guard.PSEUDONYMISE):
            database.execute_sql(update)
        assert {e.actor_name for e in ActivityEvent.select()} == {"x"}


def test_a_value_changed_behind_the_apps_back_then_replaced_still_shows(app, events):
    with app.app_context():
        seal_all(KEY)
    replace(app, ActivityEvent, {events[3]: {"actor_name": "Person 7f3a"}})
    with app.app_context(), guard.lifted():
        set_actor_name(events[3], "Tampered")
    # A later replacement through the app does not launder it: the notes no longer chain.
    replace(app, ActivityEvent, {events[3]: {"actor_name": "Person 9b1c"}})
    assert found(app) == {"field modified": f"record {events[3]}"}

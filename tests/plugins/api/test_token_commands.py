"""``flask tokens create | revoke | list``: through click (both databases), and once as a real
``flask`` process on a SQLite file, whose last line is a token the app accepts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.app import create_app
from core.db import database
from core.db import utcnow
from core.events import ActivityEvent
from core.people import User
from plugins.api.tokens import PREFIX
from plugins.api.tokens import ApiToken
from tests.plugins.api.conftest import bearer

ROOT = Path(__file__).resolve().parents[3]
FLASK = Path(sys.executable).parent / "flask"


def tokens(app, *args):
    """Run ``flask tokens ARGS`` through click; return the result."""
    return app.test_cli_runner().invoke(args=["tokens", *args])


def test_create_prints_the_token_last_and_it_works(app, client, people):
    args = ["Admin@Example.com", "--name", "CI", "--scope", "events:write", "--expires-days", "7"]
    result = tokens(app, "create", *args)
    assert result.exit_code == 0, result.output
    *info, token = result.output.strip().splitlines()
    assert token.startswith(PREFIX) and len(token) == len(PREFIX) + 43
    assert any("not shown again" in line for line in info)
    assert token not in "\n".join(info)
    answer = client.get("/api/v1/", headers=bearer(token))
    assert answer.status_code == 200
    assert answer.json["person"]["id"] == people["admin@example.com"].id
    assert answer.json["token"]["scope"] == "events:write"
    with app.app_context():
        row = ApiToken.get()
        assert row.created_by is None and 6 < (row.expires_at - utcnow()).days + 1 <= 7
        event = ActivityEvent.get(ActivityEvent.verb == "api_token.created")
        assert event.actor_id is None  # made from the command line, by no one signed in


def test_list_never_shows_a_secret_and_revoke_ends_the_token_at_once(app, client, people):
    assert "no tokens" in tokens(app, "list").output
    created = tokens(app, "create", "teammate@example.com", "--name", "Sync", "--scope", "read")
    token = created.output.strip().splitlines()[-1]
    with app.app_context():
        row = ApiToken.get()
    listed = tokens(app, "list")
    assert listed.exit_code == 0 and token not in listed.output
    line = listed.output.strip().splitlines()[-1].split("\t")
    assert line[:5] == [str(row.id), "Sync", "teammate@example.com", "read", f"{row.shown}…"]
    assert line[-1] == "active" and line[-3] == "never"

    assert client.get("/api/v1/", headers=bearer(token)).status_code == 200
    revoked = tokens(app, "revoke", str(row.id))
    assert revoked.exit_code == 0 and "is revoked" in revoked.output
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 401
    again = tokens(app, "revoke", str(row.id))
    assert again.exit_code == 0 and "already revoked" in again.output
    assert tokens(app, "list").output.strip().splitlines()[-1].endswith("\trevoked")
    with app.app_context():
        revocations = ActivityEvent.select().where(ActivityEvent.verb == "api_token.revoked")
        assert revocations.count() == 1


ADMIN_READ = ["create", "admin@example.com", "--name", "x", "--scope", "read"]


@pytest.mark.parametrize(
    "args, named",
    [
        (["create", "nobody@example.com", "--name", "x", "--scope", "read"], "EMAIL"),
        (["create", "lead@example.com", "--name", "x", "--scope", "read"], "EMAIL"),
        (["create", "admin@example.com", "--name", "x", "--scope", "admin"], "--scope"),
        (["create", "admin@example.com", "--name", "x"], "--scope"),
        (["create", "admin@example.com", "--name", "  ", "--scope", "read"], "--name"),
        (["create", "admin@example.com", "--name", "x" * 81, "--scope", "read"], "--name"),
        (["create", "admin@example.com", "--name", "a\tb", "--scope", "read"], "--name"),
        ([*ADMIN_READ, "--expires-days", "0"], "--expires-days"),
        ([*ADMIN_READ, "--expires-days", "soon"], "--expires-days"),
        (["create", "--name", "x", "--scope", "read"], "EMAIL"),
        (["revoke", "999"], "ID"),
        (["revoke", "abc"], "ID"),
        (["revoke", "0"], "ID"),
    ],
)
def test_errors_are_click_errors_naming_the_argument(app, people, args, named):
    result = tokens(app, *args)
    assert result.exit_code == 2, result.output
    assert named in result.output and "Traceback" not in result.output
    with app.app_context():
        assert ApiToken.select().count() == 0


def test_a_deactivated_person_gets_no_token(app, people):
    with app.app_context():
        User.update(active=False).where(User.email == "pm@example.com").execute()
    result = tokens(app, "create", "pm@example.com", "--name", "x", "--scope", "read")
    assert result.exit_code == 2 and "EMAIL" in result.output and "may not sign in" in result.output


def test_a_real_flask_process_prints_a_token_the_app_accepts(tmp_path):
    env = dict(
        os.environ,
        ACTIVITY_STREAM_DATABASE_URL=f"sqlite:///{tmp_path / 'stream.db'}",
        ACTIVITY_STREAM_HUEY_URL=f"sqlite:///{tmp_path / 'huey.db'}",
        ACTIVITY_STREAM_SECRET_KEY="command-test-secret-key-0123456789",
    )

    def flask(*args):
        command = [str(FLASK), "--app", "wsgi", *args]
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    flask("db", "upgrade")
    person = ["--name", "Ada Admin", "--email", "ada@example.com", "--role", "Admin"]
    flask("users", "create", *person, "--password", "long-enough-password")
    output = flask("tokens", "create", "ada@example.com", "--name", "Deploy", "--scope", "read")
    *info, token = output.splitlines()
    assert token.startswith(PREFIX) and len(token) == len(PREFIX) + 43
    assert info and token not in "\n".join(info)

    app = create_app(
        {
            "DATABASE_URL": env["ACTIVITY_STREAM_DATABASE_URL"],
            "HUEY_URL": "memory://",
            "SECRET_KEY": env["ACTIVITY_STREAM_SECRET_KEY"],
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    try:
        client = app.test_client()
        answer = client.get("/api/v1/", headers=bearer(token))
        assert answer.status_code == 200 and answer.json["person"]["name"] == "Ada Admin"
        listed = flask("tokens", "list")
        assert token not in listed and "\tDeploy\tada@example.com\tread\t" in listed
        flask("tokens", "revoke", listed.splitlines()[-1].split("\t")[0])
        assert client.get("/api/v1/", headers=bearer(token)).status_code == 401
    finally:
        if not database.is_closed():
            database.close()

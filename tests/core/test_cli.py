"""The flask commands: migrations, demo data and user creation."""

import pytest

from core.app import create_app
from core.demo import DEMO_PEOPLE
from core.people import User
from core.testing import empty_postgres
from tests.conftest import sign_in
from tests.core.conftest import OTHER_BUILTINS


@pytest.fixture
def fresh_app(database_url, tmp_path):
    """Return an app on an empty, unmigrated database."""
    if database_url.startswith("postgresql"):
        empty_postgres(database_url)  # it starts migrated
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "HUEY_URL": "memory://",
            "SECRET_KEY": "cli-test-secret-0123456789",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "PLUGINS_DISABLED": OTHER_BUILTINS,
        }
    )


def run(app, *args):
    """Run ``flask ARGS`` against ``app``; return the click result."""
    return app.test_cli_runner().invoke(args=list(args))


def user_count(app):
    with app.app_context():
        return User.select().count()


def test_db_upgrade_applies_everything_once(fresh_app):
    status = run(fresh_app, "db", "status")
    assert "pending core.0001_people" in status.output
    first = run(fresh_app, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "applied core.0001_people" in first.output
    second = run(fresh_app, "db", "upgrade")
    assert second.exit_code == 0, second.output
    assert "applied " not in second.output
    assert "(0 migration(s) applied)" in second.output
    assert run(fresh_app, "db", "status").output.strip() == "0 pending migration(s)"


def test_demo_refuses_an_unmigrated_database(fresh_app):
    result = run(fresh_app, "demo")
    assert result.exit_code != 0
    assert "db upgrade" in result.output


def test_demo_twice_seeds_the_same_people(app):
    assert run(app, "demo").exit_code == 0
    count = user_count(app)
    assert count == len(DEMO_PEOPLE)
    second = run(app, "demo")
    assert second.exit_code == 0, second.output
    assert user_count(app) == count


def test_users_create_names_the_bad_field(app, people):
    before = user_count(app)
    for options, field in (
        (["--email", "not-an-email", "--role", "Teammate"], "--email"),
        (["--email", "admin@example.com", "--role", "Teammate"], "--email"),
        (["--email", "new@example.com", "--role", "Wizard"], "--role"),
        (["--email", "new@example.com", "--role", "Super Admin"], "--role"),
        (["--email", "n@example.com", "--role", "Teammate", "--time-zone", "Mars"], "--time-zone"),
    ):
        result = run(app, "users", "create", "--name", "New", "--password", "long-enough", *options)
        assert result.exit_code != 0, options
        assert f"Invalid value for {field}" in result.output, options
    assert user_count(app) == before


def test_users_create_refuses_a_short_password(app):
    args = ["--name", "Ada", "--email", "ada@example.com", "--password", "short"]
    result = run(app, "users", "create", *args)
    assert result.exit_code != 0
    assert "--password" in result.output
    assert user_count(app) == 0


def test_the_created_super_admin_can_sign_in(app, client):
    result = run(
        app,
        "users",
        "create",
        "--name",
        "Ada Admin",
        "--email",
        "Ada@Example.com",
        "--password",
        "a long password",
    )
    assert result.exit_code == 0, result.output
    assert "ada@example.com (Super Admin)" in result.output
    assert sign_in(client, "ada@example.com", "a long password").status_code == 302
    assert client.get("/stream").headers["Location"] == "/stream/settings"

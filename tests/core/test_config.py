"""Settings: ACTIVITY_STREAM_* variables are read, and a malformed one stops start-up by name."""

import pytest

from core.app import create_app
from core.config import ConfigError


@pytest.fixture
def base_config(tmp_path):
    """Return a valid configuration on a temporary SQLite file (no database is needed)."""
    return {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'config.db'}",
        "HUEY_URL": "memory://",
        "SECRET_KEY": "config-test-secret-0123456789",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/stream"),
        ("DATABASE_URL", "sqlite://"),
        ("SECRET_KEY", "too-short"),
        ("TRUSTED_PROXIES", "two"),
        ("TRUSTED_PROXIES", 11),
        ("HUEY_URL", "amqp://localhost:5672"),
        ("SMTP_URL", "smtp://"),
        ("HUEY_IMMEDIATE", "yes"),
        ("EXPORT_BATCH_ROWS", 0),
        ("EXPORT_BACKGROUND_ROWS", "many"),
        ("EXPORT_LINK_HOURS", True),
        ("RETENTION_MIN_DAYS", 0),
        ("RETENTION_BATCH_ROWS", 2.5),
        ("RETENTION_PAUSE_MS", -1),
    ],
)
def test_a_malformed_setting_stops_start_up_naming_the_variable(base_config, key, value):
    with pytest.raises(ConfigError, match=f"^ACTIVITY_STREAM_{key}: "):
        create_app({**base_config, key: value})


def test_settings_are_read_from_prefixed_environment_variables(base_config, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("ACTIVITY_STREAM_DATABASE_URL", url)
    monkeypatch.setenv("ACTIVITY_STREAM_TRUSTED_PROXIES", "1")
    del base_config["DATABASE_URL"]
    app = create_app(base_config)
    assert app.config["DATABASE_URL"] == url
    assert app.config["TRUSTED_PROXIES"] == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACTIVITY_STREAM_SECRET_KEY", "short"),
        ("ACTIVITY_STREAM_TRUSTED_PROXIES", "many"),
        ("ACTIVITY_STREAM_DATABASE_URL", "oracle://db/stream"),
    ],
)
def test_a_malformed_environment_variable_is_named(base_config, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    key = variable.removeprefix("ACTIVITY_STREAM_")
    base_config.pop(key, None)
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        create_app(base_config)


@pytest.mark.parametrize(("proxies", "secure"), [(0, False), (1, True)])
def test_forwarded_proto_is_trusted_only_behind_configured_proxies(base_config, proxies, secure):
    app = create_app({**base_config, "TRUSTED_PROXIES": proxies})
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    cookie = response.headers["Set-Cookie"]
    assert ("; Secure" in cookie) is secure


def test_the_generated_secret_key_is_kept_in_the_instance_folder(base_config):
    del base_config["SECRET_KEY"]
    first = create_app(base_config).config["SECRET_KEY"]
    second = create_app(base_config).config["SECRET_KEY"]
    assert len(first) >= 16
    assert first == second

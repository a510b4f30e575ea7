"""Load and check the app's settings: defaults, then ``ACTIVITY_STREAM_*`` variables.

Every setting that can be wrong is checked here, at start-up, so that a bad deployment stops
with a message naming the variable instead of failing on the first request.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

ENV_PREFIX = "ACTIVITY_STREAM"

DEFAULTS = {
    "DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "HUEY_URL": None,  # None: a SqliteHuey file in the instance folder
    "HUEY_IMMEDIATE": False,
    "SMTP_URL": None,  # None: keep mail in the local outbox only
    "MAIL_FROM": "Activity Stream <notifications@activity-stream.invalid>",
    "EMAIL_MAX_ATTEMPTS": 6,  # tries of one message before it is failed
    "EMAIL_RETRY_SECONDS": 30,  # wait after the first temporary failure, doubled each time
    "EMAIL_LEASE_SECONDS": 300,  # a message queued or sending longer than this is re-queued
    "SMTP_TIMEOUT": 30,  # seconds per SMTP conversation step
    # Delivery truth (plugins/email, docs/email.md): the envelope sender bounces go back to;
    # where they are read (a maildir, an IMAP mailbox); the secrets a provider signs its
    # events with (comma-separated: several during a rotation), the signature's tolerance
    # (seconds) and the largest body of one request (bytes).
    "EMAIL_RETURN_PATH": "",
    "EMAIL_BOUNCE_MAILDIR": "",
    "EMAIL_BOUNCE_IMAP_URL": "",
    "EMAIL_BOUNCE_IMAP_DONE_FOLDER": "",
    "EMAIL_WEBHOOK_SECRETS": "",
    "EMAIL_WEBHOOK_TOLERANCE": 300,
    "EMAIL_WEBHOOK_MAX_BODY": 256 * 1024,
    "SECRET_KEY": None,  # None: generated once and kept in the instance folder
    "TRUSTED_PROXIES": 0,
    "PLUGINS_DISABLED": "",  # comma-separated names of built-in plugins to leave out
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    # No form here is anywhere near this; a larger body is refused (413), never half-read.
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
    # Brute-force protection (core.auth.throttle): failures allowed per account name and per IP
    # in a rolling window (seconds), then locks of growing length (seconds, one per tier).
    "LOCK_ACCOUNT_LIMIT": 5,
    "LOCK_IP_LIMIT": 50,
    "LOCK_WINDOW": 15 * 60,
    "LOCK_TIERS": "900,3600,21600,86400",
    "LOCK_TIER_RESET": 24 * 3600,  # seconds after a lock ends before the tiers start over
    # Comma-separated networks (CIDR) whose addresses no IP limit ever locks (an office's NAT).
    "LOCK_ALLOW": "",
    "HASH_CHECK_LOG": None,  # a file path: one line per password check (tests count them)
    # Exports (core.listing.export, export_jobs): rows read per query; above how many rows an
    # export is prepared by the queue; how long its link lasts.
    "EXPORT_BATCH_ROWS": 1000,
    "EXPORT_BACKGROUND_ROWS": 100_000,
    "EXPORT_LINK_HOURS": 24,
    # Retention (core.retention): the fewest days a tab may keep its records; records removed
    # per transaction, and the wait after each full batch (ms). About 10 ms of a writer's wait
    # per batch on SQLite, some 450 records a second (bench/retention.py).
    "RETENTION_MIN_DAYS": 30,
    "RETENTION_BATCH_ROWS": 50,
    "RETENTION_PAUSE_MS": 100,
    # Where people reach the app: links in mail sent by the task queue (alerts, digests),
    # which has no request to take the host from.
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # Log streams (plugins/streams): records per request, seconds a request may take, the
    # first retry's wait (doubled each failure, at most an hour), and how long a destination
    # may keep failing before it is paused and its owner told.
    "STREAM_BATCH_RECORDS": 500,
    "STREAM_TIMEOUT": 10,
    "STREAM_RETRY_SECONDS": 5,
    "STREAM_PAUSE_AFTER": 24 * 3600,
    # Built-in alerts (plugins/alerts): IP locks in an hour above which the owner and admins
    # are told.
    "ALERT_IP_LOCKS_PER_HOUR": 10,
}

# Whole-number settings and their bounds, checked at start-up.
WHOLE_NUMBERS = (
    # A window keeps one time per failure: bounded, so reading it stays cheap.
    ("LOCK_ACCOUNT_LIMIT", 1, 1000),
    ("LOCK_IP_LIMIT", 1, 10_000),
    ("LOCK_WINDOW", 1, 30 * 86400),
    ("LOCK_TIER_RESET", 0, 365 * 86400),
    ("PERMANENT_SESSION_LIFETIME", 60, 365 * 86400),
    ("EXPORT_BATCH_ROWS", 1, 100_000),
    ("EXPORT_BACKGROUND_ROWS", 1, 10**9),
    ("EXPORT_LINK_HOURS", 1, 24 * 365),
    ("RETENTION_MIN_DAYS", 1, 36_500),
    ("RETENTION_BATCH_ROWS", 1, 100_000),
    ("RETENTION_PAUSE_MS", 0, 60_000),
    ("STREAM_BATCH_RECORDS", 1, 1000),
    ("STREAM_TIMEOUT", 1, 300),
    ("STREAM_RETRY_SECONDS", 1, 3600),
    ("STREAM_PAUSE_AFTER", 60, 30 * 86400),
    ("ALERT_IP_LOCKS_PER_HOUR", 1, 1_000_000),
    ("EMAIL_WEBHOOK_TOLERANCE", 1, 3600),
    ("EMAIL_WEBHOOK_MAX_BODY", 1024, 10 * 1024 * 1024),
)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def load_config(app, overrides=None):
    """Fill ``app.config`` from defaults, the environment and ``overrides``, then check it."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env(ENV_PREFIX)
    if overrides:
        app.config.update(overrides)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    config = app.config
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance / 'activity_stream.db'}"
    if not config["HUEY_URL"]:
        config["HUEY_URL"] = f"sqlite:///{instance / 'huey.db'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret(instance)
    _check(config)


def _name(key):
    return f"{ENV_PREFIX}_{key}"


def _check(config):
    database = _url(config, "DATABASE_URL", {"sqlite", "postgresql", "postgres"})
    if database.scheme == "sqlite" and not database.path.strip("/"):
        raise ConfigError(f"{_name('DATABASE_URL')}: a SQLite URL needs a file path")
    _url(config, "HUEY_URL", {"sqlite", "redis", "memory"})
    public = _url(config, "PUBLIC_URL", {"http", "https"})
    if not public.hostname or public.query or public.fragment:
        raise ConfigError(
            f"{_name('PUBLIC_URL')}: expected where people reach the app, e.g. "
            f"https://stream.example.com, got {config['PUBLIC_URL']!r}"
        )
    config["PUBLIC_URL"] = config["PUBLIC_URL"].rstrip("/")
    if config["SMTP_URL"]:
        smtp = _url(config, "SMTP_URL", {"smtp", "smtps"})
        if not smtp.hostname:
            raise ConfigError(f"{_name('SMTP_URL')}: needs a host, e.g. smtp://127.0.0.1:25")
    _check_mail(config)
    _check_delivery_truth(config)
    key = config["SECRET_KEY"]
    if not isinstance(key, str) or len(key) < 16:
        raise ConfigError(f"{_name('SECRET_KEY')}: must be a string of at least 16 characters")
    proxies = config["TRUSTED_PROXIES"]
    if isinstance(proxies, bool) or not isinstance(proxies, int) or not 0 <= proxies <= 10:
        raise ConfigError(f"{_name('TRUSTED_PROXIES')}: must be a whole number from 0 to 10")
    _check_locks(config)
    for flag in ("HUEY_IMMEDIATE",):
        if not isinstance(config[flag], bool):
            raise ConfigError(f"{_name(flag)}: must be true or false")


def _check_mail(config):
    from email.headerregistry import Address
    from email.utils import parseaddr

    sender = config["MAIL_FROM"]
    name, address = parseaddr(sender) if isinstance(sender, str) else ("", "")
    try:
        Address(display_name=name, addr_spec=address)
        valid = "@" in address and not any(c in sender for c in "\r\n")
    except (ValueError, IndexError, TypeError):
        valid = False
    if not valid:
        raise ConfigError(f"{_name('MAIL_FROM')}: expected an address like 'Name <a@b.org>'")
    for key in ("EMAIL_MAX_ATTEMPTS", "EMAIL_RETRY_SECONDS", "EMAIL_LEASE_SECONDS", "SMTP_TIMEOUT"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{_name(key)}: must be a positive number, got {value!r}")


def _check_delivery_truth(config):
    """Check the return path, the bounce mailboxes and the provider events' secrets; turn the
    secrets into a tuple."""
    from email.headerregistry import Address

    path = config["EMAIL_RETURN_PATH"]
    if path:
        try:
            valid = isinstance(path, str) and Address(addr_spec=path).addr_spec == path
        except (ValueError, IndexError, TypeError):
            valid = False
        if not valid or "@" not in path:
            raise ConfigError(
                f"{_name('EMAIL_RETURN_PATH')}: expected an address like bounces@b.org"
            )
    if config["EMAIL_BOUNCE_IMAP_URL"]:
        imap = _url(config, "EMAIL_BOUNCE_IMAP_URL", {"imap", "imaps"})
        if not imap.hostname or not imap.username:
            raise ConfigError(
                f"{_name('EMAIL_BOUNCE_IMAP_URL')}: needs a user and a host, e.g. "
                "imaps://bounces:secret@mail.example.com/INBOX"
            )
    for key in ("EMAIL_BOUNCE_MAILDIR", "EMAIL_BOUNCE_IMAP_DONE_FOLDER"):
        if not isinstance(config[key], str):
            raise ConfigError(f"{_name(key)}: must be text")
    secrets_ = config["EMAIL_WEBHOOK_SECRETS"]
    if isinstance(secrets_, str):
        secrets_ = [part.strip() for part in secrets_.split(",") if part.strip()]
    if not isinstance(secrets_, list | tuple) or any(
        not isinstance(secret, str) or len(secret) < 16 for secret in secrets_
    ):
        raise ConfigError(
            f"{_name('EMAIL_WEBHOOK_SECRETS')}: comma-separated secrets of 16 characters or more"
        )
    config["EMAIL_WEBHOOK_SECRETS"] = tuple(secrets_)


def _check_locks(config):
    """Check the whole-number settings and the brute-force ones; turn ``LOCK_TIERS`` into a
    tuple of seconds."""
    for key, low, high in WHOLE_NUMBERS:
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{_name(key)}: must be a whole number from {low} to {high}")
    tiers = config["LOCK_TIERS"]
    if isinstance(tiers, int) and not isinstance(tiers, bool):
        tiers = [tiers]
    if isinstance(tiers, str):
        tiers = [part.strip() for part in tiers.split(",")]
    try:
        tiers = tuple(int(part) for part in tiers)
    except (TypeError, ValueError):
        tiers = ()
    if not tiers or not all(1 <= seconds <= 365 * 86400 for seconds in tiers):
        raise ConfigError(
            f"{_name('LOCK_TIERS')}: must be lock lengths in seconds, comma-separated, "
            "e.g. 900,3600,86400"
        )
    config["LOCK_TIERS"] = tiers
    config["LOCK_ALLOW"] = _networks(config["LOCK_ALLOW"], "LOCK_ALLOW")
    log = config["HASH_CHECK_LOG"]
    if log is not None and not isinstance(log, str):
        raise ConfigError(f"{_name('HASH_CHECK_LOG')}: must be a file path")


def _networks(value, key):
    """Return ``value`` (comma-separated CIDRs, or a list of them) as a tuple of networks.

    A bare address is the network of that one address; host bits after the prefix are
    refused (``10.0.0.1/8`` is more likely a typo than a wish for all of ``10.0.0.0/8``).
    """
    import ipaddress

    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{_name(key)}: must be comma-separated networks, e.g. 10.0.0.0/8")
    networks = []
    for part in value:
        if isinstance(part, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(part)
            continue
        try:
            networks.append(ipaddress.ip_network(str(part).strip()))
        except ValueError:
            raise ConfigError(
                f"{_name(key)}: {str(part)[:60]!r} is not a network, "
                "expected comma-separated CIDRs like 10.0.0.0/8,2001:db8::/32"
            ) from None
    return tuple(networks)


def _url(config, key, schemes):
    value = config[key]
    if not isinstance(value, str):
        raise ConfigError(f"{_name(key)}: must be a URL, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ConfigError(f"{_name(key)}: scheme must be one of {allowed}, got {value!r}")
    return parts


def _instance_secret(instance):
    """Return the secret kept in the instance folder, creating it on first start."""
    path = instance / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()

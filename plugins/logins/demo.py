"""A month of sign-in history, written through the real recorder (``core.auth.signins``): sign-ins
from several browsers, IPs and countries, wrong passwords, unknown names, a lockout and its
unlock, sign-outs and expiries."""

import random
from datetime import timedelta

from core.auth.clients import describe_client
from core.auth.signins import SignInAttempt
from core.auth.signins import record_sign_in_attempt
from core.db import database
from core.db import utcnow
from core.demo import demo_users

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
)
# Documentation and well-known public addresses in several countries, and an office LAN.
IPS = (
    "81.2.69.160",
    "2a00:1450:4001:80b::200e",
    "8.8.8.8",
    "1.1.1.1",
    "192.168.1.20",
    "203.0.113.9",
    "185.60.216.35",
    "133.242.0.1",
)
STAFF = (
    "owner@example.com",
    "admin@example.com",
    "pm@example.com",
    "office@example.com",
    "teammate@example.com",
    "sales@example.com",
    "grace@example.com",
    "hiro@example.com",
)


def seed_history(days=30, seed=7):
    """Record ``days`` of sign-ins ending now; does nothing when the log already has some."""
    if (
        SignInAttempt.select()
        .where(SignInAttempt.attempted_at < utcnow() - timedelta(hours=1))
        .exists()
    ):
        return
    rng = random.Random(seed)
    users = demo_users()
    start = utcnow() - timedelta(days=days)
    homes = {email: (rng.choice(IPS), rng.choice(AGENTS)) for email in STAFF}
    events = []
    for day in range(days):
        for email in STAFF:
            if rng.random() < 0.35:
                continue
            ip, agent = homes[email]
            if rng.random() < 0.2:  # now and then from elsewhere
                ip, agent = rng.choice(IPS), rng.choice(AGENTS)
            at = start + timedelta(days=day, hours=rng.uniform(7, 18))
            if rng.random() < 0.15:
                events.append((at, email, "wrong_password", ip, agent, {}))
                at += timedelta(seconds=20)
            events.append((at, email, "signed_in", ip, agent, {}))
            end = rng.choice(("signed_out", "session_expired", None))
            if end:
                events.append((at + timedelta(hours=rng.uniform(1, 9)), email, end, ip, agent, {}))
        if rng.random() < 0.3:
            at = start + timedelta(days=day, hours=rng.uniform(0, 24))
            name = rng.choice(("root@example.com", "test@example.com", "admin@exampel.com"))
            events.append((at, name, "unknown_user", rng.choice(IPS), rng.choice(AGENTS), {}))
    events += _lockout(start + timedelta(days=days - 3, hours=3), users)
    events.append(
        (
            start + timedelta(days=1, hours=9),
            "lead@example.com",
            "not_allowed",
            "81.2.69.160",
            AGENTS[0],
            {},
        )
    )
    now = utcnow()
    events = [event for event in events if event[0] < now]  # a session may still be open
    with database.atomic():
        for at, email, outcome, ip, agent, extra in sorted(events, key=lambda e: e[0]):
            user = users.get(email)
            record_sign_in_attempt(email, user, outcome, describe_client(ip, agent), at=at, **extra)


def _lockout(at, users):
    """Five wrong passwords for the Teammate from abroad, the lock, refusals, the unlock."""
    ip, agent = "185.60.216.35", AGENTS[2]
    rows = [
        (at + timedelta(seconds=9 * n), "teammate@example.com", "wrong_password", ip, agent, {})
        for n in range(5)
    ]
    rows.append(
        (
            at + timedelta(seconds=45),
            "teammate@example.com",
            "account_locked",
            ip,
            agent,
            {"detail": "account limit, 5 failures in 15 min: locked for 15 min (lock 1)"},
        )
    )
    rows += [
        (
            at + timedelta(seconds=60 + 30 * n),
            "teammate@example.com",
            "locked",
            ip,
            agent,
            {"detail": "refused by the account limit, retry after 840 s"},
        )
        for n in range(3)
    ]
    admin = users["admin@example.com"].name
    rows.append(
        (
            at + timedelta(minutes=5),
            "teammate@example.com",
            "unlocked",
            "192.168.1.20",
            AGENTS[0],
            {"detail": f"account teammate@example.com unlocked by {admin}"},
        )
    )
    return rows

"""Manage People's rules that a page only shows as a refusal: nobody changes their own role,
and a password chosen from a one-time link has between 8 and 200 characters (each refusal
names its field)."""

import re

from core.people import User
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

LINK = re.compile(r'value="https?://[^/"]+(/password/[A-Za-z0-9_-]+)"')


def signed_in(app, email):
    """Return a test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def post(client, url, **form):
    """POST ``form`` with the session's CSRF token."""
    return client.post(url, data={**form, "csrf_token": csrf_token_of(client)})


def said(answer, field, message):
    """Tell whether the refused form names ``field`` with ``message``."""
    return f"<strong>{field}:</strong> {message}" in answer.text


def account_form(user, role):
    """Return the person form of ``user`` with ``role``."""
    return {"name": user.name, "email": user.email, "role": role, "time_zone": user.time_zone}


def test_nobody_changes_their_own_role(app, people):
    avery = people["admin@example.com"]
    client = signed_in(app, "admin@example.com")
    refused = post(client, f"/people/{avery.id}", **account_form(avery, "Teammate"))
    assert refused.status_code == 400
    assert said(refused, "role", "you cannot change your own role; ask another admin")
    with app.app_context():
        assert User.get_by_id(avery.id).role.name == "Admin"
    # Their own account with the same role saves.
    kept = post(client, f"/people/{avery.id}", **{**account_form(avery, "Admin"), "name": "A. C."})
    assert kept.status_code == 302
    with app.app_context():
        assert User.get_by_id(avery.id).name == "A. C."


def test_a_password_from_a_link_has_8_to_200_characters(app, people):
    dana = people["teammate@example.com"]
    admin = signed_in(app, "admin@example.com")
    link = LINK.search(post(admin, f"/people/{dana.id}/password-link").text).group(1)
    visitor = app.test_client()
    token = csrf_token_of(visitor)

    def choose(password, confirmation=None):
        data = {"password": password, "confirmation": confirmation or password, "csrf_token": token}
        return visitor.post(link, data=data)

    for password, confirmation, field, message in (
        ("x" * 7, None, "password", "must be at least 8 characters"),
        ("x" * 201, None, "password", "must be at most 200 characters"),
        ("x" * 200, "y" * 200, "confirmation", "the two new passwords differ"),
        ("password1", None, "password", "it is in a list of common passwords"),
    ):
        answer = choose(password, confirmation)
        assert answer.status_code == 400 and said(answer, field, message), (field, message)
    assert choose("kq8-vlx" + "z").status_code == 302
    assert sign_in(app.test_client(), "teammate@example.com", "kq8-vlxz").status_code == 302


def test_a_password_of_200_characters_is_accepted(app, people):
    dana = people["teammate@example.com"]
    admin = signed_in(app, "admin@example.com")
    link = LINK.search(post(admin, f"/people/{dana.id}/password-link").text).group(1)
    visitor = app.test_client()
    data = {"password": "p" * 200, "confirmation": "p" * 200, "csrf_token": csrf_token_of(visitor)}
    assert visitor.post(link, data=data).status_code == 302


def test_leaving_the_staff_takes_away_only_that_person_s_teams_and_grants(app, people):
    from core.people import TeamMembership
    from plugins.settings.models import TabGrant

    dana, priya = people["teammate@example.com"], people["pm@example.com"]
    with app.app_context():
        TabGrant.create(tab="activity", user=dana.id)
        TabGrant.create(tab="activity", user=priya.id)
        others = TeamMembership.select().where(TeamMembership.user != dana.id).count()
    client = signed_in(app, "admin@example.com")
    assert post(client, f"/people/{dana.id}", **account_form(dana, "Client")).status_code == 302
    with app.app_context():
        assert not TeamMembership.select().where(TeamMembership.user == dana.id).exists()
        assert not TabGrant.select().where(TabGrant.user == dana.id).exists()
        assert TeamMembership.select().where(TeamMembership.user != dana.id).count() == others
        assert TabGrant.select().where(TabGrant.user == priya.id).exists()

"""Alerts and digests (plugins/alerts), through their real routes and the evaluation round the
minute's task runs: a followed saved search mails at once or in a digest, exactly once, only
what its follower may see, and nothing once they lost the tab; the built-ins for the owner and
admins; the unsubscribe link without signing in. Mail is read from the Email plugin's outbox."""

import re
from datetime import datetime
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from core.auth.clients import Client
from core.auth.signins import NEW_BROWSER
from core.auth.signins import NEW_COUNTRY
from core.auth.signins import build_attempt
from core.auth.signins import record_sign_in_attempts
from core.db import database
from core.db import utcnow
from core.events import Ref
from core.events import record_activity
from core.events.recorder import Audience
from core.listing.saved import SavedSearch
from core.people import User
from core.tabs import get_tab
from plugins.alerts.evaluate import evaluate_all
from plugins.alerts.evaluate import evaluate_rule
from plugins.alerts.models import AlertRule
from plugins.alerts.schedule import next_due
from plugins.api.tokens import create_token
from plugins.email.models import EmailMessage
from plugins.integrity.runs import record_verified
from plugins.settings.changes import set_grant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HTMX = {"HX-Request": "true"}
LINK = re.compile(r"http://127\.0\.0\.1:5000/alerts/unsubscribe/[A-Za-z0-9_.\-]+")


# --- helpers ---------------------------------------------------------------------------------


def signed_in(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def post(client, url, htmx=True, **form):
    """POST ``form`` to ``url`` with the session's CSRF token."""
    form["csrf_token"] = csrf_token_of(client)
    return client.post(url, data=form, headers=HTMX if htmx else {})


def save_search(app, email, tab, name, query):
    """Save ``query`` as ``email``'s search ``name`` of ``tab``; return its id."""
    with app.app_context():
        user = User.get(User.email == email)
        return SavedSearch.create(user_id=user.id, tab=tab, name=name, query=query).id


def follow(app, email, tab, name, query, mode="instant"):
    """Save a search as ``email`` and follow it through the route; return the search's id."""
    search_id = save_search(app, email, tab, name, query)
    client = signed_in(app, email)
    answer = post(client, f"/stream/{tab}/searches/{search_id}/follow", mode=mode)
    assert answer.status_code == 200, answer.text
    return search_id


def record(app, verb="task.updated", actor="owner@example.com", audience=(), label="Q3 report"):
    """Record one Activity event by ``actor`` relating to ``audience`` (emails); return its id."""
    with app.app_context():
        users = {User.get(User.email == email).id for email in audience}
        actor = User.get(User.email == actor)
        with database.atomic():
            event = record_activity(
                actor, verb, Ref("task", 7, label), audience=Audience(users=users)
            )
        return event.id


def sign_ins(app, *rows):
    """Record Logins rows: ``(email or None, outcome, flags)``; return their ids."""
    with app.app_context():
        built = []
        for email, outcome, flags in rows:
            user = User.get(User.email == email) if email else None
            client = Client(ip="203.0.113.7", country="DE", browser="Firefox 120")
            built.append(
                build_attempt(email or "", user.id if user else None, outcome, client, flags=flags)
            )
        with database.atomic():
            return record_sign_in_attempts(built)


def mails(app, email=None):
    """Return the alert mails queued (``kind`` alert.*), oldest first, to ``email`` or anyone."""
    with app.app_context():
        query = EmailMessage.select().where(EmailMessage.kind.startswith("alert."))
        if email:
            query = query.where(EmailMessage.recipient_email == email)
        return list(query.order_by(EmailMessage.id))


def evaluate(app, now=None):
    with app.app_context():
        return evaluate_all(app, now)


def grant(app, tab, role_of, granted=True):
    """Grant (or revoke) ``tab`` to the role of ``role_of`` (an email), through Settings."""
    with app.app_context():
        role = User.get(User.email == role_of).role
        owner = User.get(User.email == "owner@example.com")
        set_grant(owner, get_tab(tab), "role", role, granted)


# --- following a saved search ---------------------------------------------------------------


def test_a_follow_mails_a_matching_record_once_and_not_one_that_does_not_match(app, people):
    follow(app, "owner@example.com", "activity", "Edits", "action:edited")
    match = record(app, "task.updated")
    record(app, "task.created")  # no match
    assert evaluate(app) == 1
    (mail,) = mails(app, "owner@example.com")
    assert mail.kind == "alert.search"
    assert mail.subject == "Alert: 1 event for “Edits” on Activity"
    assert f"http://127.0.0.1:5000/stream/activity/{match}" in mail.text_body
    assert "Morgan Reyes Super Admin edited Task “Q3 report”" in mail.text_body
    assert LINK.search(mail.text_body) and LINK.search(mail.html_body)
    # Exactly once: the next rounds find nothing new.
    assert evaluate(app) == 0 and evaluate(app) == 0
    assert len(mails(app)) == 1


def test_two_evaluators_reading_the_same_state_queue_one_mail(app, people):
    search_id = follow(app, "owner@example.com", "activity", "Edits", "action:edited")
    record(app)
    with app.app_context():
        # Two consumers read the rule at the same cursor: the second's move finds it moved.
        first, second = (AlertRule.get(AlertRule.search_id == search_id) for _ in range(2))
        assert evaluate_rule(first) == 1
        assert evaluate_rule(second) == 0
    assert len(mails(app)) == 1


def test_a_new_follow_starts_from_now(app, people):
    record(app, "task.updated")
    follow(app, "owner@example.com", "activity", "Edits", "action:edited")
    assert evaluate(app) == 0
    assert mails(app) == []


def test_a_follow_never_mails_what_its_follower_may_not_see(app, people):
    grant(app, "activity", "teammate@example.com")  # Teammates: the related scope
    follow(app, "teammate@example.com", "activity", "Everything edited", "action:edited")
    unrelated = record(app, actor="sales@example.com", audience=["hiro@example.com"])
    related = record(app, actor="sales@example.com", audience=["teammate@example.com"])
    assert evaluate(app) == 1
    (mail,) = mails(app, "teammate@example.com")
    assert f"/stream/activity/{related}" in mail.text_body
    assert f"/stream/activity/{unrelated}\n" not in mail.text_body + "\n"
    assert f"/stream/activity/{unrelated}" not in mail.html_body


def test_a_follower_who_loses_the_tab_gets_nothing_from_that_moment(app, people):
    grant(app, "activity", "teammate@example.com")
    follow(app, "teammate@example.com", "activity", "Mine", "action:edited")
    grant(app, "activity", "teammate@example.com", granted=False)
    record(app, actor="sales@example.com", audience=["teammate@example.com"])
    assert evaluate(app) == 0
    # Regaining the tab does not bring back what happened meanwhile.
    grant(app, "activity", "teammate@example.com")
    assert evaluate(app) == 0
    later = record(app, actor="sales@example.com", audience=["teammate@example.com"])
    assert evaluate(app) == 1
    (mail,) = mails(app, "teammate@example.com")
    assert mail.text_body.count("/stream/activity/") == 1  # the later record only
    assert f"/stream/activity/{later}" in mail.text_body


def test_a_deactivated_follower_gets_nothing(app, people):
    follow(app, "admin@example.com", "activity", "Edits", "action:edited")
    with app.app_context():
        User.update(active=False).where(User.email == "admin@example.com").execute()
    record(app)
    assert evaluate(app) == 0
    assert mails(app) == []


def test_a_follow_whose_saved_search_is_deleted_stops(app, people):
    search_id = follow(app, "owner@example.com", "activity", "Edits", "action:edited")
    client = signed_in(app, "owner@example.com")
    assert post(client, f"/stream/activity/searches/{search_id}/delete").status_code == 200
    record(app)
    assert evaluate(app) == 0
    with app.app_context():
        assert AlertRule.select().where(AlertRule.search_id == search_id).count() == 0


def test_a_long_run_of_matches_lists_fifty_and_counts_the_rest(app, people):
    follow(app, "owner@example.com", "activity", "Edits", "action:edited")
    for _ in range(53):
        record(app)
    assert evaluate(app) == 1
    (mail,) = mails(app)
    assert mail.subject == "Alert: 53 events for “Edits” on Activity"
    assert "…and 3 more: http://127.0.0.1:5000/stream/activity?q=action%3Aedited" in (
        mail.text_body
    )


# --- digests ----------------------------------------------------------------------------------


def test_digests_are_due_at_seven_in_the_followers_zone():
    berlin = ZoneInfo("Europe/Berlin")
    wednesday = datetime(2026, 7, 1, 12, 0)  # a Wednesday, UTC
    assert next_due("daily", berlin, wednesday) == wednesday.replace(day=2, hour=5)
    assert next_due("weekly", berlin, wednesday) == wednesday.replace(day=6, hour=5)
    winter = wednesday.replace(month=1, day=7)  # CET: 07:00 is 06:00 UTC
    assert next_due("daily", berlin, winter) == winter.replace(day=8, hour=6)
    assert next_due("instant", berlin, wednesday) is None


def test_a_daily_digest_lists_the_matches_once_per_day(app, people):
    search_id = follow(app, "owner@example.com", "activity", "Edits", "action:edited", "daily")
    first, second = record(app), record(app)
    assert evaluate(app) == 0  # not due yet
    with app.app_context():
        due = AlertRule.get(AlertRule.search_id == search_id).next_due
    owner = people["owner@example.com"]
    assert due == next_due("daily", owner.zone(), utcnow())
    assert evaluate(app, due) == 1
    (digest,) = mails(app)
    assert digest.kind == "alert.digest"
    assert digest.subject == "Daily digest: 2 events for “Edits”"
    for event_id in (first, second):
        assert f"http://127.0.0.1:5000/stream/activity/{event_id}" in digest.html_body
    assert evaluate(app, due) == 0  # once per day
    with app.app_context():
        again = AlertRule.get(AlertRule.search_id == search_id).next_due
    assert again == due + timedelta(days=1)
    # A day with no match sends nothing.
    assert evaluate(app, again) == 0
    assert len(mails(app)) == 1


# --- the follow route -------------------------------------------------------------------------


def test_the_follow_route_refuses_another_persons_search_another_tab_and_a_bad_mode(app, people):
    theirs = save_search(app, "admin@example.com", "activity", "Theirs", "action:edited")
    mine = save_search(app, "owner@example.com", "activity", "Mine", "action:edited")
    client = signed_in(app, "owner@example.com")
    huge = "/stream/activity/searches/9223372036854775808"
    for url in (f"/stream/activity/searches/{theirs}", f"/stream/logins/searches/{mine}", huge):
        assert post(client, f"{url}/follow", mode="daily").status_code == 404
    bad = post(client, f"/stream/activity/searches/{mine}/follow", mode="hourly")
    assert bad.status_code == 400 and "mode" in bad.text
    # Without JavaScript: back to the tab; the list then shows the follow.
    answer = post(client, f"/stream/activity/searches/{mine}/follow", htmx=False, mode="weekly")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/stream/activity")
    page = client.get("/stream/activity")
    assert '<option value="weekly" selected>' in page.text
    assert post(client, f"/stream/activity/searches/{mine}/follow", mode="off").status_code == 200
    with app.app_context():
        assert AlertRule.select().where(AlertRule.search_id.is_null(False)).count() == 0


def test_the_follow_route_is_behind_the_tab_gate(app, people):
    search_id = save_search(app, "teammate@example.com", "activity", "Mine", "action:edited")
    client = signed_in(app, "teammate@example.com")  # no grant of Activity
    answer = post(client, f"/stream/activity/searches/{search_id}/follow", mode="daily")
    assert answer.status_code == 403


# --- built-in alerts -------------------------------------------------------------------------


def test_an_admin_account_locked_is_told_to_the_owner_and_admins(app, people):
    evaluate(app)  # the built-ins start from now
    sign_ins(app, ("teammate@example.com", "account_locked", 0))
    assert evaluate(app) == 0
    (locked,) = sign_ins(app, ("admin@example.com", "client_locked", 0))
    assert evaluate(app) == 2
    recipients = {mail.recipient_email for mail in mails(app)}
    assert recipients == {"owner@example.com", "admin@example.com"}
    mail = mails(app, "owner@example.com")[0]
    assert mail.kind == "alert.admin_locked"
    assert f"/stream/logins/{locked}" in mail.text_body
    assert "203.0.113.7 (DE)" in mail.text_body


def test_ip_locks_above_the_threshold_are_told_once_an_hour(make_app, people):
    app = make_app(ALERT_IP_LOCKS_PER_HOUR=3)  # on the same database as ``people``
    evaluate(app)
    sign_ins(app, *[(None, "ip_locked", 0)] * 3)
    assert evaluate(app) == 0  # 3 is not more than 3
    sign_ins(app, (None, "ip_locked", 0))
    assert evaluate(app) == 2  # the owner and the admin
    assert {m.kind for m in mails(app)} == {"alert.ip_locks"}
    assert "more than 3 in 60 minutes" in mails(app)[0].text_body
    sign_ins(app, *[(None, "ip_locked", 0)] * 4)
    assert evaluate(app) == 0  # at most one an hour
    later = utcnow() + timedelta(minutes=61)
    sign_ins(app, *[(None, "ip_locked", 0)] * 4)
    assert evaluate(app, later) == 0  # those of the hour before no longer count: 0 in the hour


def test_a_sign_in_from_a_new_country_of_an_admin_is_told(app, people):
    evaluate(app)
    sign_ins(
        app,
        ("teammate@example.com", "signed_in", NEW_COUNTRY),
        ("admin@example.com", "signed_in", NEW_BROWSER),
        ("admin@example.com", "signed_in", 0),
    )
    assert evaluate(app) == 0
    sign_ins(app, ("admin@example.com", "signed_in", NEW_COUNTRY | NEW_BROWSER))
    assert evaluate(app) == 2
    assert "new country" in mails(app)[0].text_body


def test_an_api_token_created_is_told_and_switching_it_off_stops_it(app, people):
    evaluate(app)
    client = signed_in(app, "admin@example.com")
    switch = "/stream/settings/alerts/builtins"
    switched = post(client, switch, key="api_token_created", enabled="0")
    assert switched.status_code == 200 and "is off" in switched.text
    with app.app_context():
        create_token(people["pm@example.com"], "ci", "read", by=people["owner@example.com"])
    assert evaluate(app) == 1
    (mail,) = mails(app)
    assert mail.recipient_email == "owner@example.com" and mail.kind == "alert.api_token_created"
    # Switched on again, it starts from now: not the token made while it was off.
    post(client, switch, key="api_token_created", enabled="1")
    assert evaluate(app) == 0
    bad = post(client, switch, key="nope", enabled="1")
    assert bad.status_code == 400 and "key" in bad.text


def test_an_integrity_verification_finding_tampering_is_told(app, people):
    evaluate(app)
    with app.app_context():
        owner = User.get(User.email == "owner@example.com")
        with database.atomic():
            record_verified(owner, SimpleNamespace(ok=True, records=5, findings=[]))
    assert evaluate(app) == 0
    with app.app_context(), database.atomic():
        record_verified(owner, SimpleNamespace(ok=False, records=5, findings=[]))
    assert evaluate(app) == 2
    assert "tampering found" in mails(app)[0].text_body


def test_built_ins_are_for_the_owner_and_admins_only(app, people):
    grant(app, "logins", "teammate@example.com")
    evaluate(app)
    sign_ins(app, ("admin@example.com", "account_locked", 0))
    evaluate(app)
    assert mails(app, "teammate@example.com") == []


# --- unsubscribe ------------------------------------------------------------------------------


def test_the_unsubscribe_link_works_without_signing_in_and_a_tampered_one_is_refused(app, people):
    search_id = follow(app, "owner@example.com", "activity", "Edits", "action:edited")
    record(app)
    evaluate(app)
    link = LINK.search(mails(app)[0].text_body).group(0)
    path = link.removeprefix("http://127.0.0.1:5000")
    stranger = app.test_client()
    page = stranger.get(path)
    assert page.status_code == 200
    assert "the saved search “Edits” on the Activity tab" in page.text
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    refused = stranger.post(tampered)
    assert refused.status_code == 400 and "not valid" in refused.text
    done = stranger.post(path, data={"List-Unsubscribe": "One-Click"})  # no session, no CSRF
    assert done.status_code == 200 and "Done" in done.text
    with app.app_context():
        assert AlertRule.get_or_none(AlertRule.search_id == search_id) is None
    record(app)
    assert evaluate(app) == 0
    assert "already sends you no email" in stranger.get(path).text


def test_unsubscribing_from_a_built_in_switches_it_off_for_that_person(app, people):
    evaluate(app)
    sign_ins(app, ("admin@example.com", "account_locked", 0))
    evaluate(app)
    link = LINK.search(mails(app, "admin@example.com")[0].text_body).group(0)
    answer = app.test_client().post(link.removeprefix("http://127.0.0.1:5000"))
    assert answer.status_code == 200 and "An owner’s or admin’s" not in answer.text
    sign_ins(app, ("admin@example.com", "account_locked", 0))
    assert evaluate(app) == 1  # the owner only
    assert len(mails(app, "admin@example.com")) == 1

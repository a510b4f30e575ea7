"""The chart above every list (core.listing.chart): each bar counts exactly the rows its day's
list shows the viewer under the same filters (the bar's own link), for an Admin and for a
Teammate's row scope, up to the cap; Logins bars count their failures; hours for a day; a bad
range is a 400 naming the field, never a 500. SQLite and PostgreSQL."""

from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from core.auth.clients import describe_client
from core.auth.signins import record_sign_in_attempt
from core.db import clock_at
from core.db import database
from core.db import utcnow
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.listing import chart
from core.people import Role
from plugins.activity import views as activity
from plugins.logins import views as logins
from plugins.settings.models import TabGrant
from tests.conftest import sign_in

ADMIN, TEAMMATE = "admin@example.com", "teammate@example.com"


@pytest.fixture
def make_app(make_app):
    """Return the app factory with the built-in tabs: the chart is core's, drawn above every
    tab's list, so it is tested through them (this folder leaves them out by default)."""

    def make(plugins=(), **settings):
        settings.setdefault("PLUGINS_DISABLED", "")
        return make_app(plugins=plugins, **settings)

    return make


STEP = timedelta(hours=7)  # one event every 7 hours: 1 to 4 a day, at every hour in turn
EVENTS = 40  # about 11.7 days of them, ending now


def grant(tab, role_name):
    """Grant ``tab`` to every member of ``role_name`` (their row scope stays ``related``)."""
    TabGrant.create(tab=tab, role=Role.get(Role.name == role_name))


def moments(count=EVENTS, step=STEP):
    """Return ``count`` past times ``step`` apart, oldest first, the newest a minute ago."""
    newest = utcnow() - timedelta(minutes=1)
    return [newest - step * (count - 1 - n) for n in range(count)]


def record_events(people, times):
    """Record one event at each time, in time order: actors and audiences in turn, a third of
    them naming the Teammate (Dana Scully, team Delivery), the others not related to her."""
    admin, sales, office = (people[e] for e in (ADMIN, "sales@example.com", "office@example.com"))
    ids = []
    for n, moment in enumerate(times):
        related = n % 3 == 0
        actor = admin if n % 2 else office  # Leadership, Operations: not Dana's team
        named = {people[TEAMMATE].id} if related else {sales.id}
        verb = "task.updated" if n % 4 else "task.created"
        with clock_at(moment), database.atomic():
            event = record_activity(
                actor, verb, Ref("task", n + 1, f"Task {n + 1}"), audience=Audience(users=named)
            )
        ids.append(event.id)
    return ids


def list_total(feed, viewer, url, extra=""):
    """Return how many rows ``url``'s list shows ``viewer`` (the feed's own capped total),
    with ``extra`` added to its search box."""
    args = MultiDict(parse_qsl(urlsplit(url).query))
    if extra:
        args["q"] = f"{args.get('q', '')} {extra}".strip()
    return feed.total(viewer, feed.filters_of(args, viewer))


def chart_of(app, feed, viewer, query=None):
    """Return the chart ``feed``'s panel draws for ``viewer`` under ``query`` (a dict)."""
    args = MultiDict(query or {})
    with app.test_request_context(f"/stream/{feed.name}"):
        filters, kept, refusal = feed.lenient_filters(args, viewer)
        assert refusal is None, refusal
        return chart.build(feed, viewer, filters, kept)


def bars_and_lists(app, feed, viewer, query=None, extra=""):
    """Return ``[(bar, its day's list total)]`` of ``feed``'s chart for ``viewer``."""
    drawn = chart_of(app, feed, viewer, query)
    with app.test_request_context(f"/stream/{feed.name}"):
        return drawn, [(bar, list_total(feed, viewer, bar.url, extra)) for bar in drawn.bars]


@pytest.mark.parametrize("query", [{}, {"q": "action:updated"}], ids=["all", "updated"])
def test_each_bar_counts_what_its_days_list_shows_admin_and_teammate(app, people, query):
    with app.app_context():
        grant("activity", "Teammate")
        record_events(people, moments())
        seen = {}
        for email in (ADMIN, TEAMMATE):
            drawn, pairs = bars_and_lists(app, activity.FEED, people[email], query)
            assert drawn.unit == "day" and len(drawn.bars) == chart.DEFAULT_DAYS
            for bar, listed in pairs:
                assert bar.count == listed, (email, bar.title, bar.count, listed)
                assert f"created%3A{bar.day.isoformat()}" in bar.url
            seen[email] = [bar.count for bar in drawn.bars]
        # The Teammate's scope shows a third of them: her bars are not the Admin's.
        assert sum(seen[TEAMMATE]) > 0
        assert sum(seen[TEAMMATE]) < sum(seen[ADMIN])


def test_a_bar_stops_at_the_cap_and_says_so(app, people, monkeypatch):
    monkeypatch.setattr(chart, "BAR_CAP", 2)
    with app.app_context():
        grant("activity", "Teammate")
        record_events(people, moments(count=24, step=timedelta(hours=2)))  # 12 a day
        for email in (ADMIN, TEAMMATE):
            drawn, pairs = bars_and_lists(app, activity.FEED, people[email])
            assert drawn.capped
            for bar, listed in pairs:
                assert bar.count == min(listed, 3), (email, bar.title)
                if listed > 2:
                    assert drawn.said(bar).endswith(": 2+ events")
            assert "some bars reached 2" in drawn.description


def record_attempts(people, times):
    """Record a sign-in attempt at each time, in time order: the Teammate's and another
    team's, signed in or failed in turn (wrong password, unknown name)."""
    client = describe_client("203.0.113.9", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    dana, sales = people[TEAMMATE], people["sales@example.com"]
    outcomes = ("signed_in", "wrong_password", "signed_in", "unknown_user", "wrong_password")
    for n, moment in enumerate(times):
        outcome = outcomes[n % len(outcomes)]
        user = None if outcome == "unknown_user" else (dana if n % 2 else sales)
        name = user.email if user else "nobody@example.com"
        with database.atomic():
            record_sign_in_attempt(name, user, outcome, client, at=moment)


@pytest.mark.parametrize("email", [ADMIN, TEAMMATE])
def test_logins_bars_count_their_failures(app, people, email):
    with app.app_context():
        grant("logins", "Teammate")
        record_attempts(people, moments())
        viewer = people[email]
        drawn, pairs = bars_and_lists(app, logins.FEED, viewer, extra="outcome:failed")
        assert drawn.failure_word == "failed"
        failed = 0
        with app.test_request_context("/stream/logins"):
            for bar, listed_failures in pairs:
                assert bar.count == list_total(logins.FEED, viewer, bar.url), bar.title
                assert bar.failures == listed_failures, bar.title
                failed += bar.failures
                if bar.failures:
                    assert f"{bar.failures} failed" in drawn.said(bar)
        assert failed > 0
        # A filter allowing no failure marks none; one allowing only failures marks all.
        none = chart_of(app, logins.FEED, viewer, {"q": "outcome:signed_in"})
        assert [bar.failures for bar in none.bars] == [0] * len(none.bars)
        only = chart_of(app, logins.FEED, viewer, {"q": "outcome:wrong_password"})
        assert [bar.failures for bar in only.bars] == [bar.count for bar in only.bars]
        assert sum(bar.count for bar in only.bars) > 0


def test_a_day_is_drawn_per_hour(app, people):
    with app.app_context():
        times = moments(count=30, step=timedelta(minutes=47))  # the last 23.5 hours
        record_events(people, times)
        admin = people[ADMIN]
        zone = admin.zone()
        day = times[-8].replace(tzinfo=UTC).astimezone(zone).date()
        drawn = chart_of(app, activity.FEED, admin, {"q": f"created:{day}"})
        assert drawn.unit == "hour" and 23 <= len(drawn.bars) <= 25
        expected = [0] * len(drawn.bars)
        for moment in times:
            local = moment.replace(tzinfo=UTC).astimezone(zone)
            if local.date() == day:
                hour = next(n for n, bar in enumerate(drawn.bars) if bar.start <= moment < bar.end)
                expected[hour] += 1
        assert [bar.count for bar in drawn.bars] == expected
        assert sum(expected) > 0
        assert all(f"created%3A{day}" in bar.url for bar in drawn.bars)


def test_a_two_day_range_is_hours_and_a_long_one_its_newest_days(app, people):
    with app.app_context():
        admin = people[ADMIN]
        drawn = chart_of(app, activity.FEED, admin, {"from": "2026-03-01", "to": "2026-03-02"})
        assert drawn.unit == "hour" and 47 <= len(drawn.bars) <= 49 and not drawn.cut
        drawn = chart_of(app, activity.FEED, admin, {"q": "created:2026-01-01..2026-03-31"})
        assert drawn.unit == "day" and drawn.cut and len(drawn.bars) == chart.MAX_DAYS
        assert (drawn.first.isoformat(), drawn.last.isoformat()) == ("2026-03-01", "2026-03-31")


def test_a_row_dated_before_rows_recorded_earlier_counts_where_it_was_recorded(app, people):
    # Ids and times grow together, and a bar counts the rows between two ids. An import over
    # the API may date a record in the past: it is then counted in the bar of the day it was
    # recorded (its own day's bar is one short), and it does not move its day's bounds, even
    # as the first row of that day. The clock stands at yesterday's noon in New York, the
    # Admin's zone: the newest row, a minute before it, is then on the chart's last day (in
    # the first minute after midnight it would be the day before).
    noon = (utcnow() - timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    with app.app_context(), clock_at(noon):
        admin = people[ADMIN]
        zone = admin.zone()
        times = moments(count=12, step=timedelta(hours=10))
        record_events(people, times)
        day = times[3].replace(tzinfo=UTC).astimezone(zone).date()
        midnight = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
        record_events(people, [midnight.replace(tzinfo=None) + timedelta(minutes=1)])
        drawn, pairs = bars_and_lists(app, activity.FEED, admin)
        apart = {bar.day: bar.count - listed for bar, listed in pairs if bar.count != listed}
        assert apart == {day: -1, drawn.bars[-1].day: 1}


def test_the_query_built_once_counts_as_each_bucket_built_alone(app, people, monkeypatch):
    with app.app_context():
        grant("activity", "Teammate")
        grant("logins", "Teammate")
        record_events(people, moments())
        record_attempts(people, moments())
        cases = [
            (activity.FEED, TEAMMATE, {"q": "task action:updated"}),
            (activity.FEED, ADMIN, {"q": "-action:created"}),
            (logins.FEED, TEAMMATE, {}),
        ]
        for feed, email, query in cases:
            viewer = people[email]
            with app.test_request_context(f"/stream/{feed.name}"):
                filters = feed.filters_of(MultiDict(query), viewer)
                assert chart._Template.of(feed, viewer, filters, chart.BAR_CAP) is not None
            once = chart_of(app, feed, viewer, query)
            with monkeypatch.context() as patched:
                patched.setattr(chart._Template, "of", classmethod(lambda *args: None))
                alone = chart_of(app, feed, viewer, query)
            assert [b.count for b in once.bars] == [b.count for b in alone.bars], query
            assert [b.failures for b in once.bars] == [b.failures for b in alone.bars]
            assert sum(b.count for b in once.bars) > 0


def test_the_panel_draws_the_chart_with_words_and_links(app, people, client):
    with app.app_context():
        record_attempts(people, moments(count=10))
    sign_in(client, ADMIN)
    page = client.get("/stream/logins")
    assert page.status_code == 200
    html = page.text
    assert html.index('id="feed-chart"') < html.index('class="rows"')
    assert '<svg class="chart-svg"' in html and 'role="img"' in html
    assert "<title id=" in html and "<desc id=" in html
    assert "hatched: failed" in html
    assert html.count('hx-target="#panel"') >= chart.DEFAULT_DAYS
    assert 'hx-push-url="true"' in html and "style=" not in html.split('id="feed-chart"')[1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-05", "to": "2026-11-01"}, "from: the start date is after the end date"),
        ({"q": "created:2026-02-30"}, "created:"),
        ({"q": "created:2026-11-05..2026-11-01"}, "created:"),
        ({"to": "9001-01-01"}, "to:"),
        ({"from": "1899-12-31"}, "from:"),
        ({"q": "created:9999-12-31"}, "created: 9999-12-31 is out of range"),
    ],
)
def test_a_bad_range_is_refused_by_name_and_the_chart_stays(app, people, client, query, field):
    sign_in(client, ADMIN)
    page = client.get("/stream/activity", query_string=query)
    assert page.status_code == 400, page.text[:300]
    assert field in page.text
    assert 'id="feed-chart"' in page.text  # drawn for what was fine: the last 30 days


@pytest.mark.parametrize(
    ("query", "drawn"),
    [
        ({"to": "9000-12-31"}, True),
        ({"from": "9000-12-31"}, True),
        ({"from": "1900-01-01"}, True),
        ({"q": "created:1900-01-01"}, True),
        ({"q": "created:0001-01-01..2026-01-05"}, True),
        ({"q": "created:<0001-01-02"}, False),  # days no record is dated: no chart
        ({"q": "created:0001-01-01"}, False),
    ],
)
def test_a_far_range_draws_an_empty_chart_or_none(app, people, client, query, drawn):
    sign_in(client, ADMIN)
    page = client.get("/stream/activity", query_string=query)
    assert page.status_code == 200, page.text[:300]
    assert ('id="feed-chart"' in page.text) == drawn

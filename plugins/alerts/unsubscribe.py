"""Unsubscribe without signing in: ``/alerts/unsubscribe/<token>``.

GET shows what the link stops, with a button; POST stops it and says so. The signed token
(``tokens``) is the only proof: the page is outside the stream (no sign-in, no shell), its
POST exempt from the CSRF check (no session is involved; a forged request could only stop
mail the link's holder was sent). A POST with no form, or with ``List-Unsubscribe=One-Click``
(RFC 8058), works as well. A forged or altered token is a 400 saying so.
"""

from flask import Blueprint
from flask import abort
from flask import render_template
from flask import request

from core.people import User
from plugins.alerts import rules
from plugins.alerts.models import OFF
from plugins.alerts.models import AlertRule
from plugins.alerts.tokens import read_token
from plugins.alerts.tokens import rule_key

bp = Blueprint(
    "alerts_unsubscribe", __name__, url_prefix="/alerts/unsubscribe", template_folder="templates"
)
PREFIX = "/alerts/unsubscribe/"
BAD = (
    "token: this unsubscribe link is not valid (it was altered or cut). Open the link from "
    "the email again, or sign in and switch the alert off in Settings or beside the search."
)


@bp.route("/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    """Show what the link stops (GET), or stop it (POST)."""
    read = read_token(token)
    if read is None:
        abort(400, BAD)
    rule_id, user_id, key = read
    rule = AlertRule.get_or_none((AlertRule.id == rule_id) & (AlertRule.user_id == user_id))
    if rule is not None and rule_key(rule) != key:
        rule = None  # the rule the link was made for is gone; this id is another's now
    person = User.get_or_none(User.id == user_id)
    what = rules.what_it_is(rule) if rule is not None else "this alert"
    active = rule is not None and rule.mode != OFF
    done = False
    if request.method == "POST" and active:
        rules.turn_off(rule)
        done, active = True, False
    return render_template(
        "alerts/unsubscribe.html",
        token=token,
        what=what,
        active=active,
        done=done,
        person=person.name if person else "",
    )

"""The one-time link pages: choose a password from an invitation or a reset link.

Public (the person is signed out), so nothing here shows more than the link itself opens: a
spent, expired or unknown link gets one answer, 404, whichever it is.
"""

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from plugins.people import accounts
from plugins.people import links
from plugins.people.checks import Invalid

bp = Blueprint("people_links", __name__, template_folder="templates")

GONE = "This link does not work: it was used already, has expired or was replaced by a newer one."


@bp.route("/password/<token>", methods=["GET", "POST"])
def choose_password(token):
    """Show the form choosing a password, or set it and spend the link."""
    link = links.find(token)
    if link is None:
        abort(404, GONE)
    error = None
    if request.method == "POST":
        try:
            user = accounts.choose_password(
                link, request.form.get("password", ""), request.form.get("confirmation", "")
            )
        except Invalid as refused:
            error = refused
        else:
            flash(f"Your password is set, {user.name}. Sign in with it now.")
            return redirect(url_for("auth.login"))
    html = render_template("people/choose_password.html", link=link, error=error)
    return (html, 400) if error else html


@bp.after_request
def keep_the_link_private(response):
    """Keep the token out of other sites' logs (the Referer) and out of caches."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response

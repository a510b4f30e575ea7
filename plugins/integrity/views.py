"""The Integrity section of Settings and its actions (owner and admins, as Settings).

- ``POST /stream/settings/integrity/seal``: seal what was committed since the last seal;
- ``POST /stream/settings/integrity/verify``: start verifying every chain and sealed record
  on the task queue (``runs``), recorded once done (``integrity.verified``, its outcome and
  first findings in the change set);
- ``GET /stream/settings/integrity/runs/<id>``: a verification's state, polled by htmx every
  second while it runs, then its report (without JavaScript: the section alone, to reload).

Each answers htmx with the section (the poll with the verification's part of it). Without
JavaScript, Seal now answers the whole Settings page (the message travels on ``g``), and
Verify redirects to it (303), where the section shows the latest verification.
"""

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from core.evidence.seal import head_of
from core.evidence.seal import last_block
from core.evidence.seal import seal_all
from core.evidence.seal import sealed_tables
from core.listing.feed import COUNT_CAP
from core.listing.feed import counted
from core.people import User
from core.shell import page_or_fragment
from core.shell import section_answer
from core.tabs import get_tab
from plugins.integrity import runs

bp = Blueprint(
    "integrity",
    __name__,
    url_prefix="/stream/settings/integrity",
    template_folder="templates",
)
STATE = "integrity_state"  # what an action just did, for the section drawn after it
ALREADY = "A verification is already running: its progress is below."


def sections(viewer):
    """Return the section for ``viewer``, as a list: empty unless they are the owner or an
    admin."""
    if not viewer.is_admin:
        return []
    return [render(**g.get(STATE, {}))]


def render(run=None, message=None, focus=False):
    """Render the section: each chain's seals and head, and ``run`` (by default the latest
    verification): its progress, or its report; ``focus`` moves the focus to its progress."""
    chains = []
    for table in sealed_tables():
        last = last_block(table.kind)
        model = table.model
        # Capped: on a store never sealed this would count every record at each page view.
        newer = model.select(model.id).where(model.id > (last.last_id if last else 0))
        unsealed = newer.limit(COUNT_CAP + 1).count()
        tab = get_tab(table.kind)
        chains.append(
            {
                "kind": table.kind,
                "label": tab.label if tab else table.kind,
                "blocks": last.seq if last else 0,
                "sealed_at": last.sealed_at if last else None,
                "unsealed": counted(unsealed, "record", COUNT_CAP),
                "head": head_of(last),
            }
        )
    run = run or runs.latest()
    html = render_template(
        "integrity/section.html", chains=chains, message=message, **run_context(run, focus)
    )
    return Markup(html)


def run_context(run, focus=False):
    """Return what the verification's part of the section draws of ``run`` (None: none yet)."""
    asker = User.get_or_none(User.id == run.user_id) if run else None
    return {
        "run": run,
        "focus": focus,
        "asker": asker.name if asker else None,
        "report": run.report_data() if run else None,
    }


@bp.post("/seal")
def seal_now():
    """Seal every record committed since the last seal."""
    made = seal_all()
    count = sum(made.values())
    message = f"{count} new block(s) sealed." if count else "Everything committed was sealed."
    return section_answer(render, STATE, message=message)


@bp.post("/verify")
def verify_now():
    """Start verifying every chain on the task queue (unless a verification is running);
    show its progress, or send a browser without JavaScript to Settings, which shows it."""
    heads = [line for line in request.form.get("heads", "").split() if line]
    run, started = runs.start(current_user._get_current_object(), heads)
    if not request.htmx:
        return redirect(url_for("stream.tab", tab="settings") + "#integrity", code=303)
    return render(run=run, message=None if started else ALREADY, focus=True)


@bp.get("/runs/<int:run_id>")
def run_view(run_id):
    """Show verification ``run_id``: to htmx's poll its part of the section, else the Settings
    tab's page with the section alone, showing it (a browser without JavaScript reloads it)."""
    run = runs.VerifyRun.get_or_none(runs.VerifyRun.id == run_id)
    if run is None:
        abort(404, "There is no such verification.")
    if request.htmx:
        return render_template("integrity/run.html", **run_context(run))
    return page_or_fragment(render(run=run))

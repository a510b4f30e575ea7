"""The Integrity section of Settings and its two actions (owner and admins, as Settings).

- ``POST /stream/settings/integrity/seal``: seal what was committed since the last seal;
- ``POST /stream/settings/integrity/verify``: verify every chain and sealed record, show the
  report, and record that the viewer verified (``integrity.verified``, its outcome and first
  findings in the change set).

Each answers htmx with the section, and a browser without JavaScript with the whole Settings
page (the report travels on ``g``).
"""

from flask import Blueprint
from flask import g
from flask import render_template
from flask import request
from flask_login import current_user
from markupsafe import Markup

from core.db import database
from core.events import Ref
from core.events import record_activity
from core.evidence.seal import head_of
from core.evidence.seal import last_block
from core.evidence.seal import seal_all
from core.evidence.seal import sealed_tables
from core.evidence.verify import verify
from core.listing.feed import COUNT_CAP
from core.listing.feed import counted
from core.shell import section_answer
from core.tabs import get_tab

bp = Blueprint(
    "integrity",
    __name__,
    url_prefix="/stream/settings/integrity",
    template_folder="templates",
)
STATE = "integrity_state"  # what an action just did, for the section drawn after it


def sections(viewer):
    """Return the section for ``viewer``, as a list: empty unless they are the owner or an
    admin."""
    if not viewer.is_admin:
        return []
    return [render(**g.get(STATE, {}))]


def render(report=None, message=None):
    """Render the section: each chain's seals and head, the last ``report`` if any."""
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
    html = render_template("integrity/section.html", chains=chains, report=report, message=message)
    return Markup(html)


@bp.post("/seal")
def seal_now():
    """Seal every record committed since the last seal."""
    made = seal_all()
    count = sum(made.values())
    message = f"{count} new block(s) sealed." if count else "Everything committed was sealed."
    return section_answer(render, STATE, message=message)


@bp.post("/verify")
def verify_now():
    """Verify every chain; show the report; record the verification and its outcome."""
    heads = [line for line in request.form.get("heads", "").split() if line]
    report = verify(heads)
    outcome = "intact" if report.ok else "tampering found"
    changes = {
        "outcome": [None, outcome],
        "records": [None, report.records],
        "findings": [None, [finding.text() for finding in report.findings][:10]],
    }
    with database.atomic():
        record_activity(
            current_user._get_current_object(),
            "integrity.verified",
            Ref("integrity", "stream", "the record's integrity"),
            changes=changes,
            summary=f"{report.records:,} records checked: {outcome}",
        )
    return section_answer(render, STATE, report=report)

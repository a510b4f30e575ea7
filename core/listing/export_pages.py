"""The pages of an export: the Export link's answer (a download, or the offer to prepare a
large one), a prepared export's progress, and its file.

Routes on every list tab's blueprint (behind the stream gate, so only while the tab is the
viewer's):

- ``GET /stream/<tab>/export?format=&<filters>``: the download, or the offer page;
- ``POST /stream/<tab>/exports``: prepare the export of the form's format and filters;
- ``GET /stream/<tab>/exports/<id>``: its progress (polled by htmx while it runs), then its link;
- ``GET /stream/<tab>/exports/<id>/file``: the file, until the link expires (then 410).

A job is its asker's alone: another person's job id is the same 404 as a missing one. A file
is downloaded only under the access it was prepared with (``export_jobs.access_of``): after a
change of role, row scope or teams it may hold rows its asker may no longer see (403).
"""

from flask import Response
from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from core.listing import export_jobs
from core.listing.export import FORMATS
from core.listing.export import download
from core.listing.export import export_format
from core.shell import page_or_fragment


def export_view(feed):
    """Answer the Export link: the streamed download, or, above the background threshold, a
    page offering to prepare the file (a GET changes nothing)."""
    viewer = current_user._get_current_object()
    fmt = export_format(request.args)
    filters = feed.filters_of(request.args, viewer)  # every refusal: a 400 naming its field
    if export_jobs.is_large(feed, viewer, filters):
        html = render_template(
            "feed/export_offer.html",
            feed=feed,
            fmt=fmt,
            label=FORMATS[fmt][1],
            pairs=feed.filter_args(request.args),
            threshold=export_jobs.background_rows(),
        )
        return page_or_fragment(html)
    return download(feed, viewer, filters, fmt)


def start_view(feed):
    """Prepare the export of the form's ``format`` and filters (checked as the link checks
    them), then show its progress."""
    viewer = current_user._get_current_object()
    fmt = export_format(request.form)
    feed.filters_of(request.form, viewer)  # refused now, not later in the queue
    job = export_jobs.create_job(feed, viewer, feed.filter_args(request.form), fmt)
    return redirect(url_for(f"{feed.name}.export_job", job_id=job.id), code=303)


def job_view(feed, job_id):
    """Show the progress of the viewer's export ``job_id`` (a fragment to htmx's poll)."""
    job = _job_or_404(feed, job_id)
    changed = export_jobs.access_of(current_user, feed.name) != job.access
    html = render_template(
        "feed/export_job.html",
        feed=feed,
        job=job,
        label=FORMATS[job.fmt][1],
        refusal=export_jobs.CHANGED if changed else None,
    )
    return html if request.htmx else page_or_fragment(html)


def file_view(feed, job_id):
    """Send the viewer's prepared file: 409 while it is being written, 410 once expired."""
    job = _job_or_404(feed, job_id)
    if job.expired():
        abort(410, "This export's link has expired: export again from the tab.")
    if export_jobs.access_of(current_user, feed.name) != job.access:
        abort(403, export_jobs.CHANGED)
    if job.state != "done":
        abort(409, "This export is not ready yet.")
    response = Response(export_jobs.chunks_of(job), content_type=FORMATS[job.fmt][0])
    response.headers["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
    response.headers["Content-Length"] = str(job.size)
    response.headers["Cache-Control"] = "no-store"
    return response


def _job_or_404(feed, job_id):
    job = export_jobs.job_of(current_user, feed.name, job_id)
    if job is None:
        abort(404, "There is no such export of yours.")
    return job


def attach(feed):
    """Add the export routes to ``feed``'s blueprint."""
    bp = feed.blueprint
    bp.add_url_rule("/export", "export", lambda: export_view(feed))
    bp.add_url_rule("/exports", "start_export", lambda: start_view(feed), methods=["POST"])
    bp.add_url_rule("/exports/<int:job_id>", "export_job", lambda job_id: job_view(feed, job_id))
    bp.add_url_rule(
        "/exports/<int:job_id>/file", "export_file", lambda job_id: file_view(feed, job_id)
    )

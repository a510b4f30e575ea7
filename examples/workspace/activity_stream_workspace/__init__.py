"""Workspace: an example host platform whose actions the Activity tab records, installed as a
plugin (``pip install ./examples/workspace``; entry point ``workspace``).

Companies, Tasks (assignees, a status, comments), Documents (an owner, shared with contacts)
and Private Messages, each with its pages under ``/workspace``. It stands in for the real
platform in the demo and the tests, and it is the reference for how a real host platform
records its actions: each change and its ``record_activity`` call commit in one transaction
(``services``), so the log never shows a change that was not made, nor misses one that was.

``models`` holds the tables; ``access`` decides who sees and changes what (as queries);
``services`` is the only write path: each change and its ``record_activity`` commit together;
``checks`` validates service input; ``tracking`` says how objects are described to the log
(state, masked and excluded fields, audience); ``views`` (the blueprint), ``forms`` and the
``*_views`` modules serve the pages; ``demo`` plays a month of work through the services and
sends Private Messages.
"""

from flask import url_for

from activity_stream_workspace.models import MODELS
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import Document
from activity_stream_workspace.models import Task
from core import hookimpl
from core.db import database
from core.inputs import is_id
from core.migrations import Migration
from core.migrations import create_tables
from core.shell import Link

# Object type recorded in events -> (model, endpoint of its page, name of the id argument).
OBJECT_PAGES = {
    "company": (Company, "workspace.companies.company", "company_id"),
    "task": (Task, "workspace.tasks.task", "task_id"),
    "document": (Document, "workspace.documents.document", "document_id"),
}


@hookimpl
def register_models():
    """Return the workspace tables."""
    from activity_stream_workspace.messages import MODELS as MESSAGE_MODELS

    return [*MODELS, *MESSAGE_MODELS]


@hookimpl
def register_migrations():
    """Create the workspace tables."""
    from activity_stream_workspace.messages import MODELS as MESSAGE_MODELS

    return [
        Migration("workspace.0001_tables", create_tables(*MODELS)),
        Migration("workspace.0002_private_messages", create_tables(*MESSAGE_MODELS)),
    ]


@hookimpl
def register_blueprints(app):
    """Return the workspace pages, to mount at ``/workspace``."""
    from activity_stream_workspace.views import bp

    return [(bp, {"url_prefix": "/workspace"})]


@hookimpl
def flyout_links(viewer):
    """Link Companies, Tasks and Documents for anyone signed in."""
    if not getattr(viewer, "is_authenticated", False):
        return []
    return [
        Link("Companies", url_for("workspace.companies.companies"), order=50),
        Link("Tasks", url_for("workspace.tasks.tasks"), order=51),
        Link("Documents", url_for("workspace.documents.documents"), order=52),
        Link("Messages", url_for("workspace.messages.inbox"), order=53),
    ]


@hookimpl
def describe_fields():
    """Say how the workspace's recorded fields read on the Activity tab (``tracking.FIELDS``)."""
    from activity_stream_workspace.tracking import FIELDS

    return FIELDS


@hookimpl
def object_urls(refs):
    """Return the page of each workspace object among ``refs`` that still exists (one query)."""
    wanted = {}
    for kind, object_id in refs:
        if kind in OBJECT_PAGES and is_id(object_id):
            wanted.setdefault(kind, set()).add(int(object_id))
    if not wanted:
        return {}
    # Plain SQL: this runs for every page of the stream, and compiling IN lists of fifty ids
    # through the query builder costs several times the lookup. Table names and kinds are our
    # own constants; the ids go in as parameters.
    param = database.param
    arms, params = [], []
    for kind, ids in sorted(wanted.items()):
        table = OBJECT_PAGES[kind][0]._meta.table_name
        placeholders = ", ".join([param] * len(ids))
        arms.append(f"SELECT '{kind}', id FROM {table} WHERE id IN ({placeholders})")
        params.extend(sorted(ids))
    # Object pages end in their id: build each prefix once, not a url_for per row.
    prefixes = {
        kind: url_for(endpoint, **{argument: 1})[:-1]
        for kind, (_, endpoint, argument) in OBJECT_PAGES.items()
        if kind in wanted
    }
    rows = database.execute_sql(" UNION ALL ".join(arms), params).fetchall()
    return {(kind, str(found)): f"{prefixes[kind]}{found}" for kind, found in rows}


@hookimpl
def seed_demo():
    """Play a month of the workspace's work through the services, when there is none: the
    demo's Activity history."""
    from activity_stream_workspace.demo import seed_workspace

    seed_workspace()


# A wrapper, so the demo's Private Messages come after every plugin's demo history; the
# innermost one (trylast), so they are sent before the Email plugin's wrapper delivers the mail.
@hookimpl(specname="seed_demo", wrapper=True, trylast=True)
def seed_demo_messages():
    """Send the demo's Private Messages once every other plugin's demo history is there."""
    result = yield
    from activity_stream_workspace.demo import seed_private_messages

    seed_private_messages()
    return result


@hookimpl
def restore_plan(event):
    """Say what restoring a change or a deletion of a company, task or document would bring
    back (``restoring``), or refuse it."""
    from activity_stream_workspace import restoring

    return restoring.restore_plan(event)


@hookimpl
def restore(event, actor):
    """Restore a change or a deletion of a company, task or document (``restoring``)."""
    from activity_stream_workspace import restoring

    return restoring.restore(event, actor)

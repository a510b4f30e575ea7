"""Every hook a plugin may implement. Hooks are called with keyword arguments."""

import pluggy

hookspec = pluggy.HookspecMarker("activity_stream")


@hookspec
def register_models():
    """Return the peewee models this plugin owns, so tests and tools can find every table."""


@hookspec
def register_migrations():
    """Return a list of ``core.migrations.Migration`` this plugin's tables need, oldest first."""


@hookspec
def register_tabs():
    """Return a list of ``core.tabs.Tab`` this plugin adds to the stream's tab bar."""


@hookspec
def register_blueprints(app):
    """Return the Flask blueprints of this plugin's pages outside the stream; core registers
    each on ``app``. An item is a ``Blueprint`` (its own ``url_prefix`` kept) or a pair
    ``(blueprint, options)``, ``options`` the keywords of ``Flask.register_blueprint``
    (``{"url_prefix": "/billing"}``). One more option is core's own: ``{"part_of_tab":
    "settings"}`` says the blueprint serves part of that tab (under ``/stream``), so the stream
    gate lets through exactly the viewers who see that tab."""


@hookspec
def register_tasks(huey, app):
    """Register this plugin's huey tasks (side effects only) on ``huey``; ``app`` gives config."""


@hookspec
def register_commands(cli):
    """Add click commands to the ``flask`` command group ``cli``."""


@hookspec
def flyout_links(viewer):
    """Return a list of ``core.shell.Link`` for the Flyout Menu of ``viewer``."""


@hookspec
def settings_sections(viewer):
    """Return a list of HTML sections (``Markup``, each a ``<section>`` with its heading) this
    plugin adds to the Settings tab as ``viewer`` (an owner or admin) sees it."""


@hookspec
def tab_visible(viewer, tab):
    """Return True to let ``viewer`` see ``tab`` (a ``core.tabs.Tab``), False to forbid it,
    None for no opinion. Any False denies; without a True the tab stays hidden."""


@hookspec
def row_scope(viewer, tab):
    """Return ``"all"`` or ``"related"`` (which of ``tab``'s rows ``viewer`` may see), or None.

    Narrowest wins: any ``related`` makes the viewer's scope ``related``; no answer too.
    """


@hookspec
def seed_demo():
    """Add this plugin's demo data; called after core's people exist, safe to run twice."""


@hookspec
def send_notification(notification):
    """Queue ``notification`` (a ``core.notifications.Notification``) in the caller's
    transaction; return the ids of the messages queued. A failure rolls the action back."""


@hookspec
def startup(app):
    """Run once when ``app`` has been built."""


@hookspec
def before_record(event):
    """Add to ``event`` (a dict of columns) before it is written; a failure is logged, ignored."""


@hookspec
def after_commit(event):
    """React to a recorded ``event`` once its transaction committed (enqueue side effects)."""


@hookspec(firstresult=True)
def describe_event(event, viewer):
    """Return the sentence (HTML-safe ``Markup``) describing ``event`` as ``viewer`` reads it,
    or None for the default.

    ``viewer`` is the person the rows are phrased for: the signed-in one, or the one Settings'
    "Preview as…" shows the stream of. Stops at the first answer that is not None (the last
    registered plugin is asked first).
    """


@hookspec
def object_urls(refs):
    """Return ``{(type, id): url}`` for the objects among ``refs`` that still exist."""


@hookspec
def record_actions(viewer, event):
    """Return an action this plugin offers on one Activity record's Details as ``viewer`` may
    use it (HTML-safe ``Markup``: a form or a link), or None. ``event`` is the stored
    ``ActivityEvent``, already visible to ``viewer``; the action's own URL checks again."""


@hookspec(firstresult=True)
def restore_plan(event):
    """Say whether this plugin could restore what ``event`` (a stored ``ActivityEvent``: a
    change of fields, a deletion) recorded, reading only: None when the record is not of this
    plugin's objects or of a kind it restores; else a ``plugins.restore.plans.Plan`` (what a
    restore would bring back). Raise ``plugins.restore.plans.Refused`` when it cannot now
    (a value changed since, a field was masked, the object exists again). The first answer
    that is not None wins."""


@hookspec(firstresult=True)
def restore(event, actor):
    """Restore what ``event`` recorded, as ``actor`` (an owner or admin), in the caller's
    transaction, checking again what ``restore_plan`` checks (with the rows locked): return a
    list of ``plugins.restore.plans.Restored``, the object first, then any child brought back
    with it; None when the record is not this plugin's. Raise ``Refused`` to refuse (the
    caller rolls back). Record nothing: the caller records each ``Restored`` as
    ``<type>.restored``, linked to the record it undid."""


@hookspec
def person_sections(viewer, person):
    """Return an HTML section (``Markup``, a ``<section class="card">`` with its heading) this
    plugin adds to Manage People's page of ``person`` (a ``core.people.User``) as ``viewer``
    (an owner or admin) sees it, or None."""


@hookspec
def describe_fields():
    """Return how the fields of this plugin's objects read on the Activity tab, declared once:
    ``{object type: {field: {"label": "Status", "choices": {"in_progress": "In progress"},
    "kind": "text"}}}``, every key optional. ``choices`` maps a stored value to its words (a
    dict or pairs, as a form's choices); ``kind`` is ``text`` (long text, shown as a word
    diff), ``colour`` (``#rrggbb``, shown with a swatch), ``time`` (a UTC time, shown in the
    viewer's zone) or ``date`` (a day). Asked once per app; a later plugin's word wins.
    """


@hookspec
def notification_kinds():
    """Return ``{kind: label}``: the kinds of notification this plugin sends, as a list of
    mail names them (``"login.new_client": "New browser or country"``). Asked once per app."""


@hookspec(firstresult=True)
def issue_reset_link(user):
    """Issue ``user`` a one-time link to choose a new password, in the caller's transaction;
    return ``(url, valid for)`` (a ``timedelta``), or None when this plugin cannot (no mail
    set up). The first plugin that answers issues it. Core mails it ("This wasn't me")."""


@hookspec
def team_granted_tabs(team):
    """Return the names of the tabs this plugin grants to ``team`` (a ``core.people.Team``).

    Asked by Manage Teams before a team is deleted, to say what the team is granted.
    """


@hookspec
def team_tab_losses(team):
    """Return ``{user id: tab names}``: the tabs each member of ``team`` would lose with it,
    those this plugin gives them only through ``team`` (not by role, in person or by another
    team). Members losing nothing are left out; so is the owner, who sees every tab.
    """


@hookspec
def person_left_stream(user):
    """Take back what this plugin gives ``user`` in person (their own tab grants…) now that
    they stop being a Staff Member; return ``{field: [old, new]}`` of what changed, recorded
    in the same event as the change of role. Called in that change's transaction."""


@hookspec
def team_deleted(team, actor):
    """Undo what this plugin gives ``team`` (its tab grants…), each change recorded as done by
    ``actor``. Called in the transaction deleting the team, before its row goes (so ``team``
    still exists); raising rolls the deletion back.
    """


@hookspec
def person_records(person):
    """Return an iterable of ``(kind, dict)`` for every record a plugin keeps about ``person``
    (a ``core.people.User``), for Manage People's "Export everything about this person".

    ``kind`` names the record (``"email"``) and becomes the line's ``"kind"``, so the dict
    must not hold a ``"kind"`` key of its own; the dict is plain JSON (times ISO 8601 UTC with
    a ``Z``). Leave out what the admin exporting may not read: another person's private
    records, a secret (a token, its hash, a link opening the account). The bundle is streamed,
    so a generator reading its rows in keyset batches keeps the memory constant; it runs in
    the request's app context.
    """


@hookspec
def pseudonymise_person(person, replace):
    """Replace ``person``'s name and email in the records a plugin keeps, for Manage People's
    "Pseudonymise this person"; return how many records changed.

    ``replace(text)`` returns ``text`` with their name and email made their pseudonym's (None
    stays None). Called after the core's tables are rewritten and before the account is
    renamed, outside a transaction: write in short transactions of your own (a batch each),
    and make a second call finish what a failed first one left (it may be called again). A
    sealed table's personal columns go through ``core.evidence.replace.replace_values``.
    """

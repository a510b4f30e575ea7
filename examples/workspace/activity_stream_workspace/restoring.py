"""Restoring from a record: the workspace's answers to the ``restore_plan`` and ``restore``
hooks (the Restore plugin records each restore and links it to the record it undid).

Two kinds of record are restorable, for companies, tasks and documents:

- a change of fields (``*.updated``, ``task.completed``, ``document.shared``): every field
  it changed is put back, when each still holds the value the record left (else refused,
  naming the field);
- a deletion (``*.deleted``): the object comes back with its id, its fields and its people
  as recorded; a task with its comments, a company with its tasks and documents (each from
  its own deletion record, which the company's names) and members.

A record holding a masked value (a document's access code) is refused: secrets are never
restored from the log. Values go through the same checks as any edit (``checks``), so a
restore never makes what an edit could not (an assignee who may no longer sign in is refused,
naming them). A record kept before deletions recorded their ids and children restores what
its names still say unambiguously, and says what it leaves out.
"""

from dataclasses import dataclass
from datetime import datetime

from activity_stream_workspace import checks
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import CompanyMember
from activity_stream_workspace.models import Document
from activity_stream_workspace.models import DocumentShare
from activity_stream_workspace.models import Task
from activity_stream_workspace.models import TaskAssignee
from activity_stream_workspace.models import TaskComment
from activity_stream_workspace.tracking import COMPANY
from activity_stream_workspace.tracking import DOCUMENT
from activity_stream_workspace.tracking import FIELDS
from activity_stream_workspace.tracking import TASK
from activity_stream_workspace.tracking import linked_ids
from activity_stream_workspace.tracking import observe_company
from activity_stream_workspace.tracking import observe_document
from activity_stream_workspace.tracking import observe_task
from core.db import for_update
from core.db import utcnow
from core.events import ActivityEvent
from core.events.changes import as_words
from core.forms import FieldError
from core.inputs import is_id
from core.people import User
from plugins.restore.plans import CHANGED
from plugins.restore.plans import NEVER
from plugins.restore.plans import Plan
from plugins.restore.plans import Refused
from plugins.restore.plans import Restored
from plugins.restore.plans import as_they_were
from plugins.restore.plans import listing
from plugins.restore.plans import recorded_changes
from plugins.restore.plans import recorded_metadata
from plugins.restore.plans import recorded_people
from plugins.restore.plans import refuse_changed
from plugins.restore.plans import refuse_foreign
from plugins.restore.plans import refuse_masked

ONE, MANY = "one", "many"


@dataclass(frozen=True)
class Kind:
    """How one kind of workspace object is restored."""

    model: type
    tracking: object
    observe: object
    check: object
    link_model: type
    link_field: str
    people: dict  # person fields: ONE or MANY
    has_company: bool
    children: str  # what a deletion brings back with it, in words

    @property
    def texts(self):
        """Return the plain fields (those the change set holds as they are)."""
        return tuple(name for name in self.tracking.fields if name not in self.tracking.exclude)

    @property
    def fields(self):
        """Return every field a restore puts back."""
        return (*self.texts, *self.people, *(("company",) if self.has_company else ()))


KINDS = {
    "company": Kind(
        Company,
        COMPANY,
        observe_company,
        checks.company_values,
        CompanyMember,
        "company",
        {"account_manager": ONE, "members": MANY},
        False,
        "its members, tasks and documents",
    ),
    "task": Kind(
        Task,
        TASK,
        observe_task,
        checks.task_values,
        TaskAssignee,
        "task",
        {"assignees": MANY},
        True,
        "its assignees and comments",
    ),
    "document": Kind(
        Document,
        DOCUMENT,
        observe_document,
        checks.document_values,
        DocumentShare,
        "document",
        {"owner": ONE, "shared_with": MANY},
        True,
        "who it was shared with",
    ),
}
CHANGE_ACTIONS = {"updated", "completed", "shared"}
DELETED = "deleted"


def restore_plan(event):
    """Return the ``Plan`` of restoring ``event`` (None: not a restorable workspace record);
    raise ``Refused`` when it cannot be restored now."""
    kind = _kind(event)
    if kind is None:
        return None
    refuse_foreign(event)
    if event.action == DELETED:
        return _undelete(kind, event, actor=None)
    return _undo_change(kind, event, actor=None)


def restore(event, actor):
    """Restore ``event`` as ``actor`` in the caller's transaction; return the ``Restored``
    objects (None: not a restorable workspace record); raise ``Refused``."""
    kind = _kind(event)
    if kind is None:
        return None
    refuse_foreign(event)
    if event.action == DELETED:
        return _undelete(kind, event, actor)
    return _undo_change(kind, event, actor)


def _kind(event):
    kind = KINDS.get(event.object_type)
    restorable = event.action in CHANGE_ACTIONS or event.action == DELETED
    if kind is None or not restorable or not is_id(event.object_id):
        return None
    return kind


# A change of fields --------------------------------------------------------------------------


def _undo_change(kind, event, actor):
    """Plan (``actor`` None) or put back the fields ``event`` changed."""
    changes = recorded_changes(event)
    refuse_masked(changes)
    unknown = sorted(set(changes) - set(kind.fields))
    if unknown or not changes:
        what = listing(unknown) if unknown else "nothing"
        raise Refused(f"This record changed {what}, which a restore does not put back.", NEVER)
    query = kind.model.select().where(kind.model.id == int(event.object_id))
    current = (for_update(query) if actor else query).first()
    if current is None:
        raise Refused(
            f"That {kind.tracking.kind} no longer exists: restore its deletion first.", CHANGED
        )
    now = kind.observe(current)
    ids = _recorded_ids(recorded_metadata(event))
    for name, (_old, new) in changes.items():
        if name in ids:  # people and companies by id: two may share a name
            refuse_changed(name, linked_ids(now, name), ids[name][1])
        else:
            words = FIELDS.get(kind.tracking.kind, {}).get(name, {}).get("choices")
            refuse_changed(name, now.state.get(name), new, words)
    fields = {
        name: _value(kind, name, old, (ids.get(name) or [None])[0])
        for name, (old, _new) in changes.items()
    }
    values, links = _checked(kind, fields, creating=False)
    if actor is None:
        return Plan(f"Puts back {as_they_were(list(changes))} before this change")
    for name, value in values.items():
        setattr(current, name, value)
    for users in links.values():
        _link(kind, current, users)
    current.updated_at = utcnow()
    current.save()
    after = kind.observe(current)
    restored = kind.tracking.changes(now, after)
    return [Restored(after.ref, restored, event.id, after.target, now.users | after.users)]


# A deletion ----------------------------------------------------------------------------------


def _undelete(kind, event, actor, parent=None):
    """Plan (``actor`` None) or bring back the object ``event`` deleted, with its children.
    ``parent`` is the id of the company being brought back with it (planned, not yet there)."""
    changes = recorded_changes(event)
    label = f"{kind.tracking.kind} “{event.object_label}”"
    refuse_masked(changes)
    object_id = int(event.object_id)
    if kind.model.select().where(kind.model.id == object_id).exists():
        raise Refused(
            f"This {kind.tracking.kind} exists again (its id #{object_id} is taken now): "
            "there is nothing to bring back.",
            CHANGED,
        )
    metadata = recorded_metadata(event)
    ids = _recorded_ids(metadata)
    fields = {name: old for name, (old, _new) in changes.items() if name in kind.texts}
    for name in kind.people:
        if name in changes or name in ids:
            recorded = (changes.get(name) or [None])[0]
            fields[name] = _value(kind, name, recorded, (ids.get(name) or [None])[0])
    if kind.has_company and ("company" in changes or "company" in ids):
        company_id = (ids.get("company") or [None])[0]
        if parent is None or company_id != parent:
            fields["company"] = _value(kind, "company", changes["company"][0], company_id)
    if kind.tracking.kind == "company":
        _refuse_name_taken(fields.get("name"), object_id)
    values, links = _checked(kind, fields, creating=True)
    children, notes = _children(kind, metadata, actor, object_id)
    if actor is None:
        with_what = f"with {kind.children}" if not notes else "with what its record kept"
        return Plan(f"Brings back the {label} {with_what}", tuple(notes))
    kept = metadata.get("kept", {})
    values.update(_kept_values(kind, kept))
    if parent is not None and kind.has_company:
        values["company"] = parent
    instance = kind.model.create(id=object_id, **values)
    for users in links.values():
        _link(kind, instance, users)
    _restore_comments(kind, instance, metadata.get("comments", []))
    after = kind.observe(instance)
    restored = Restored(
        after.ref, kind.tracking.changes(None, after), event.id, after.target, after.users
    )
    return [restored, *(item for child in children for item in child(instance))]


def _children(kind, metadata, actor, company_id):
    """Return the restores of a company's children (each a function of the company brought
    back) and what the record does not say (notes). Plans them now: a child that cannot come
    back refuses the whole."""
    notes = []
    if kind.tracking.kind == "task" and "comments" not in metadata:
        notes.append("its comments were not recorded with it")
    if kind.tracking.kind != "company":
        return [], notes
    if "tasks" not in metadata:
        notes.append(
            "its tasks and documents were not recorded with it: restore each from its own record"
        )
    children = []
    for key, child_kind in (("tasks", KINDS["task"]), ("documents", KINDS["document"])):
        for child_id in metadata.get(key, []):
            child = ActivityEvent.get_or_none(ActivityEvent.id == child_id)
            if child is None or child.object_type != child_kind.tracking.kind:
                notes.append(f"a {child_kind.tracking.kind} whose record is gone")
                continue
            try:
                _undelete(child_kind, child, None, parent=company_id)  # refuses now, if at all
            except Refused as refusal:
                what = f"{child_kind.tracking.kind} “{child.object_label}”"
                raise Refused(f"Its {what}: {refusal.message}", refusal.status) from None
            children.append(
                lambda company, child=child, child_kind=child_kind: _undelete(
                    child_kind, child, actor, parent=company.id
                )
            )
    return children, notes


def _kept_values(kind, kept):
    """Return the columns a deletion kept beside its change set (creation time, creator)."""
    values = {}
    if isinstance(kept.get("created_at"), str):
        values["created_at"] = _time(kept["created_at"])
    if kind.tracking.kind == "task" and User.get_or_none(User.id == kept.get("created_by")):
        values["created_by"] = kept["created_by"]
    return values


def _restore_comments(kind, task, comments):
    """Bring back a task's comments as recorded (their authors are never deleted)."""
    if kind.tracking.kind != "task" or not comments:
        return
    wanted = {comment.get("author") for comment in comments}
    authors = {user.id for user in User.select(User.id).where(User.id.in_(list(wanted)))}
    rows = [
        {"task": task.id, "author": c["author"], "body": c["body"], "created_at": _time(c["at"])}
        for c in comments
        if c.get("author") in authors
    ]
    if rows:
        TaskComment.insert_many(rows).execute()


def _refuse_name_taken(name, company_id):
    taken = Company.select().where((Company.name == (name or "")) & (Company.id != company_id))
    if name and taken.exists():
        raise Refused(f"A company named “{name}” exists now: rename it first.", CHANGED)


def _recorded_ids(metadata):
    """Return the record's ``{field: [ids before, ids after]}``, each an id, a list of ids or
    None; a field recorded otherwise is left out (its names are used instead)."""
    ids = metadata.get("ids")
    if not isinstance(ids, dict):
        return {}
    return {
        name: pair
        for name, pair in ids.items()
        if isinstance(pair, list) and len(pair) == 2 and all(map(_ids_value, pair))
    }


def _ids_value(value):
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    return isinstance(value, list) and all(_ids_value(item) and item is not None for item in value)


# Values ----------------------------------------------------------------------------------------


def _value(kind, name, recorded, ids):
    """Return the value to put back in field ``name``: a plain value as recorded, a person or
    people by their recorded ids (by their names, in a record kept before ids were), a company
    by its id (or its name, which is unique)."""
    if name == "company":
        if recorded in (None, ""):
            return None
        company = Company.get_or_none(Company.id == ids) if ids is not None else None
        company = company or (
            Company.get_or_none(Company.name == recorded) if ids is None else None
        )
        if company is None:
            raise Refused(f"Its company “{recorded}” no longer exists: restore it first.", CHANGED)
        return company
    if name not in kind.people:
        return recorded
    if kind.people[name] == ONE:
        if recorded in (None, ""):
            return None
        return _people(name, [ids] if ids is not None else None, [recorded])[0]
    return _people(name, ids, recorded or [])


def _people(name, ids, names):
    """Return the users a task's or document's field ``name`` recorded (``recorded_people``)."""
    return recorded_people(as_words(name), ids, names, "Set it on the object itself.")


def _checked(kind, fields, creating):
    """Return the values and links of ``fields`` through the kind's own input checks."""
    try:
        return kind.check(fields, creating=creating)
    except FieldError as error:
        raise Refused(
            f"{as_words(error.field)}: {error.message}, so it cannot be put back.", CHANGED
        ) from None


def _link(kind, instance, users):
    """Make ``users`` exactly the people linked to ``instance`` (members, assignees, shares)."""
    from activity_stream_workspace.services import _replace_links

    _replace_links(kind.link_model, kind.link_field, instance, users)


def _time(text):
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return utcnow()

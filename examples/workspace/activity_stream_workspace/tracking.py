"""How workspace objects are described to the activity log (change capture for ``services``).

An ``Observation`` is what an object looked like at one moment: the state that change capture
compares (scalar fields through ``changes.snapshot``, relations by display name), the label and
target copied into the event, and the people it relates to (its audience). Each kind says which
fields are never recorded (``exclude``) and which are recorded without their values (``masked``).
``FIELDS`` says how recorded fields read on the Activity tab (the ``describe_fields`` hook): a
status by the words its form shows, long texts word by word, a field by its form's label.
"""

from dataclasses import dataclass
from dataclasses import field

from activity_stream_workspace.models import TASK_STATUSES
from activity_stream_workspace.models import CompanyMember
from activity_stream_workspace.models import DocumentShare
from activity_stream_workspace.models import TaskAssignee
from core.events import Ref
from core.events import diff
from core.events import snapshot
from core.people import User

EMPTY = (None, "", [])


@dataclass(frozen=True)
class Tracking:
    """What change capture records of one kind of object."""

    kind: str
    fields: tuple
    exclude: tuple = ("updated_at",)
    masked: tuple = ()

    def changes(self, before, after):
        """Return ``{field: [old, new]}`` between two observations (None: absent)."""
        if before is None or after is None:
            # A creation or deletion lists the fields that hold something, not every empty one.
            before = _present(before.state) if before else None
            after = _present(after.state) if after else None
            return diff(before, after, exclude=self.exclude, masked=self.masked)
        changes = diff(before.state, after.state, exclude=self.exclude, masked=self.masked)
        # People are shown by name; two people may share one, so their ids decide too.
        for name, ids in after.people.items():
            if ids != before.people.get(name) and name not in changes:
                changes[name] = [before.state.get(name), after.state.get(name)]
        return changes


@dataclass(frozen=True)
class Observation:
    """One object at one moment: its state, label, target and the users it relates to.

    ``people`` holds the ids behind the person fields of ``state`` (shown there by name).
    """

    kind: str
    id: int
    label: str
    state: dict
    users: frozenset = field(default_factory=frozenset)
    target: Ref = None
    people: dict = field(default_factory=dict)

    @property
    def ref(self):
        """Return the object as the event names it, its label copied."""
        return Ref(self.kind, self.id, self.label)


COMPANY = Tracking("company", ("name", "industry", "phone", "notes", "updated_at"))
TASK = Tracking("task", ("title", "description", "status", "updated_at"))
DOCUMENT = Tracking(
    "document", ("title", "body", "access_code", "updated_at"), masked=("access_code",)
)


# As the forms say them: the status select's own choices, the document form's "Text".
FIELDS = {
    "task": {
        "status": {"choices": TASK_STATUSES},
        "description": {"kind": "text"},
    },
    "document": {"body": {"label": "Text", "kind": "text"}},
    "company": {"notes": {"kind": "text"}},
}


def linked_users(link_model, owner_field, owner_id):
    """Return the users linked to one object through ``link_model`` (members, assignees...)."""
    return list(
        User.select(User.id, User.name)
        .join(link_model, on=(link_model.user == User.id))
        .where(getattr(link_model, owner_field) == owner_id)
        .order_by(User.name)
    )


def observe_company(company):
    """Return the observation of ``company``: fields, account manager, member contacts."""
    members = linked_users(CompanyMember, "company", company.id)
    manager = company.account_manager
    state = snapshot(company, COMPANY.fields)
    state["account_manager"] = manager.name if manager else None
    state["members"] = [user.name for user in members]
    users = {user.id for user in members} | ({manager.id} if manager else set())
    people = {"account_manager": company.account_manager_id, "members": _ids(members)}
    return Observation("company", company.id, company.name, state, frozenset(users), None, people)


def observe_task(task):
    """Return the observation of ``task``: fields, company, assignees, creator, account manager."""
    assignees = linked_users(TaskAssignee, "task", task.id)
    company = task.company
    state = snapshot(task, TASK.fields)
    state["company"] = company.name if company else None
    state["assignees"] = [user.name for user in assignees]
    users = {user.id for user in assignees}
    users |= {task.created_by_id} if task.created_by_id else set()
    users |= {company.account_manager_id} if company and company.account_manager_id else set()
    people = {"assignees": _ids(assignees)}
    return Observation("task", task.id, task.title, state, frozenset(users), _ref(company), people)


def observe_document(document):
    """Return the observation of ``document``: fields, owner, company, who it is shared with."""
    shared = linked_users(DocumentShare, "document", document.id)
    company = document.company
    state = snapshot(document, DOCUMENT.fields)
    state["company"] = company.name if company else None
    state["owner"] = document.owner.name
    state["shared_with"] = [user.name for user in shared]
    users = {user.id for user in shared} | {document.owner_id}
    users |= {company.account_manager_id} if company and company.account_manager_id else set()
    people = {"owner": document.owner_id, "shared_with": _ids(shared)}
    return Observation(
        "document", document.id, document.title, state, frozenset(users), _ref(company), people
    )


def linked_ids(observation, name):
    """Return the ids behind field ``name`` of ``observation`` (shown by name in its state):
    a person's id, people's ids (sorted), the company's id; None for another field or none."""
    if observation is None:
        return None
    if name == "company" and observation.kind != "company":
        return observation.target.id if observation.target else None
    ids = observation.people.get(name)
    return sorted(ids) if isinstance(ids, frozenset) else ids


def _ids(users):
    return frozenset(user.id for user in users)


def _ref(company):
    return Ref("company", company.id, company.name) if company else None


def _present(state):
    return {name: value for name, value in state.items() if value not in EMPTY}

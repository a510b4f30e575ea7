"""A world of objects owned and shared by different people, and a small reference model of
who may see and do what with each (docs/design.md, section 2; the docstring of
examples/workspace/activity_stream_workspace/access.py; plugins/email/queries.py for Private
Messages).

The model reads only facts written down while the world is built (who is a member, an
assignee, an owner, a recipient) and the people's roles and teams; it never asks the app's
access code, so a rule removed from the app shows as a mismatch.

Used by tests/test_authorization_matrix.py (every object URL, per object, per viewer) and
tests/test_object_access.py (the rules one at a time).
"""

from dataclasses import dataclass
from dataclasses import field

from core.db import database
from core.people import Role
from core.people import TeamMembership
from core.people import User
from core.people import create_user
from plugins.people import accounts
from tests.examples import workspace

# The world is made of the workspace example's objects: without it, its users are skipped.
messages = workspace("messages")
services = workspace("services")
DONE = workspace("models").DONE

STAFF_KINDS = {"owner", "admin", "staff"}
# A Staff Member who owns a document, then becomes a Client: an owner who is not staff.
FORMER_STAFF = "olga@example.com"


@dataclass
class Thing:
    """One object of the world and the facts the reference model reads."""

    kind: str  # company, task, document, message
    id: int
    title: str
    company: int | None = None  # its company's id (tasks, documents)
    members: set = field(default_factory=set)  # company: its contacts' ids
    assignees: set = field(default_factory=set)  # task
    done: bool = False  # task
    owner: int | None = None  # document
    shared_with: set = field(default_factory=set)  # document
    code: str = ""  # document: the secret access code
    sender: int | None = None  # message
    recipients: set = field(default_factory=set)  # message


@dataclass
class World:
    """Every object, by kind, in creation order."""

    things: dict = field(default_factory=dict)  # kind -> [Thing]

    def add(self, thing):
        """Keep ``thing``; return it."""
        self.things.setdefault(thing.kind, []).append(thing)
        return thing

    def of(self, kind):
        """Return the objects of ``kind``."""
        return self.things.get(kind, [])

    def get(self, kind, object_id):
        """Return the object of ``kind`` with ``object_id``."""
        return next(thing for thing in self.of(kind) if thing.id == object_id)


def ids(users):
    """Return the ids of ``users``."""
    return {user.id for user in users}


def build_world(people):
    """Create companies, tasks, documents and Private Messages through the product's own
    services (inside an app context); return the ``World`` describing them."""
    p = people
    admin = p["admin@example.com"]
    world = World()
    with database.atomic():
        # The demo password (its hash copied: hashing again is slow).
        olga = create_user(
            "Olga Petrova",
            FORMER_STAFF,
            "Teammate",
            password_hash=p["client@example.com"].password_hash,
        )
    companies = {}
    for name, manager, members in (
        ("Acme Corp", p["grace@example.com"], [p["client@example.com"]]),
        ("Globex", None, [p["jonas@example.com"], p["prospect@example.com"]]),
        ("Initech", p["sales@example.com"], []),
    ):
        made = services.create_company(admin, name=name, account_manager=manager, members=members)
        companies[name] = made
        world.add(Thing("company", made.id, name, members=ids(members)))
    for title, company, assignees, done in (
        ("Acme audit", "Acme Corp", [], False),
        ("Globex kick-off", "Globex", [p["freelancer@example.com"]], False),
        ("Internal clean-up", None, [p["teammate@example.com"]], True),
        ("Errand for Claire", "Initech", [p["client@example.com"]], False),
        (
            "Initech migration",
            "Initech",
            [p["freelancer@example.com"], p["hiro@example.com"]],
            True,
        ),
    ):
        made = services.create_task(
            p["pm@example.com"],
            title=title,
            company=companies.get(company),
            assignees=assignees,
            status=DONE if done else "open",
        )
        world.add(
            Thing(
                "task",
                made.id,
                title,
                company=companies[company].id if company else None,
                assignees=ids(assignees),
                done=done,
            )
        )
    for title, company, owner, shared, code in (
        (
            "Master agreement",
            "Acme Corp",
            p["sales@example.com"],
            [p["client@example.com"]],
            "CODE-MASTER-1111",
        ),
        ("Acme pricing notes", "Acme Corp", admin, [], "CODE-PRICING-2222"),
        (
            "Globex brief",
            "Globex",
            p["pm@example.com"],
            [p["jonas@example.com"], p["prospect@example.com"]],
            "",
        ),
        ("Olga draft notes", None, olga, [], "CODE-DRAFT-3333"),
        (
            "Initech data room",
            "Initech",
            p["office@example.com"],
            [p["client@example.com"]],
            "CODE-ROOM-4444",
        ),
    ):
        made = services.create_document(
            admin,
            title=title,
            body=f"The text of {title}.",
            company=companies.get(company),
            owner=owner,
            shared_with=shared,
            access_code=code,
        )
        world.add(
            Thing(
                "document",
                made.id,
                title,
                company=companies[company].id if company else None,
                owner=owner.id,
                shared_with=ids(shared),
                code=code,
            )
        )
    # Olga stops being a Staff Member; she still owns her draft (and its access code).
    accounts.update_person(
        p["owner@example.com"], olga, olga.name, olga.email, "Client", olga.time_zone
    )
    for sender, recipients, subject in (
        (p["sales@example.com"], [p["client@example.com"]], "Contract questions"),
        (p["client@example.com"], [p["grace@example.com"], admin], "Invoice address"),
        (p["pm@example.com"], [p["teammate@example.com"]], "Sprint planning"),
        (p["owner@example.com"], [admin], "Board meeting"),
    ):
        sent = messages.send_private_message(sender, recipients, subject, f"About {subject}.")
        world.add(Thing("message", sent.id, subject, sender=sender.id, recipients=ids(recipients)))
    return world


# --- the reference model ---------------------------------------------------------------------


def kind_of(user):
    """Return the role kind of ``user`` (None: signed out)."""
    return None if user is None else Role.get_by_id(user.role_id).kind


def is_staff(user):
    """Tell whether ``user`` is a Staff Member."""
    return kind_of(user) in STAFF_KINDS


def sees(user, thing, world):
    """Tell whether ``user`` may see ``thing`` at all (its page answers 200, not 404)."""
    if thing.kind == "message":
        return user.id == thing.sender or user.id in thing.recipients
    if is_staff(user):
        return True
    contact = kind_of(user) == "contact"
    if thing.kind == "company":
        return contact and user.id in thing.members
    if thing.kind == "task":
        member = (
            thing.company is not None and user.id in world.get("company", thing.company).members
        )
        return user.id in thing.assignees or (contact and member)
    if thing.kind == "document":
        return contact and (user.id == thing.owner or user.id in thing.shared_with)
    raise ValueError(thing.kind)


def may_manage(user):
    """Tell whether ``user`` may create, edit and delete companies, tasks and documents."""
    return is_staff(user)


def may_complete(user, thing):
    """Tell whether ``user`` may mark the task ``thing`` done: staff or an assignee."""
    return is_staff(user) or user.id in thing.assignees


def sees_code(user, thing):
    """Tell whether ``user`` may read the access code of the document ``thing``."""
    return is_staff(user) or user.id == thing.owner


def related_people(user):
    """Return the ids of ``user`` and of every member of their teams."""
    teams = [m.team_id for m in TeamMembership.select().where(TeamMembership.user == user.id)]
    members = TeamMembership.select().where(TeamMembership.team.in_(teams)) if teams else []
    return {user.id, *(m.user_id for m in members)}


@dataclass(frozen=True)
class Mail:
    """One row of the outbox (one recipient of a notification or Private Message)."""

    id: int
    title: str  # its subject
    sender_id: int | None
    recipient_id: int
    private: bool
    kind: str = "email"


def outbox():
    """Return every row of the outbox as ``Mail``, oldest first."""
    from plugins.email.models import EmailMessage

    query = EmailMessage.select().order_by(EmailMessage.id)
    return [Mail(m.id, m.subject, m.sender_id, m.recipient_id, m.private) for m in query]


def sees_email(user, mail, scope):
    """Tell whether ``user`` (who sees the Email tab with ``scope``) may open the outbox row
    ``mail``: a Private Message only its sender and its recipient, whatever the scope."""
    parties = {mail.sender_id, mail.recipient_id}
    if mail.private and user.id not in parties:
        return False
    return scope == "all" or bool(parties & related_people(user))


def email_scope(user):
    """Return the Email tab's row scope of ``user`` (no Settings change: the default)."""
    return "all" if kind_of(user) in ("owner", "admin") else "related"


def former_staff(app):
    """Return the user who owned a document as staff and is now a Client."""
    with app.app_context():
        return User.get(User.email == FORMER_STAFF)

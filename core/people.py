"""People of the host platform: roles, users and teams (docs/design.md, section 1)."""

import functools
import zoneinfo

import peewee
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from core.db import BaseModel
from core.db import database
from core.db import utcnow

OWNER = "owner"
ADMIN = "admin"
STAFF = "staff"
FREELANCER = "freelancer"
CONTACT = "contact"
STAFF_KINDS = (OWNER, ADMIN, STAFF)
ROLE_KINDS = (OWNER, ADMIN, STAFF, FREELANCER, CONTACT)
# The staff roles that manage people, and so may know how they are grouped: with the owner and
# admin kinds, the only ones who see team names (lists, filters, rows, Settings).
PEOPLE_MANAGER_ROLES = ("Project Manager", "Office Manager")

# The seeded roles, in display order: (name, kind, may sign in).
SEEDED_ROLES = (
    ("Super Admin", OWNER, True),
    ("Admin", ADMIN, True),
    ("Project Manager", STAFF, True),
    ("Office Manager", STAFF, True),
    ("Teammate", STAFF, True),
    ("Salesperson", STAFF, True),
    ("Freelancer", FREELANCER, True),
    ("Client", CONTACT, True),
    ("Prospect", CONTACT, True),
    ("Lead", CONTACT, False),
)


class Role(BaseModel):
    """A named role of one kind; the kind decides what the role may ever reach."""

    name = peewee.CharField(max_length=80, unique=True)
    kind = peewee.CharField(max_length=16, choices=[(k, k) for k in ROLE_KINDS])
    can_sign_in = peewee.BooleanField(default=True)
    position = peewee.IntegerField(default=0)

    @property
    def is_staff(self):
        """Tell whether members of this role are Staff Members."""
        return self.kind in STAFF_KINDS

    @property
    def sees_team_names(self):
        """Tell whether members of this role may see team names: the owner and admin kinds,
        and the staff roles that manage people (Project Manager, Office Manager)."""
        return self.kind in (OWNER, ADMIN) or (
            self.kind == STAFF and self.name in PEOPLE_MANAGER_ROLES
        )


class User(BaseModel):
    """A person who may sign in; flask-login's user object."""

    name = peewee.CharField(max_length=120)
    email = peewee.CharField(max_length=254, unique=True)
    password_hash = peewee.CharField(max_length=255, default="")
    role = peewee.ForeignKeyField(Role, backref="users", on_delete="RESTRICT")
    active = peewee.BooleanField(default=True)
    time_zone = peewee.CharField(max_length=64, default="UTC")
    # How the lists draw rows for this person: one of ``DENSITIES``.
    density = peewee.CharField(max_length=12, default="comfortable")
    # Part of the session cookie's identity: bumping it revokes every cookie issued before.
    session_generation = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)

    # flask-login protocol
    is_anonymous = False

    @property
    def is_authenticated(self):
        """Tell flask-login that a loaded user is signed in."""
        return True

    @property
    def is_active(self):
        """Tell flask-login whether this user may hold a session."""
        return self.active and self.role.can_sign_in

    def get_id(self):
        """Return the cookie identity of the session this user object is signed in with,
        ``"<id>:<generation>:<token>"`` (``core.auth.sessions`` opens the session and reads the
        identity back). Reads only: a user object without a session has no identity."""
        token = getattr(self, "session_token", None)
        if token is None:
            raise RuntimeError("open a session first (core.auth.sessions.start_session)")
        return f"{self.id}:{self.session_generation}:{token}"

    @property
    def is_staff(self):
        """Tell whether this user is a Staff Member (owner, admin or staff kind)."""
        return self.role.kind in STAFF_KINDS

    @property
    def is_owner(self):
        """Tell whether this user holds the owner role."""
        return self.role.kind == OWNER

    @property
    def is_admin(self):
        """Tell whether this user is of the owner or admin kind."""
        return self.role.kind in (OWNER, ADMIN)

    @property
    def initials(self):
        """Return up to two initials for the avatar."""
        return initials(self.name)

    def zone(self):
        """Return this user's time zone, UTC when it is unknown."""
        return zoneinfo.ZoneInfo(self.time_zone if is_time_zone(self.time_zone) else "UTC")

    def set_password(self, password):
        """Hash and keep ``password``; the session generation moves on, revoking cookies."""
        self.password_hash = generate_password_hash(password, method="scrypt")
        self.session_generation += 1

    def check_password(self, password):
        """Tell whether ``password`` matches the stored hash."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def team_ids(self):
        """Return the ids of this user's teams."""
        query = TeamMembership.select(TeamMembership.team).where(TeamMembership.user == self)
        return [row.team_id for row in query]

    def related_user_ids(self):
        """Return the ids of this user and of every member of their teams, sorted (one query):
        whose rows a ``related`` scope shows where a row names people rather than parties."""
        teams = TeamMembership.select(TeamMembership.team).where(TeamMembership.user == self.id)
        members = TeamMembership.select(TeamMembership.user).where(TeamMembership.team.in_(teams))
        return sorted({self.id, *(row.user_id for row in members)})


def sees_team_names(viewer):
    """Tell whether ``viewer`` may see team names anywhere (lists, filters, rows, Settings):
    Super Admin, Admin, Project Manager and Office Manager. Everyone else, signed out
    included, sees no team name; show ``team_label(viewer, name)`` instead of a name."""
    role = getattr(viewer, "role", None) if getattr(viewer, "is_authenticated", False) else None
    return bool(role is not None and role.sees_team_names)


def team_label(viewer, name):
    """Return ``name`` (a team's) as ``viewer`` may read it: the name, or "a team"."""
    return name if sees_team_names(viewer) else HIDDEN_TEAM


HIDDEN_TEAM = "a team"


def initials(name):
    """Return up to two initials of ``name`` for an avatar ("?" for an empty name)."""
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


class Team(BaseModel):
    """A named group of Staff Members."""

    name = peewee.CharField(max_length=80, unique=True)
    description = peewee.TextField(default="")
    color = peewee.CharField(max_length=7, default="#4f46e5")


class TeamMembership(BaseModel):
    """One user in one team."""

    user = peewee.ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    team = peewee.ForeignKeyField(Team, backref="memberships", on_delete="CASCADE")

    class Meta:
        indexes = ((("user", "team"), True), (("team", "user"), False))


MODELS = (Role, User, Team, TeamMembership)

# Row densities of the lists: "comfortable" (a card per record) or "compact" (a line each).
DENSITIES = ("comfortable", "compact")


def add_density_column():
    """Add ``user.density`` to a database created before it existed (every person keeps the
    comfortable rows they had)."""
    present = {column.name for column in database.get_columns(User._meta.table_name)}
    if "density" not in present:
        database.execute_sql(
            "ALTER TABLE \"user\" ADD COLUMN density VARCHAR(12) NOT NULL DEFAULT 'comfortable'"
        )


def seed_roles():
    """Create the seeded roles that are missing; safe to run again."""
    for position, (name, kind, can_sign_in) in enumerate(SEEDED_ROLES):
        Role.get_or_create(
            name=name, defaults={"kind": kind, "can_sign_in": can_sign_in, "position": position}
        )


@functools.cache
def time_zone_names():
    """Return the names of the time zones a person may choose: ``zoneinfo``'s list."""
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name):
    """Tell whether ``name`` is one of ``time_zone_names()``. Only those: ``ZoneInfo`` also
    opens other files of the zone data (``posixrules``), fails on a folder of it (``America``:
    IsADirectoryError) or a name too long for a file name (OSError)."""
    return isinstance(name, str) and name in time_zone_names()


def create_user(
    name, email, role_name, password=None, time_zone="UTC", teams=(), password_hash=None
):
    """Create a user with a role by name; raise ``ValueError`` naming the bad field.

    ``password_hash`` (already hashed) spares the slow hash when seeding many users.
    """
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValueError(f"email: {email!r} is not an email address")
    if not (name or "").strip():
        raise ValueError("name: must not be empty")
    role = Role.get_or_none(Role.name == role_name)
    if role is None:
        names = ", ".join(r.name for r in Role.select().order_by(Role.position))
        raise ValueError(f"role: no role named {role_name!r} (one of: {names})")
    if role.kind == OWNER and User.select().join(Role).where(Role.kind == OWNER).exists():
        raise ValueError("role: there is already a Super Admin; there can be only one")
    if User.select().where(User.email == email).exists():
        raise ValueError(f"email: {email} is already taken")
    if not is_time_zone(time_zone):
        raise ValueError(f"time_zone: {str(time_zone)[:60]!r} is not a known time zone")
    user = User(name=name.strip(), email=email, role=role, time_zone=time_zone)
    if password_hash:
        user.password_hash = password_hash
    elif password:
        user.set_password(password)
    user.save()
    for team in teams:
        TeamMembership.create(user=user, team=team)
    return user

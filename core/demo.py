"""Demo people: one user of every role, more staff for a lively stream, and three teams."""

import functools

from werkzeug.security import generate_password_hash

from core.people import OWNER
from core.people import Role
from core.people import Team
from core.people import User
from core.people import create_user

DEMO_PASSWORD = "demo-password"

# (name, email, role, teams, time zone). The first of each role is the one in the README.
DEMO_PEOPLE = (
    ("Morgan Reyes", "owner@example.com", "Super Admin", ("Leadership",), "Europe/London"),
    ("Avery Chen", "admin@example.com", "Admin", ("Leadership",), "America/New_York"),
    ("Priya Patel", "pm@example.com", "Project Manager", ("Delivery",), "Asia/Kolkata"),
    ("Oscar Nilsson", "office@example.com", "Office Manager", ("Leadership",), "Europe/Stockholm"),
    ("Dana Scully", "teammate@example.com", "Teammate", ("Delivery",), "America/Chicago"),
    ("Sam Okafor", "sales@example.com", "Salesperson", ("Sales",), "Africa/Lagos"),
    ("Frankie Moreau", "freelancer@example.com", "Freelancer", (), "Europe/Paris"),
    ("Claire Dubois", "client@example.com", "Client", (), "Europe/Paris"),
    ("Peter Novak", "prospect@example.com", "Prospect", (), "Europe/Prague"),
    ("Liam Walsh", "lead@example.com", "Lead", (), "Europe/Dublin"),
    ("Fox Mulder", "fox@example.com", "Teammate", ("Delivery",), "America/Chicago"),
    ("Grace Hopper", "grace@example.com", "Project Manager", ("Delivery", "Sales"), "UTC"),
    ("Hiro Tanaka", "hiro@example.com", "Salesperson", ("Sales",), "Asia/Tokyo"),
    ("Ines Garcia", "ines@example.com", "Teammate", ("Sales",), "Europe/Madrid"),
    ("Jonas Berg", "jonas@example.com", "Client", (), "Europe/Oslo"),
    ("Kemi Adeyemi", "kemi@example.com", "Client", (), "Africa/Lagos"),
)

DEMO_TEAMS = (
    ("Leadership", "Owners and managers of the business.", "#7c3aed"),
    ("Delivery", "Runs client projects day to day.", "#0891b2"),
    ("Sales", "Finds and signs new clients.", "#ea580c"),
)


@functools.cache
def demo_password_hash():
    """Return the hash of the demo password, computed once (scrypt is slow on purpose)."""
    return generate_password_hash(DEMO_PASSWORD, method="scrypt")


def seed_people():
    """Create the demo teams and people that are missing; safe to run twice."""
    teams = {}
    for name, description, color in DEMO_TEAMS:
        teams[name], _ = Team.get_or_create(
            name=name, defaults={"description": description, "color": color}
        )
    for name, email, role, team_names, zone in DEMO_PEOPLE:
        if User.select().where(User.email == email).exists():
            continue
        if role == "Super Admin" and User.select().join(Role).where(Role.kind == OWNER).exists():
            continue  # a real install already has its one Super Admin
        create_user(
            name,
            email,
            role,
            password_hash=demo_password_hash(),
            time_zone=zone,
            teams=[teams[team] for team in team_names],
        )
    return teams


def demo_users():
    """Return the demo users by email (for plugins seeding their own history)."""
    emails = [person[1] for person in DEMO_PEOPLE]
    return {user.email: user for user in User.select().where(User.email.in_(emails))}

"""Effective access: whether a Staff Member sees a tab, whatever grants it, and why.

A Staff Member's row in Settings has their personal grants as checkboxes; they may see a tab
through their role or a team as well. Whether they see it is ``core.tabs.visible_tabs``'s
answer, the one decision every page and URL asks (this module never decides it again); the
grants only say why: their role's, their teams', their own.
"""

from dataclasses import dataclass

from flask import g

from core.people import HIDDEN_TEAM
from core.people import Team
from core.people import TeamMembership
from core.people import team_label
from core.tabs import visible_tabs
from plugins.settings.grants import remember_granted


@dataclass(frozen=True)
class Access:
    """What one Staff Member has of one tab: ``sees`` (``visible_tabs``' answer), and the
    grants that give it: ``role`` (the role's name when it is granted the tab), ``teams``
    (the names of their teams granted it, as the viewer may read them), ``in_person``."""

    sees: bool
    role: str | None = None
    teams: tuple = ()
    in_person: bool = False

    @property
    def via(self):
        """Return where access comes from beside the personal grant: "via role Admin",
        "via team Sales", "via role Admin and teams Sales, Support"; "by another rule" when
        the person sees the tab and no grant says why (another plugin's rule); "" else."""
        parts = []
        if self.role:
            parts.append(f"role {self.role}")
        if self.teams == (HIDDEN_TEAM,):
            parts.append(HIDDEN_TEAM)  # names the viewer may not read: one "a team" says it
        elif self.teams:
            parts.append(f"team{'s' if len(self.teams) > 1 else ''} {', '.join(self.teams)}")
        if parts:
            return "via " + " and ".join(parts)
        if self.sees and not self.in_person:
            return "by another rule"
        return ""

    @property
    def refused(self):
        """Tell whether a grant is held but the person does not see the tab all the same
        (another plugin's rule forbids it)."""
        return not self.sees and bool(self.role or self.teams or self.in_person)


def forget_reads():
    """Forget what this request read of grants and visibility: a change was just made, and
    what is shown after it must be read afresh (``granted_tabs`` and ``visible_tabs`` keep
    their reads for the request)."""
    g.pop("granted_tabs", None)
    g.pop("visible_tabs", None)


def effective_access(viewer, people, tabs, grants):
    """Return ``{(person id, tab name): Access}`` for ``people`` (Staff Members) and ``tabs``
    (the configurable ones), as ``viewer`` (an owner or admin: Settings is theirs) may read
    it: team names only if they may see them. ``grants``: ``grants_by_kind()``.

    Whether each person sees each tab is ``visible_tabs(person)``; one query more (the
    people's teams) says why and fills their grants for it."""
    ids = [person.id for person in people]
    memberships = {}
    if ids:
        query = (
            TeamMembership.select(TeamMembership.user, Team.id, Team.name)
            .join(Team)
            .where(TeamMembership.user.in_(ids))
            .order_by(Team.name)
            .tuples()
        )
        for user_id, team_id, name in query:
            memberships.setdefault(user_id, []).append((team_id, name))
    # What each person is granted, from what is read here already (not a query per person).
    remember_granted(
        people, grants, {user: [team for team, _ in rows] for user, rows in memberships.items()}
    )
    found = {}
    for person in people:
        seen = {tab.name for tab in visible_tabs(person)}
        teams = memberships.get(person.id, ())
        for tab in tabs:
            found[(person.id, tab.name)] = Access(
                sees=tab.name in seen,
                role=person.role.name if (tab.name, person.role_id) in grants["role"] else None,
                teams=tuple(
                    dict.fromkeys(
                        team_label(viewer, name)
                        for team_id, name in teams
                        if (tab.name, team_id) in grants["team"]
                    )
                ),
                in_person=(tab.name, person.id) in grants["user"],
            )
    return found

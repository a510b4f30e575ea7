"""What a timeline is made of: its subject (a person, or one object) and its sources, each one
tab's list under that tab's own filters.

A source names a tab, the time of its rows and the filter parameters of that tab which select
the subject's rows, exactly as a person would type them in the tab's URL
(``/stream/activity?object=company:3``). The rows are read only through the tab's ``Feed`` (its
one query function), so each source shows what the tab itself would list to the viewer under
those filters, and nothing of a tab the viewer may not see (``visible``).

- A person: the events they did and those about them (Activity ``actor``, ``object=user:<id>``),
  the messages to and from them (Email ``recipient``, ``sender``) and their sign-ins (Logins
  ``user``).
- An object: its history (Activity ``object=<type>:<id>``) and the messages that name it (Email,
  its label as a quoted phrase: messages keep no reference to an object, only their words).
"""

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from core.search.language import WORD
from core.search.language import Term
from core.tabs import visible_tabs

ACTIVITY, EMAIL, LOGINS = "activity", "email", "logins"


@dataclass(frozen=True)
class Subject:
    """Whose or what timeline it is: ``kind`` ``person`` (``id`` a user id) or an object's
    type and id; ``title`` as the viewer may read it; ``label`` the words messages name it by
    ("" when they are not to be searched for it)."""

    kind: str
    id: str
    title: str
    label: str = ""


@dataclass(frozen=True)
class Source:
    """One tab's list for a subject: ``tab``, the attribute of a row holding its time, and
    ``params(subject)``: the tab's filter parameters selecting the subject's rows (None when
    this source has nothing to give for it)."""

    tab: str
    time: str
    params: Callable

    def filters(self, tab, subject, viewer):
        """Return the filters of ``tab`` (a visible ``Tab``) for ``subject`` as ``viewer`` reads
        them, or None when the source gives nothing: no parameters, or the tab's filter set
        refused one (a refused filter is left out of a tab's list, which here would widen it)."""
        params = self.params(subject)
        if not params:
            return None
        filters = tab.feed.filters.read(MultiDict(params), viewer)
        if filters.refusal or not filters.active():
            return None
        return filters


def phrase(label):
    """Return the Email tab's search for the messages naming ``label``: the label as one quoted
    phrase, or None when it has no word to find (a search without words would list every
    message)."""
    if not WORD.search(label):
        return None
    return Term(value=label, phrase=True).text()


def _message_search(subject):
    search = phrase(subject.label) if subject.label else None
    return {"q": search} if search else None


PERSON = (
    Source(ACTIVITY, "occurred_at", lambda s: {"actor": s.id}),
    Source(ACTIVITY, "occurred_at", lambda s: {"object": f"user:{s.id}"}),
    Source(EMAIL, "queued_at", lambda s: {"recipient": s.id}),
    Source(EMAIL, "queued_at", lambda s: {"sender": s.id}),
    Source(LOGINS, "attempted_at", lambda s: {"user": s.id}),
)
OBJECT = (
    Source(ACTIVITY, "occurred_at", lambda s: {"object": f"{s.kind}:{s.id}"}),
    Source(EMAIL, "queued_at", _message_search),
)


def sources_of(subject):
    """Return the sources of ``subject``'s timeline, in a fixed order (the cursor's)."""
    return PERSON if subject.kind == "person" else OBJECT


def visible(viewer):
    """Return ``{tab name: Tab}`` of the list tabs ``viewer`` may see (deny by default: a tab
    the viewer may not see, or one that is not a list, gives nothing)."""
    return {tab.name: tab for tab in visible_tabs(viewer) if tab.feed is not None}

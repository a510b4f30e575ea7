"""Reads of a list tab recorded as access events (``core.events.reads``): a search for one
person on any tab's page, and a list or record read over the API.

Each is recorded at most once an hour per reader, tab and query: the rows fragments of one
scrolled list, or the pages of one API walk, make one record. Exports are recorded by
``core.listing.export`` every time, since each is a file leaving the platform.
"""

from core.events import Ref
from core.events.reads import record_access
from core.listing.export import recorded_query
from core.listing.filters import Person


def people_searched(filters):
    """Return the ids of the people ``filters`` search for: those a person qualifier names
    (``actor:``, ``from:``, ``user:``…), and anyone whose whole name or email the free words
    are (``Dana Scully``, ``"dana@example.com"``)."""
    found = []
    for qualifier in filters.filter_set.qualifiers:
        if isinstance(qualifier, Person):
            found += filters.values[qualifier.key]
    included = [term.value for term in filters.words if not term.negated]
    for value in [" ".join(included), *included] if included else []:
        found += filters.people.exactly(value)
    return sorted(set(found))


def record_person_search(feed, viewer, filters):
    """Record that ``viewer`` searched ``feed``'s tab for one or more people (``tab.searched``,
    once an hour per query); nothing when ``filters`` name no one."""
    if not people_searched(filters):
        return None
    query = recorded_query(feed, filters)
    return record_access(
        viewer,
        "tab.searched",
        Ref("tab", feed.name, feed.label),
        changes={"query": [None, query]},
        summary=f"for {query}",  # the row reads "… searched Tab “Logins”: for user:dana"
    )


def record_api_read(feed, reader, filters=None, record_id=None):
    """Record that ``reader`` read ``feed``'s tab over the API (``tab.read``, once an hour per
    query or record): a list under ``filters``, or the record ``record_id``."""
    if record_id is not None:
        changes, summary = {"record": [None, record_id]}, f"record #{record_id} through the API"
    else:
        query = recorded_query(feed, filters)
        changes = {"query": [None, query]}
        summary = "through the API, " + (f"filtered by {query}" if query else "unfiltered")
    return record_access(
        reader, "tab.read", Ref("tab", feed.name, feed.label), changes=changes, summary=summary
    )

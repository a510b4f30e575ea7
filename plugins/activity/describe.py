"""Rows as sentences: "Dana Scully edited Task “Q3 report”"."""

import functools

from flask import current_app
from markupsafe import Markup
from markupsafe import escape

from core.events.changes import as_words
from core.inputs import is_id
from core.plugins import hooks
from core.templating import actor_markup

PHRASES = {
    "created": "created",
    "updated": "edited",
    "deleted": "deleted",
    "commented": "commented on",
    "shared": "shared",
    "unshared": "stopped sharing",
    "assigned": "assigned",
    "completed": "completed",
    "restored": "restored",
    "viewed": "viewed",
    "exported": "exported",
    "pruned": "pruned",
}


# A filter names an action as the rows do ("edited"); the URL accepts either name.
ACTIONS_BY_PHRASE = {phrase: action for action, phrase in PHRASES.items()}


def action_phrase(action):
    """Return how rows name ``action``: ``updated`` → ``edited``."""
    return PHRASES.get(action, action.replace("_", " "))


def object_links(events):
    """Return ``{(type, id): url}`` for the objects of ``events`` that still exist (one call)."""
    refs = {(event.object_type, event.object_id) for event in events}
    refs |= {(event.target_type, event.target_id) for event in events if event.target_type}
    links = {}
    for answer in hooks(current_app).object_urls(refs=refs):
        links.update(answer or {})
    return links


def named_people(events):
    """Return ``events`` with each person recorded by their email (an unlock names the account
    it unlocked) read by their name: the label is the name, and the email in the summary reads
    "Sam Okafor (sam@…)", so a sentence phrased from either (the Logins plugin phrases an
    unlock from its summary) names the person. One read for the page, at display time: the
    record keeps what it recorded. A person no longer there keeps the email."""
    wanted = {
        int(object_id)
        for event in events
        for _place, object_id, label in _people(event)
        if "@" in (label or "") and is_id(object_id)
    }
    if not wanted:
        return events
    from core.people import User  # the event store's readers import this module early

    names = dict(User.select(User.id, User.name).where(User.id.in_(wanted)).tuples())
    return [_renamed(event, names) for event in events]


def _people(event):
    """Return the ``(type, id, label)`` of the people ``event`` names (object, target)."""
    refs = [("object", event.object_id, event.object_label)] if event.object_type == "user" else []
    if event.target_type == "user":
        refs.append(("target", event.target_id, event.target_label))
    return refs


def _renamed(event, names):
    """Return ``event`` (a row, or a model copied) with its people's emails read as names."""
    labels, summary = {}, event.summary or ""
    for place, object_id, label in _people(event):
        if "@" in (label or "") and is_id(object_id) and int(object_id) in names:
            name = names[int(object_id)]
            labels[f"{place}_label"] = name
            # The exact email the record holds, nothing guessed: "account Sam Okafor (sam@…)".
            summary = (
                summary.replace(label, f"{name} ({label})") if name not in summary else summary
            )
    if not labels:
        return event
    labels["summary"] = summary
    if hasattr(event, "_replace"):
        return event._replace(**labels)
    return type(event)(**{**event.__data__, **labels})  # a copy: the record stays


def describe_all(events, links, viewer):
    """Return ``{event id: sentence}`` for ``events`` as ``viewer`` reads them (the plugins'
    phrasings looked up once for the page)."""
    phrasers = plugin_phrasers()
    return {event.id: describe(event, links, viewer, phrasers) for event in events}


def plugin_phrasers():
    """Return the plugins' ``describe_event`` functions in the order pluggy asks them (the
    last registered first). Called directly, row after row: pluggy's own call costs ~20 µs a
    row, a third of a page's wording. A wrapper needs pluggy itself: then one caller of it."""
    caller = hooks(current_app).describe_event
    impls = caller.get_hookimpls()
    if any(impl.hookwrapper or impl.wrapper for impl in impls):
        return [lambda event, viewer: caller(event=event, viewer=viewer)]
    return [_called_as_pluggy_would(impl) for impl in reversed(impls)]


def _called_as_pluggy_would(impl):
    """Return ``phrase(event, viewer)`` calling ``impl`` with the arguments it names, as pluggy
    does (an implementation may take ``event`` alone)."""
    function, names = impl.function, impl.argnames
    if names == ("event", "viewer"):
        return function
    return lambda event, viewer: function(
        *[{"event": event, "viewer": viewer}[name] for name in names]
    )


def describe(event, links, viewer, phrasers=None):
    """Return the sentence for ``event`` as ``viewer`` reads it (the rows' viewer, who is not
    the signed-in one in "Preview as…"): the first plugin's phrasing (``phrasers``, from
    ``plugin_phrasers``), else the default one."""
    for phrase_of in plugin_phrasers() if phrasers is None else phrasers:
        custom = phrase_of(event, viewer)
        if custom is not None:
            # Only a Markup answer is trusted as HTML; a plain string is text.
            return custom if isinstance(custom, Markup) else escape(custom)
    label = _linked(event.object_label, links.get((event.object_type, event.object_id)))
    # Plain concatenation of escaped parts: this runs for every row of every page.
    sentence = f"{actor_markup(event)} {_doing(event.action, event.object_type)} “{label}”"
    if event.target_type:
        target = _linked(event.target_label, links.get((event.target_type, event.target_id)))
        sentence += f" on {_target_kind(event.target_type)} “{target}”"
    return Markup(sentence)


# Each action and type of a page is worded and escaped once, not once a row.
@functools.lru_cache(maxsize=1024)
def _doing(action, object_type):
    """Return what was done to what, escaped: "edited Task"."""
    return f"{escape(action_phrase(action))} {escape(as_words(object_type))}"


@functools.lru_cache(maxsize=1024)
def _target_kind(target_type):
    """Return a target's type as a sentence names it, escaped: "company"."""
    return escape(target_type.replace("_", " "))


def _linked(label, url):
    if url:
        return f'<a href="{escape(url)}">{escape(label)}</a>'
    return escape(label)

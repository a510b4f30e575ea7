"""An event's change set as the Activity tab shows it: the line under a row's sentence and the
detail view's Before/After table.

Both are rendered from the recorded ``changes`` when they are shown: a record is sealed and
never rewritten, so how it reads can improve without touching it. A row whose stored summary
is not the one ``core.events.changes.summarize`` writes (a recorder's own words) keeps it.
Each field reads as the platform declared it (``plugins.activity.fields``); a long text shows
the words that changed (``plugins.activity.wording``).
"""

from markupsafe import Markup
from markupsafe import escape

from core.events.changes import MASK
from core.events.changes import summarize
from plugins.activity.fields import declared
from plugins.activity.fields import field_of
from plugins.activity.fields import shown
from plugins.activity.wording import ADDED
from plugins.activity.wording import ELLIPSIS
from plugins.activity.wording import MOST_WORDS
from plugins.activity.wording import REMOVED
from plugins.activity.wording import excerpt
from plugins.activity.wording import marked
from plugins.activity.wording import tokens

LONG = 60  # characters: a longer text is compared word by word (``summarize`` cut it here)
MOST_FIELDS = 6  # fields a row names; the others are counted ("and 2 more")
ARROW = Markup(" → ")
EMPTY = (None, "", [])


def summarized(summary, changes):
    """Tell whether ``summary`` is the one the recorder wrote from ``changes`` itself (its
    fields maybe in another order: the stored change set has its keys sorted)."""
    if not changes or not summary:
        return False
    written = summarize(changes)
    return summary == written or sorted(summary.split("; ")) == sorted(written.split("; "))


def is_text(declaration, old, new):
    """Tell whether a change is compared word by word: a field declared ``text``, or an
    undeclared one holding a long or multi-line text."""
    if declaration.kind or declaration.choices:
        return declaration.kind == "text"
    return any(isinstance(v, str) and (len(v) > LONG or "\n" in v) for v in (old, new))


def row_line(object_type, changes, zone):
    """Return the line under a row's sentence for ``changes`` (``{field: [old, new]}``, as
    the viewer may read them) of an object of ``object_type``, in ``zone`` (``Markup``)."""
    fields = declared().get(object_type, {})
    parts = [_part(field_of(fields, name), old, new, zone) for name, (old, new) in changes.items()]
    if len(parts) > MOST_FIELDS:
        more = len(parts) - MOST_FIELDS + 1
        parts = [*parts[: MOST_FIELDS - 1], escape(f"and {more} more fields")]
    # Escaped parts (each ``Markup``) joined as plain text, then marked safe once, here as in
    # ``_part``: ``Markup + Markup`` escapes and copies at every step, several times a field.
    return Markup("; ".join(parts))


def _part(declaration, old, new, zone):
    """Return one field's part of a row's line: "Status: Open → Done"."""
    label = escape(declaration.label)
    if old == MASK:
        return Markup(f"{label} changed")
    if isinstance(old, list) or isinstance(new, list):
        if old in EMPTY or new in EMPTY:
            return _pair(label, declaration, old, new, zone)
        return Markup(f"{label}: {_moves(declaration, old, new, zone)}")
    if is_text(declaration, old, new):
        if old in EMPTY:
            return Markup(f"{label}: {_first_words(new)}")
        return Markup(f"{label}: {excerpt(old, new)}")
    return _pair(label, declaration, old, new, zone)


def _pair(label, declaration, old, new, zone):
    if old in EMPTY:
        return Markup(f"{label}: {_safe(shown(declaration, new, zone))}")
    before, after = _safe(shown(declaration, old, zone)), _safe(shown(declaration, new, zone))
    return Markup(f"{label}: {before}{ARROW}{after}")


def _safe(text):
    """Return ``text`` escaped unless it is ``Markup`` already (``shown`` answers "none", a
    plain string, for an empty list)."""
    return text if isinstance(text, Markup) else escape(text)


def _first_words(text):
    """Return the first words of a text filled in (no change to mark: it was empty)."""
    words = tokens(text)
    if len(words) <= MOST_WORDS:
        return escape(str(text).strip())
    return escape("".join(words[:MOST_WORDS]).rstrip() + " " + ELLIPSIS)


def _moves(declaration, old, new, zone):
    """Return who or what joined and left a list: each added item marked, then each removed."""
    added = [item for item in new if item not in old]
    removed = [item for item in old if item not in new]
    marks = [ADDED.format(shown(declaration, item, zone)) for item in added]
    marks += [REMOVED.format(shown(declaration, item, zone)) for item in removed]
    return Markup(", ").join(marks) or Markup("reordered")


def detail_rows(object_type, changes, zone):
    """Return the detail view's rows for ``changes``: ``(label, before, after, words)`` with
    both cells as ``Markup``; ``words`` tells a text compared word by word (shown as typed,
    its removed words marked before, its added words after)."""
    fields = declared().get(object_type, {})
    rows = []
    for name, (old, new) in changes.items():
        declaration = field_of(fields, name)
        label = declaration.label
        if old == MASK:
            rows.append((label, escape(old), escape(new), False))
        elif isinstance(old, list) and isinstance(new, list) and old and new:
            rows.append((label, *_list_cells(declaration, old, new, zone), False))
        elif is_text(declaration, old, new) and old not in EMPTY and new not in EMPTY:
            rows.append((label, *marked(old, new), True))
        else:
            words = is_text(declaration, old, new)
            cells = (shown(declaration, old, zone), shown(declaration, new, zone))
            rows.append((label, *cells, words))
    return rows


def _list_cells(declaration, old, new, zone):
    """Return a list's Before (removed items marked) and After (added items marked)."""

    def cell(items, others, mark):
        words = [(shown(declaration, item, zone), item in others) for item in items]
        parts = [text if kept else mark.format(text) for text, kept in words]
        return Markup(", ").join(parts) or Markup("none")

    return cell(old, new, REMOVED), cell(new, old, ADDED)

"""Word-level differences between two texts, marked for people and for screen readers.

Words are compared with ``difflib`` (whitespace kept for display, never compared). Removed
words are wrapped in ``<del>``, added ones in ``<ins>``, each starting with visually hidden
"removed:" / "added:" so a screen reader says which is which. ``marked`` gives both sides in
full (the detail view's Before and After); ``excerpt`` gives only the changed words with a
few words of context either side (a row).
"""

import re
from difflib import SequenceMatcher

from markupsafe import Markup
from markupsafe import escape

# A word, or a run of punctuation, with the whitespace after it: "sending." → "sending it
# out." adds two words rather than replacing one.
TOKEN = re.compile(r"\w+\s*|[^\w\s]+\s*")
CONTEXT = 3  # words of context either side of a change in a row
MOST_HUNKS = 3  # changes shown in a row; more read "…"
MOST_WORDS = 12  # words of one removed or added run shown in a row
# Past this many differing words in the middle (after the common start and end are set aside,
# a linear step), the middle is compared as one replacement: difflib's time grows with the
# product of both sides, and a row is rendered for every page.
MOST_COMPARED = 2000
# A row shows at most three short runs: its word diff stops sooner (a longer middle reads as
# one replacement there; Details compares up to MOST_COMPARED).
MOST_COMPARED_IN_ROW = 300
ELLIPSIS = "…"
REMOVED = Markup('<del><span class="sr-only">removed: </span>{}</del>')
ADDED = Markup('<ins><span class="sr-only">added: </span>{}</ins>')


def tokens(text):
    """Return ``text`` (leading whitespace aside) as words and punctuation, each with the
    whitespace after it."""
    return TOKEN.findall(str(text or ""))


def opcodes(old, new, most=MOST_COMPARED):
    """Return difflib's opcodes between the token lists ``old`` and ``new``, words compared
    without their whitespace; a differing middle of more than ``most`` words is one
    replacement."""
    a, b = [t.strip() for t in old], [t.strip() for t in new]
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    if len(middle_a) + len(middle_b) > most:
        middle = [("replace", 0, len(middle_a), 0, len(middle_b))] if middle_a or middle_b else []
    else:
        middle = SequenceMatcher(None, middle_a, middle_b, autojunk=False).get_opcodes()
    codes = [("equal", 0, start, 0, start)] if start else []
    for tag, i1, i2, j1, j2 in middle:
        codes.append((tag, i1 + start, i2 + start, j1 + start, j2 + start))
    if end:
        codes.append(("equal", len(a) - end, len(a), len(b) - end, len(b)))
    codes = _merged(_slid(_merged(codes), a, b))
    if _rewritten(codes, a, b):
        return [("replace", 0, len(a), 0, len(b))]
    return codes


def _slid(codes, a, b):
    """Return ``codes`` with each lone insertion or deletion moved as far on as it reads the
    same, so it ends where a sentence does: "signature. <ins>Second line.</ins>", not
    "signature<ins>. Second line</ins>."."""
    codes = [list(code) for code in codes]
    k = 0
    while k < len(codes):
        code = codes[k]
        following = codes[k + 1] if k + 1 < len(codes) else None
        if code[0] in ("insert", "delete") and following and following[0] == "equal":
            if k == 0 or codes[k - 1][0] != "equal":
                codes.insert(k, ["equal", code[1], code[1], code[3], code[3]])
                k += 1
            before = codes[k - 1]
            words, at = (b, 3) if code[0] == "insert" else (a, 1)
            while following[1] < following[2] and words[code[at]] == words[following[at]]:
                before[2], before[4] = before[2] + 1, before[4] + 1
                code[1:] = [value + 1 for value in code[1:]]
                following[1], following[3] = following[1] + 1, following[3] + 1
        k += 1
    return [tuple(code) for code in codes]


def _rewritten(codes, a, b):
    """Tell whether ``codes`` compare two different texts rather than one edited: several
    changes around a few shared words (under 40 % of the shorter text), which read best as
    one replacement."""
    changes = sum(1 for code in codes if code[0] != "equal")
    shared = sum(code[2] - code[1] for code in codes if code[0] == "equal")
    return changes > 1 and shared < 0.4 * min(len(a), len(b))


def _merged(codes):
    """Return ``codes`` with neighbouring opcodes of one tag joined."""
    merged = []
    for code in codes:
        if code[1:] == (code[2], code[2], code[4], code[4]):
            continue  # empty
        if merged and merged[-1][0] == code[0]:
            tag, i1, _, j1, _ = merged[-1]
            merged[-1] = (tag, i1, code[2], j1, code[4])
        else:
            merged.append(code)
    return merged


def marked(old, new):
    """Return ``(before, after)``: the whole of ``old`` with its removed words marked, the
    whole of ``new`` with its added words marked (``Markup``)."""
    a, b = tokens(old), tokens(new)
    # Leading whitespace is kept as it was, never marked.
    before, after = [escape(_lead(old))], [escape(_lead(new))]
    for tag, i1, i2, j1, j2 in opcodes(a, b):
        if tag == "equal":
            before.append(escape("".join(a[i1:i2])))
            after.append(escape("".join(b[j1:j2])))
            continue
        if i2 > i1:
            before.append(_run(REMOVED, a[i1:i2]))
        if j2 > j1:
            after.append(_run(ADDED, b[j1:j2]))
    return Markup("").join(before), Markup("").join(after)


def _lead(text):
    text = str(text or "")
    return text[: len(text) - len(text.lstrip())]


def _run(mark, words, most=None):
    """Return ``words`` inside ``mark``, their last whitespace outside it; at most ``most``
    words (then "…")."""
    shown = words if most is None or len(words) <= most else [*words[:most], ELLIPSIS + " "]
    text = "".join(shown)
    core = text.rstrip()
    return mark.format(core) + escape(text[len(core) :])


def excerpt(old, new, context=CONTEXT):
    """Return the changed words of ``old`` → ``new`` with ``context`` words either side, in
    reading order (removed then added), the rest elided: "… and <del>draft</del>
    <ins>revised</ins> plan …" (``Markup``)."""
    a, b = tokens(old), tokens(new)
    codes = opcodes(a, b, most=MOST_COMPARED_IN_ROW)
    changed = [n for n, code in enumerate(codes) if code[0] != "equal"]
    if not changed:
        return Markup("")
    first, last = changed[0], changed[:MOST_HUNKS][-1]
    parts = []
    if first > 0:
        parts.append(_before(b[codes[first - 1][3] : codes[first - 1][4]], context))
    for tag, i1, i2, j1, j2 in codes[first : last + 1]:
        if tag == "equal":  # between two changes shown
            parts.append(_between(b[j1:j2], context))
            continue
        if i2 > i1:
            parts.append(_run(REMOVED, a[i1:i2], MOST_WORDS))
            if j2 > j1 and not parts[-1][-1:].isspace():
                parts.append(Markup(" "))  # "<del>Revi</del> <ins>Revised</ins>"
        if j2 > j1:
            parts.append(_run(ADDED, b[j1:j2], MOST_WORDS))
    more = last != changed[-1]
    if last + 1 < len(codes):
        parts.append(_after(b[codes[last + 1][3] : codes[last + 1][4]], context, more))
    elif more:
        parts.append(Markup(" " + ELLIPSIS))
    return Markup("").join(parts).strip()


def _before(words, context):
    """Return the ``context`` words before the first change ("… " first when more came)."""
    if len(words) <= context:
        return escape("".join(words))
    return escape(ELLIPSIS + " " + "".join(words[-context:]))


def _between(words, context):
    """Return the words between two changes: all of them, or ``context`` either side."""
    if len(words) <= 2 * context:
        return escape("".join(words))
    return escape("".join(words[:context]) + ELLIPSIS + " " + "".join(words[-context:]))


def _after(words, context, more):
    """Return the ``context`` words after the last change shown (" …" after them when more
    follow)."""
    if len(words) <= context and not more:
        return escape("".join(words))
    return escape("".join(words[:context]).rstrip() + " " + ELLIPSIS)

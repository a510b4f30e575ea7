"""Free words checked on one row's text, as the full-text index would find them.

The rows a deferred index has not taken in yet (``TextIndex``, ``follows``) are searched row by
row with this, as the SQL function ``words_match``: a search never misses a record because its
index entry is still to be written. It cuts words as the index and the query do
(``words_of``: lower case, runs of letters and digits) and reads terms as FTS5 does: a phrase is
its words in a row within one column, and a word typed without quotes also finds the words it
begins (``budg`` finds ``budget``; for several words, the last one).
"""

import json
import re
from functools import lru_cache

WORD = re.compile(r"[^\W_]+")

# The SQL function's name, registered on every SQLite connection (``core.db``).
FUNCTION = "words_match"


def words_of(text):
    """Return the words of ``text`` as the index holds them: lower case, letters and digits."""
    return WORD.findall(text.lower())


def spec_of(wanted, unwanted):
    """Return the JSON text ``words_match`` reads: the terms a row must all hold (``wanted``)
    and those it must hold none of (``unwanted``), each ``(words, prefix)``."""
    return json.dumps([[[w, p] for w, p in wanted], [[w, p] for w, p in unwanted]])


@lru_cache(maxsize=256)
def _terms(spec):
    wanted, unwanted = json.loads(spec)
    return [(tuple(w), p) for w, p in wanted], [(tuple(w), p) for w, p in unwanted]


def words_match(spec, *texts):
    """Return 1 when the columns ``texts`` hold every wanted term of ``spec`` and no unwanted
    one, else 0 (a missing column holds no word)."""
    wanted, unwanted = _terms(spec)
    columns = [words_of(text) for text in texts if text]
    if not all(_holds(columns, words, prefix) for words, prefix in wanted):
        return 0
    return 0 if any(_holds(columns, words, prefix) for words, prefix in unwanted) else 1


def _holds(columns, words, prefix):
    """Tell whether one column has ``words`` in a row (the last one as a prefix)."""
    count = len(words)
    last = words[-1]
    for found in columns:
        for start in range(len(found) - count + 1):
            if tuple(found[start : start + count - 1]) != words[:-1]:
                continue
            word = found[start + count - 1]
            if word == last or (prefix and word.startswith(last)):
                return True
    return False

"""Who a typed name means: a person qualifier's value matched against the platform's people."""


class PeopleNamed:
    """Answers "who does this person qualifier name?" for one query: the platform's people
    are read once, on the first such term, whichever qualifier (``actor:``, ``from:``…)."""

    def __init__(self):
        self._people = None

    def ids(self, filters, term):
        """Return the ids of the people ``term``'s value names. When it names no one and
        is not an exclusion, ``filters`` becomes empty (``nothing``) with a hint."""
        found = matching_names(term.value, self._read())
        if not found and not term.negated:
            filters.nothing = True
            filters.hints.append(f"No one is named “{term.value}”.")
        return found

    def _read(self):
        if self._people is None:
            from core.people import User

            self._people = list(User.select(User.id, User.name, User.email).tuples())
        return self._people

    def exactly(self, value):
        """Return the ids of the people whose whole name or email is ``value`` (any case)."""
        wanted = value.casefold().strip()
        return [row[0] for row in self._read() if wanted in (row[1].casefold(), row[2].casefold())]


def matching_names(value, named):
    """Return the ids of ``named`` (``(id, name, *aliases)`` rows) that ``value`` names.

    A whole name (any case) names exactly the rows of that name, as the filter bar writes
    them; otherwise a name does when one of its words starts with ``value`` (``dana`` finds
    Dana Scully, ``scu`` too), and an alias (an email) only when it equals ``value``.
    """
    wanted = value.casefold().strip()
    exact = [row[0] for row in named if row[1].casefold() == wanted]
    if exact:
        return exact
    found = []
    for row in named:
        words = row[1].casefold().split()
        if any(" ".join(words[i:]).startswith(wanted) for i in range(len(words))) or any(
            alias and alias.casefold() == wanted for alias in row[2:]
        ):
            found.append(row[0])
    return found

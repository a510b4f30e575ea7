"""The search language (``core.search.language``): a table of queries and what they mean, and
any string either read or refused with a message naming its qualifier, never an exception or a
500."""

from datetime import date

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from core.search.index import words_of
from core.search.language import MAX_QUERY
from core.search.language import MAX_TERMS
from core.search.language import Term
from core.search.language import created_range
from core.search.language import days_of
from core.search.language import parse
from core.search.names import matching_names

KEYS = ("actor", "action", "type", "object", "team", "created")


def A(value, negated=False):
    return Term("actor", value, negated)


def W(value, negated=False, phrase=False):
    return Term("", value, negated, phrase)


# query → (terms, the key named by the refusal or None)
TABLE = [
    ("", [], None),
    ("   ", [], None),
    ("acme", [W("acme")], None),
    ("Acme Corp", [W("Acme"), W("Corp")], None),
    ('"q3 report"', [W("q3 report", phrase=True)], None),
    ('"q3 report" acm', [W("q3 report", phrase=True), W("acm")], None),
    ("actor:dana", [A("dana")], None),
    ("ACTOR:dana", [A("dana")], None),
    ('actor:"Dana Scully"', [A("Dana Scully")], None),
    ('actor:"Dana \\"D\\" Scully"', [A('Dana "D" Scully')], None),
    ("actor:dana actor:fox", [A("dana"), A("fox")], None),
    ("-actor:dana", [A("dana", True)], None),
    ("-secret", [W("secret", True)], None),
    ('-"top secret"', [W("top secret", True, True)], None),
    ("- lone dash", [W("lone"), W("dash")], None),
    ("actor:dana deleted", [A("dana"), W("deleted")], None),
    (
        "actor:dana action:deleted created:>2026-11-01",
        [A("dana"), Term("action", "deleted"), Term("created", ">2026-11-01")],
        None,
    ),
    ("created:2026-11-01..2026-11-30", [Term("created", "2026-11-01..2026-11-30")], None),
    ("created:2026-11-01..*", [Term("created", "2026-11-01..*")], None),
    ("created:*..2026-11-30", [Term("created", "*..2026-11-30")], None),
    ("created:<=2026-11-30", [Term("created", "<=2026-11-30")], None),
    ("created:<2026-11-30", [Term("created", "<2026-11-30")], None),
    ("created:>=2026-11-01", [Term("created", ">=2026-11-01")], None),
    ("created:2026-11-31", [], "created"),
    ("created:yesterday", [], "created"),
    ("created:2026-11-30..2026-11-01", [], "created"),
    ("-created:2026-11-01", [], "created"),
    ("created:>", [], "created"),
    ("colour:red", [], "colour"),
    ("colour:red acme", [W("acme")], "colour"),
    ("actor:", [], "actor"),
    ('actor:""', [], "actor"),
    ("actor: dana", [W("dana")], "actor"),
    ("Re: hello", [W("re:"), W("hello")], None),
    ("10:30 meeting", [W("10:30"), W("meeting")], None),
    ('"unclosed phrase', [W("unclosed phrase", phrase=True)], None),
    ('actor:"unclosed', [A("unclosed")], None),
    ('""', [], None),
    ("Zoë Ünal 東京", [W("Zoë"), W("Ünal"), W("東京")], None),
    ('actor:"Zoë Ünal"', [A("Zoë Ünal")], None),
    (
        "'; DROP TABLE activity_event; --",
        [W("';"), W("DROP"), W("TABLE"), W("activity_event;"), W("-", True)],
        None,
    ),
    ("x' OR '1'='1", [W("x'"), W("OR"), W("'1'='1")], None),
    (
        '"a" OR "b" NEAR(c d) *',
        [W("a", phrase=True), W("OR"), W("b", phrase=True), W("NEAR(c"), W("d)"), W("*")],
        None,
    ),
    ("nul\x00byte", [W("nul"), W("byte")], None),
    ("tab\tand\nnewline", [W("tab"), W("and"), W("newline")], None),
    ("object:task:12", [Term("object", "task:12")], None),
    ("type:task -type:document", [Term("type", "task"), Term("type", "document", True)], None),
    ("team:Sales", [Term("team", "Sales")], None),
    ("actor:dana\u00a0deleted", [A("dana"), W("deleted")], None),  # a no-break space separates
]


@pytest.mark.parametrize(("query", "terms", "refused"), TABLE, ids=[q[:30] for q, _, _ in TABLE])
def test_each_query_reads_as_its_terms(query, terms, refused):
    search = parse(query, KEYS)
    assert search.terms == terms
    assert search.error_key == refused
    if refused:
        assert search.error.startswith(f"{refused}: ")


def test_the_table_has_at_least_forty_queries():
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("query", "terms", "refused"), TABLE, ids=[q[:30] for q, _, _ in TABLE])
def test_the_text_of_a_search_reads_back_as_the_same_search(query, terms, refused):
    search = parse(query, KEYS)
    assert meaning(parse(search.text(), KEYS)) == meaning(search)


def meaning(search):
    """Return what a search asks for (a word that must be quoted to be written reads back as
    a phrase of the same words)."""
    return [(t.key, t.value, t.negated) for t in search.terms]


def test_ten_thousand_characters_are_cut_and_said_so():
    search = parse("acme " * 2000, KEYS)
    assert search.error_key == "q" and "10,000 characters" in search.error
    assert len(search.terms) == MAX_TERMS
    assert len(search.text()) <= MAX_QUERY


def test_a_day_range_is_read_in_days_and_intersected():
    assert created_range(Term("created", ">2026-11-01")) == (date(2026, 11, 2), None)
    assert created_range(Term("created", "<2026-11-01")) == (None, date(2026, 10, 31))
    assert created_range(Term("created", "2026-11-05")) == (date(2026, 11, 5),) * 2
    both = parse("created:>=2026-11-01 created:<=2026-11-30 created:2026-11-10..*", KEYS)
    assert days_of(both) == (date(2026, 11, 10), date(2026, 11, 30))
    assert days_of(both, date_to=date(2026, 11, 20)) == (date(2026, 11, 10), date(2026, 11, 20))


def test_a_name_names_its_whole_name_or_the_names_with_a_word_starting_so():
    people = [
        (1, "Dana Scully", "dana@example.com"),
        (2, "Fox Mulder", "fox@example.com"),
        (3, "Dana Scully-Mulder", "dsm@example.com"),
        (4, "Ada", "ada@example.com"),
    ]
    assert matching_names("dana scully", people) == [1]  # a whole name: only that name
    assert matching_names("dana", people) == [1, 3]
    assert matching_names("mul", people) == [2]  # "Scully-Mulder" is one word
    assert matching_names("fox@example.com", people) == [2]
    assert matching_names("ada", people) == [4]  # not Dana: a word starts with it
    assert matching_names("nobody", people) == []


def test_words_are_cut_as_both_indexes_cut_them():
    assert words_of("Dana's due_date: 2026-11-01, Zoë") == [
        "dana",
        "s",
        "due",
        "date",
        "2026",
        "11",
        "01",
        "zoë",
    ]


def assert_names_its_qualifier(search, text):
    """Assert a refusal names what it refuses: one of the tab's qualifiers, ``q`` (the whole
    search), or a qualifier the tab does not have, typed as ``key:`` and refused as such."""
    key = search.error_key
    assert search.error.startswith(f"{key}: "), (key, search.error)
    if key in (*KEYS, "q"):
        return
    assert key.isascii() and key.isalpha() and f"{key}:" in text.lower(), (key, text)
    listed = ", ".join(f"{known}:" for known in KEYS)
    assert search.error == f"{key}: not a filter here; use {listed}"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
@example("Re: hello")  # an unknown key with no value is a word, not a refusal
@example("colour:red")
@example("actor:")
@example("created:2026-13-45")
def test_any_string_is_read_or_refused_by_name_never_raised(text):
    search = parse(text, KEYS)
    assert len(search.terms) <= MAX_TERMS
    assert (search.error is None) == (search.error_key is None)
    if search.error:
        assert_names_its_qualifier(search, text)
    assert meaning(parse(search.text(), KEYS)) == meaning(search)

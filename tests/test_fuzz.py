"""Every endpoint, every parameter and form field, nasty values: never a 500.

The endpoints come from the app's URL map: every rule and method, plugin tabs' routes
included, whatever plugins are installed. The field names come from what the app itself
offers and reads: the ``<input>``, ``<select>`` and ``<textarea>`` of every page it renders
(with the values they offer), the names its code reads from a query string or a form
(``request.args.get("q")``, ``args.getlist("actor")``…, found in the source) and each tab's
filter keys. Most fields of a request keep a value the page offers and a few get nasty ones
(huge, 5,000-character words, control characters, unicode, numbers out of range, ``../``,
path-like zone names, repeated keys, empty), so the fuzzed ones reach their own checks.

Two passes. The sweep gives each field of each form, in turn, the sharp values every field
must survive (``sharp_values``: among them the two that once made 500s, a folder of the zone
data as a time zone and a search that quoting makes longer than the limit), as the Super
Admin. Then every rule and method is fuzzed as each role (Super Admin, Admin, Teammate,
Client, signed out): paths with ids 0, -1, 2**63, huge; the fields the view reads.

The API's rules (``/api/v1``), where a session cookie gives nothing, are fuzzed besides with
a token of each scope (``read``, ``events:write``) of the Super Admin: a POST's body is a
JSON object of the fields the API's OpenAPI document describes, a GET takes the tabs' filter
keys; each API GET with arguments is also swept with the read token on each tab (id 1), each
name its view reads and the tab's filter keys given each sharp value in turn.

Each request carries the session's valid CSRF token (a token holder: its token alone), and a
POST must not meet the CSRF refusal: the fuzz reaches the views. Hypothesis draws the values
derandomized (the same run on every machine), a few examples each keep the run bounded.
Every 500 is collected with its request and traceback, and the test fails listing them all.
"""

import ast
import functools
import inspect
import logging
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.security import generate_password_hash

from core.db import database
from core.plugins import hooks
from tests.conftest import PASSWORD
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.examples import workspace
from tests.examples import workspace_installed

ROOT = Path(__file__).resolve().parent.parent
ROLES = {
    "owner": "owner@example.com",
    "admin": "admin@example.com",
    "teammate": "teammate@example.com",
    "client": "client@example.com",
    "signed out": None,
}
# Examples per endpoint and method, by role: a Client or a signed-out visitor is refused early
# almost everywhere, so fewer of theirs find anything new.
EXAMPLES = {"owner": 4, "admin": 3, "teammate": 3, "client": 2, "signed out": 1}
# The API authenticates by token only: its rules are also fuzzed as these token holders.
API_PREFIX = "/api/v1/"
TOKEN_ROLES = {
    "owner's read token": ("owner@example.com", "read"),
    "owner's events:write token": ("owner@example.com", "events:write"),
}
EXAMPLES.update(dict.fromkeys(TOKEN_ROLES, 4))
FORM_EXAMPLES = 2  # times as many for the owner where a page offers a form
# Fuzzed requests come from another address than the roles' sign-ins, so the sign-in
# throttle the fuzz may trip (failed /login posts) never locks the roles' own sign-ins out.
FUZZ_ADDRESS = "198.51.100.23"
CSRF_REFUSAL = "This form has expired or did not come from this site"
CSRF_FIELD = "csrf_token"
# Query parameters any page might read, beyond those found in the source and the forms.
COMMON_PARAMETERS = ("q", "after", "since", "object", "next", "tab", "page", "from", "to")

WORD = "w" * 5000
NASTY_TEXT = [
    "",
    " ",
    "0",
    "-1",
    str(2**31),
    str(2**53),
    str(2**63),
    str(-(2**63)),
    "9" * 30,
    "7" * 5000,
    "1e309",
    "NaN",
    "1.5",
    "²",
    "１",
    WORD,
    (WORD + " ") * 3,
    "x" * 100_000,
    "\x01\x02\x1b[31m\x7f",
    "line\r\nInjected: header",
    "../../../../etc/passwd",
    "..",
    "/",
    "//evil.example",
    "\\\\evil",
    "America",
    "Europe",
    "Etc",
    "posixrules",
    "Factory",
    "right/UTC",
    "/etc/localtime",
    "Europe/../../etc/passwd",
    "z" * 300,
    "\u202e\u200b\ufeff",
    "Zoë Ω 漢字 🙂",
    "%00",
    "%",
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    "<script>alert(1)</script>",
    "{{7*7}}",
    "-" * 5000,
    "\\" * 5000,
    '"' * 501,
    "actor:" * 600,
    "created:9999-12-31",
    "created:0001-01-01..9999-12-31",
    "object:task:" + "9" * 40,
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "#zzzzzz",
    "a\x00b",  # refused by core before any view: kept rare
]
PATH_IDS = [
    "1",
    "2",
    "3",
    "7",
    "0",
    str(2**31),
    str(2**53 - 1),
    str(2**53),
    str(2**63),
    "9" * 16,
    "9" * 40,
    "-1",
    "１",
]
PATH_TEXT = [
    "activity",
    "email",
    "logins",
    "settings",
    "nope",
    "..",
    "../etc",
    "%2e%2e",
    "app.css",
    "app.js",
    "x" * 300,
    "a b",
    "Zoë",
]
STATIC_PATHS = [*PATH_TEXT, "../../core/app.py", "css/../app.css", "../" * 5 + "etc/passwd"]
# A value of the kind a field asks for, when the page offers none, so that the other fields of
# a request pass their checks and the fuzzed one reaches its own; "{n}" keeps names unique.
PLAUSIBLE_BY_TYPE = {
    "text": "Plain words {n}",
    "textarea": "A line of text.",
    "search": "acme",
    "email": "someone{n}@example.com",
    "password": "a-long-enough-password",
    "date": "2026-01-31",
    "color": "#4f46e5",
    "checkbox": "on",
}
VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


# Values ---------------------------------------------------------------------------------------


def nasty_values():
    """Return the strategy of one nasty value: a known one, random text, or a number."""
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=30),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
    )


def mutations(value):
    """Return values near ``value`` (one a page offers) that a check might miss: its first
    path part (``America`` of ``America/New_York``), ``../`` around it, a long repeat of it
    (past 255 bytes), a cut, other case, spaces, a number off by much."""
    value = value.replace("{n}", "1")
    near = [
        value.split("/")[0],
        f"../{value}",
        f"{value}/..",
        f"{value}/../../{value}",
        value * (300 // max(len(value), 1) + 1),
        value[:-1],
        value.upper(),
        f" {value} ",
        f"{value}\t",
        value.replace("-", "_"),
        f"{value},{value}",
    ]
    if value.isdigit():
        near += [f"-{value}", f"{value}{'0' * 20}", f"{value}.0", f"0{value}"]
    return near


def sharp_values(offered):
    """Return the values each field is sure to meet: near one ``offered`` (its first path
    part, itself repeated to 5,000 characters), punctuation that quoting makes longer, a
    number past every integer type, control and bidirectional characters, nothing."""
    sample = sorted(offered, key=lambda value: ("/" not in value, value))[0] if offered else "x"
    sample = sample.replace("{n}", "1") or "x"
    values = [sample * (5000 // len(sample) + 1), "-\\" * 2500, "9" * 30, "\x01\u202eZoë\x7f", ""]
    if "/" in sample.strip("/"):
        values.insert(0, sample.strip("/").split("/")[0])
    return values


def nasty_field(offered=()):
    """Return the strategy of a fuzzed field: one nasty value (or one near a value the page
    ``offered``), or several (a repeated key)."""
    near = sorted({m for value in offered for m in mutations(value)})
    one = st.one_of(st.sampled_from(near), nasty_values()) if near else nasty_values()
    return st.one_of(one.map(lambda value: [value]), st.lists(one, min_size=2, max_size=3))


def plausible(values):
    """Return the strategy of one of ``values`` (offered by a page), made unique where the
    value is a template ("Plain words {n}")."""
    return st.tuples(st.sampled_from(sorted(values)), st.integers(0, 10**6)).map(
        lambda pair: [pair[0].replace("{n}", str(pair[1]))]
    )


def fields_strategy(offered, names, read=()):
    """Return the strategy of a request's fields: each field ``offered`` (``{name: values the
    page offers}``) with one of its values; then one of them with a value near theirs or a
    nasty one, one or two of the names the view ``read``s and perhaps one of ``names`` (any
    field) with nasty values; perhaps one offered field left out."""
    base = st.fixed_dictionaries(
        {name: plausible(values) for name, values in offered.items() if values}
    )
    fuzzed = st.just({})
    if offered:
        fuzzed = st.sampled_from(sorted(offered)).flatmap(
            lambda name: nasty_field(offered[name]).map(lambda values: {name: values})
        )
    others = st.dictionaries(st.sampled_from(sorted(names)), nasty_field(), max_size=1)
    if read:
        own = st.dictionaries(st.sampled_from(sorted(read)), nasty_field(), min_size=1, max_size=2)
        others = st.tuples(others, own).map(lambda pair: {**pair[0], **pair[1]})
    dropped = st.lists(st.sampled_from(sorted(offered)), max_size=1) if offered else st.just([])
    return st.tuples(base, fuzzed, others, dropped).map(_combined)


def _combined(parts):
    fields, fuzzed, others, left_out = parts
    fields = {**fields, **others, **fuzzed}
    for name in left_out:
        fields.pop(name, None)
    return MultiDict([(name, value) for name, values in fields.items() for value in values])


def path_strategy(rule, avoided=()):
    """Return the strategy of a path of ``rule``: ids in range and out of it (0, -1, 2**63,
    huge, a fullwidth digit), text parts nasty and percent-encoded, ``../`` in a path part.
    An id in ``avoided`` (a role's own account) is never used."""
    parts = []
    position = 0
    for variable in VARIABLE.finditer(rule.rule):
        parts.append(st.just(rule.rule[position : variable.start()]))
        position = variable.end()
        converter = variable.group(1) or "default"
        if converter == "int":
            parts.append(st.sampled_from([i for i in PATH_IDS if i not in avoided]))
        elif converter == "path":
            parts.append(st.sampled_from(STATIC_PATHS))
        else:
            text = st.one_of(st.sampled_from(PATH_TEXT), nasty_values())
            parts.append(text.map(lambda value: quote(value, safe="")))
    parts.append(st.just(rule.rule[position:]))
    return st.tuples(*parts).map("".join)


# What the app offers and reads ----------------------------------------------------------------


class FormFields(HTMLParser):
    """Collect the fields of one page: ``forms`` (``{(method, action): {name: values}}``)
    and every field anywhere on it (``anywhere``), with the values each offers."""

    def __init__(self, page_path):
        super().__init__()
        self.page_path = page_path
        self.forms = {}
        self.anywhere = {}
        self._form = None
        self._select = None
        self._option = None

    def handle_starttag(self, tag, attrs):
        """Note a form's target, and each named field with the values it offers."""
        attrs = dict(attrs)
        if tag == "form":
            post = attrs.get("hx-post") or (attrs.get("method") or "").lower() == "post"
            action = attrs.get("hx-post") or attrs.get("action") or attrs.get("hx-get")
            self._form = self.forms.setdefault(
                ("POST" if post else "GET", action or self.page_path), {}
            )
        elif tag == "select":
            self._select = attrs.get("name")
            self._offer(self._select, None)
        elif tag == "option" and self._select:
            if attrs.get("value") is None:
                self._option = self._select  # no value attribute: its text is the value
            else:
                self._offer(self._select, attrs["value"])
        elif tag in ("input", "textarea", "button") and attrs.get("name"):
            value = attrs.get("value") or PLAUSIBLE_BY_TYPE.get(attrs.get("type") or tag)
            self._offer(attrs["name"], value)

    def handle_data(self, data):
        """Offer the text of an option without a value attribute."""
        if self._option:
            self._offer(self._option, data.strip())
            self._option = None

    def handle_endtag(self, tag):
        """Leave the form or the select."""
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def _offer(self, name, value):
        if not name:
            return
        for fields in (self.anywhere, self._form if self._form is not None else {}):
            values = fields.setdefault(name, set())
            if value is not None:
                values.add(value)


@functools.cache  # the source does not change during a run: scanned once, for both databases
def parameters_read_by_the_code():
    """Return the names the code reads from a query string or a form, by source file: the
    string constants given to ``….args``, ``….form`` or ``….values`` (``.get``, ``.getlist``
    or ``[…]``)."""
    names = {}
    for folder in (ROOT / "core", ROOT / "plugins"):
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text())
            names[str(path)] = {name for node in ast.walk(tree) for name in _read_name(node)}
    return names


def read_by_view(app, rule, read):
    """Return the names the view of ``rule`` reads (those of its source file, in ``read``),
    and, under ``/stream``, every tab's filter keys."""
    view = inspect.unwrap(app.view_functions[rule.endpoint])
    names = set(read.get(inspect.getsourcefile(view), ()))
    if rule.rule.startswith("/stream"):
        names |= tab_filter_keys(app)
    return names


def tab_filter_keys(app):
    """Return every tab's filter keys."""
    feeds = [getattr(tab.panel, "__self__", None) for tab in app.extensions["tabs"].values()]
    return {key for feed in feeds for key in getattr(feed, "filter_keys", ())}


def _read_name(node):
    """Return the name ``node`` reads from a request's arguments or form, if it does."""
    key = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        if node.func.attr in ("get", "getlist") and _is_request_dict(node.func.value):
            key = node.args[0]
    elif isinstance(node, ast.Subscript) and _is_request_dict(node.value):
        key = node.slice
    return {key.value} if isinstance(key, ast.Constant) and isinstance(key.value, str) else set()


def _is_request_dict(node):
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in ("args", "form", "values")


def endpoints(app):
    """Return ``(rule, method)`` for every rule and method of the app's URL map."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method))
    return found


def sample_paths(app, rule):
    """Return paths of ``rule`` that open real pages: ids 1 and 2, each tab's name."""
    if not rule.arguments:
        return [rule.rule]
    paths = []
    for number in ("1", "2"):
        for tab in app.extensions["tabs"]:
            values = {"int": number, None: tab}
            path = VARIABLE.sub(lambda found, v=values: v.get(found.group(1), v[None]), rule.rule)
            if path not in paths:
                paths.append(path)
    return paths


def offered_fields(app, client):
    """Render every page ``client`` (the owner) can open, as a page and as an htmx fragment,
    and collect its fields: ``(by endpoint, anywhere, targets)``. ``by endpoint`` is keyed
    by the ``(endpoint, method)`` each form goes to, ``targets`` the same, giving the paths
    the forms with each field go to."""
    adapter = app.url_map.bind("localhost")
    by_endpoint, anywhere, targets = {}, {}, {}
    for rule, method in endpoints(app):
        if method != "GET" or rule.endpoint == "static":
            continue
        for path in sample_paths(app, rule):
            for headers in ({}, {"HX-Request": "true"}):
                with client.get(path, headers=headers) as page:
                    if page.status_code != 200 or "html" not in page.content_type:
                        continue
                    parser = FormFields(path)
                    parser.feed(page.text)
                _merge(anywhere, parser.anywhere)
                for (form_method, action), fields in parser.forms.items():
                    try:
                        endpoint, _ = adapter.match(urlsplit(action).path, form_method)
                    except HTTPException:  # a form to elsewhere
                        continue
                    _merge(by_endpoint.setdefault((endpoint, form_method), {}), fields)
                    _merge(
                        targets.setdefault((endpoint, form_method), {}),
                        dict.fromkeys(fields, {urlsplit(action).path}),
                    )
    return by_endpoint, anywhere, targets


def api_body_fields(app, client):
    """Return ``{(endpoint, method): {name: set()}}``: the top-level fields of each API
    operation's JSON body, as the API's own OpenAPI document describes them (an array of
    objects, or one of several shapes: the object's fields)."""
    with client.get(API_PREFIX + "openapi.json") as answer:
        document = answer.get_json(silent=True) if answer.status_code == 200 else None
    if not document:
        return {}
    schemas = document.get("components", {}).get("schemas", {})
    adapter = app.url_map.bind("localhost")
    found = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            names = _property_names(schema, schemas)
            if names:
                endpoint, _ = adapter.match(re.sub(r"\{\w+\}", "1", path), method.upper())
                found[(endpoint, method.upper())] = {name: set() for name in names}
    return found


def _property_names(schema, schemas):
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    names = set(schema.get("properties", {}))
    parts = [*schema.get("oneOf", ()), *schema.get("anyOf", ())]
    for part in parts + ([schema["items"]] if "items" in schema else []):
        names |= _property_names(part, schemas)
    return names


def _merge(into, fields):
    for name, values in fields.items():
        into.setdefault(name, set()).update(values)


# The fuzz -------------------------------------------------------------------------------------


def shown(value):
    """Return ``value`` (a path or the fields of a request) short enough to read: a long text
    as its start and its length."""
    if isinstance(value, MultiDict):
        return repr([(key, shown(item)) for key, item in value.items(multi=True)])
    return value if len(value) <= 80 else f"{value[:60]!r}… ({len(value):,} characters)"


class ErrorLog(logging.Handler):
    """Keep the tracebacks the app logs for its 500s."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        """Keep ``record``."""
        self.records.append(record)

    def trace_since(self, count):
        """Return the traceback of the last record after the first ``count`` ("" if none)."""
        for record in reversed(self.records[count:]):
            if record.exc_info:
                return logging.Formatter().formatException(record.exc_info)
        return ""


class Fuzz:
    """The app, a signed-in client per role, the fields each endpoint takes, and the 500s
    found so far."""

    def __init__(self, app, clients, own_ids, tokens):
        self.app = app
        self.clients = clients
        self.own_ids = own_ids  # the roles' own user ids: never deactivated nor edited
        self.tokens = tokens  # {token role: (token, its id)}: never revoked
        self.by_endpoint, self.anywhere, self.targets = offered_fields(app, clients["owner"])
        for fields in (self.anywhere, *self.by_endpoint.values()):
            fields.pop(CSRF_FIELD, None)  # sent as a header, which the check reads first
            for values in fields.values():
                values -= set(ROLES.values())  # failed sign-ins as a role would lock it out
        self.by_endpoint = {key: fields for key, fields in self.by_endpoint.items() if fields}
        self.api_bodies = api_body_fields(app, clients["signed out"])
        self.read = parameters_read_by_the_code()
        self.query_names = set(COMMON_PARAMETERS).union(*self.read.values())
        self.log = ErrorLog()
        self.failures = []

    def strategies(self, rule, method):
        """Return the strategies of ``rule``'s path, query string and form for ``method``."""
        offered = self.by_endpoint.get((rule.endpoint, method), {})
        read = read_by_view(self.app, rule, self.read)
        query = fields_strategy({}, self.query_names, read)
        form = st.just(MultiDict())
        others = set(self.anywhere)
        if rule.rule.startswith(API_PREFIX):  # a JSON body: the fields the API describes
            offered = self.api_bodies.get((rule.endpoint, method), {})
            others = set()  # a page's field names would only be refused as unknown
            if method == "GET":  # a tab read as JSON takes the tab's filters
                read |= tab_filter_keys(self.app)
        if method == "POST":
            form = fields_strategy(offered, set(offered) | others, read)
        elif offered:  # a GET form (a filter bar): its fields are the query string
            query = fields_strategy(offered, set(offered) | self.query_names, read)
        avoided = self.own_ids if "user_id" in rule.arguments else ()
        if "token_id" in rule.arguments:
            avoided = {str(token_id) for _, token_id in self.tokens.values()}
        return path_strategy(rule, avoided), query, form

    def roles_of(self, rule):
        """Return the roles ``rule`` is fuzzed as: every role, and for an API rule the token
        holders too."""
        api = rule.rule.startswith(API_PREFIX)
        return [*ROLES, *(TOKEN_ROLES if api else ())]

    def send(self, role, method, path, query, form, htmx):
        """Send one request as ``role`` with its CSRF token (a token holder: its token, and an
        API POST's fields as JSON); note a 500; check the CSRF check passed; sign the role in
        again if the request signed it out."""
        client = self.clients[role]
        if role in self.tokens:
            headers = {"Authorization": f"Bearer {self.tokens[role][0]}"}
        else:
            headers = {"X-CSRF-Token": self.csrf_token(client)}
        if htmx:
            headers["HX-Request"] = "true"
        body = {"data": form}
        if path.startswith(API_PREFIX) and method != "GET":
            body = {"json": {key: _one_or_all(form.getlist(key)) for key in form}}
        seen = len(self.log.records)
        with client.open(
            path,
            method=method,
            query_string=query,
            headers=headers,
            environ_base={"REMOTE_ADDR": FUZZ_ADDRESS},
            **body,
        ) as response:
            status, text = response.status_code, response.get_data(as_text=True)
            location = response.headers.get("Location", "") + response.headers.get(
                "HX-Redirect", ""
            )
        if status >= 500:
            self.failures.append(
                f"{status} {method} {shown(path)} as {role}\nquery={shown(query)}\n"
                f"form={shown(form)}\n{self.log.trace_since(seen)[-1200:]}"
            )
        if method == "POST":
            assert CSRF_REFUSAL not in text, f"the CSRF check refused {method} {path} as {role}"
        if ROLES.get(role) and status in (302, 303, 401) and "/login" in location:
            assert sign_in(client, ROLES[role]).status_code == 302, f"{role} cannot sign in"

    def csrf_token(self, client):
        """Return the CSRF token of ``client``'s session, read from its signed cookie as the
        app would (a request context per read would cost a millisecond each); without one,
        ``csrf_token_of`` fetches a page to make it."""
        cookie = client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        if cookie is not None:
            serializer = self.app.session_interface.get_signing_serializer(self.app)
            token = serializer.loads(cookie.value).get(CSRF_FIELD)
            if token:
                return token
        return csrf_token_of(client)

    def sweep_api(self, rule, role):
        """Send ``role``'s token to the API's GET ``rule`` on each tab (id 1), with each name
        its view reads and each of that tab's filter keys given, in turn, each sharp value:
        the paths Hypothesis draws seldom name a real tab, these always do."""
        view = inspect.unwrap(self.app.view_functions[rule.endpoint])
        read = set(self.read.get(inspect.getsourcefile(view), ()))
        for name, tab in self.app.extensions["tabs"].items():
            values = {"int": "1", None: name}
            path = VARIABLE.sub(lambda found, v=values: v.get(found.group(1), v[None]), rule.rule)
            feed = getattr(tab.panel, "__self__", None)
            for key in sorted(read | set(getattr(feed, "filter_keys", ()))):
                for value in sharp_values(()):
                    self.send(role, "GET", path, MultiDict({key: value}), MultiDict(), False)

    def sweep(self, endpoint, method):
        """Send the owner's requests to ``endpoint`` with ``method`` that give each field its
        page offers, in turn, each sharp value (``sharp_values``), the others a value offered,
        then a couple of values Hypothesis draws for it."""
        for name in sorted(self.by_endpoint[(endpoint, method)]):
            paths = self.paths_of(endpoint, method, name)
            if paths:
                self.sweep_field(endpoint, method, name, paths)

    def paths_of(self, endpoint, method, name):
        """Return the paths the forms with field ``name`` go to, but a role's own account and
        the token holders' tokens."""
        adapter = self.app.url_map.bind("localhost")
        paths = sorted(self.targets[(endpoint, method)][name])
        arguments = {path: adapter.match(path, method)[1] for path in paths}
        tokens = {token_id for _, token_id in self.tokens.values()}
        return [
            p
            for p in paths
            if self.own_ids.isdisjoint(map(str, arguments[p].values()))
            and arguments[p].get("token_id") not in tokens
        ]

    def sweep_field(self, endpoint, method, name, paths):
        """Sweep field ``name`` of ``endpoint``'s form (sent to one of ``paths``)."""
        offered = self.by_endpoint[(endpoint, method)]
        others = {key: sorted(v)[0] for key, v in offered.items() if key != name and v}

        @settings(
            max_examples=2,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            path=st.sampled_from(paths),
            value=nasty_field(offered[name]),
            number=st.integers(10**6, 10**7),
        )
        def swept(path, value, number):
            pairs = [(key, other.replace("{n}", str(number))) for key, other in others.items()]
            data = MultiDict([*pairs, *((name, item) for item in value)])
            query, form = (data, MultiDict()) if method == "GET" else (MultiDict(), data)
            self.send("owner", method, path, query, form, htmx=False)

        for number, value in enumerate(sharp_values(offered[name])):
            swept = example(path=paths[0], value=[value], number=number)(swept)
        swept()

    def run(self, rule, method, role):
        """Send ``EXAMPLES[role]`` fuzzed requests to ``rule`` with ``method`` as ``role``."""
        paths, queries, forms = self.strategies(rule, method)

        examples = EXAMPLES[role]
        if self.by_endpoint.get((rule.endpoint, method)):
            examples *= FORM_EXAMPLES if role == "owner" else 1
        elif self.api_bodies.get((rule.endpoint, method)):  # an API body: for its tokens
            examples *= FORM_EXAMPLES if role in TOKEN_ROLES else 1
        elif not rule.arguments:  # nothing of its own to fuzz (sign-out…): a couple will do
            examples = min(examples, 2)

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(path=paths, query=queries, form=forms, htmx=st.booleans())
        def fuzzed(path, query, form, htmx):
            self.send(role, method, path, query, form, htmx)

        fuzzed()


def _one_or_all(values):
    return values[0] if len(values) == 1 else values


def make_tokens(app, people):
    """Return ``{token role: (token, its id)}``, made for ``TOKEN_ROLES``."""
    from plugins.api.tokens import create_token

    tokens = {}
    with app.app_context(), database.atomic():
        for role, (email, scope) in TOKEN_ROLES.items():
            row, token = create_token(people[email], "fuzz", scope, by=None)
            tokens[role] = (token, row.id)
    return tokens


@pytest.fixture
def quick_role_sign_ins(app, people, monkeypatch):
    """Hash the roles' password cheaply: a fuzzed request that signs a role out (sign-out,
    sign out everywhere…) makes it sign in again, some thirty times a run, and a scrypt check
    takes a tenth of a second each time. The fuzzed sign-ins still check scrypt hashes
    (the other people's, and the dummy one of unknown names). The process's record of check
    times is the test's own, so these quick checks never shorten a later test's waits."""
    from core.auth import views
    from core.people import User

    monkeypatch.setattr(views, "_check_times", deque(maxlen=views._check_times.maxlen))
    monkeypatch.setattr(views, "_failure_times", deque(maxlen=views._failure_times.maxlen))
    quick = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    with app.app_context():
        roles = User.email.in_([email for email in ROLES.values() if email])
        User.update(password_hash=quick).where(roles).execute()


@pytest.fixture
def fuzz(app, people, quick_role_sign_ins, no_refusal_wait):
    """Seed every plugin's demo history (the workspace's first days: every kind of object,
    without a month of events), sign a client in per role, make the token holders' tokens;
    return the ``Fuzz``. Refused sign-ins answer at once (``no_refusal_wait``): the fuzz
    looks for 500s, not at timings."""
    # The fuzz sends hundreds of requests a minute per token: a 429 would hide what it probes.
    app.config["API_RATE_LIMIT"] = 1_000_000
    with app.app_context():
        if workspace_installed():  # its pages are fuzzed too, on a few days of objects
            workspace("demo").seed_workspace(days=3)  # its own demo then finds companies
        hooks(app).seed_demo()
    clients = {}
    for role, email in ROLES.items():
        clients[role] = app.test_client()
        if email:
            assert sign_in(clients[role], email).status_code == 302
    tokens = make_tokens(app, people)
    clients.update({role: app.test_client() for role in tokens})  # no cookie: the token alone
    own_ids = {str(people[email].id) for email in ROLES.values() if email}
    found = Fuzz(app, clients, own_ids, tokens)
    app.logger.addHandler(found.log)
    yield found
    app.logger.removeHandler(found.log)


def test_no_parameter_or_form_field_of_any_endpoint_answers_a_500(fuzz):
    # The sweep reaches the fields that once answered 500 (a person's time zone, a tab's q).
    offered = fuzz.by_endpoint.items()
    assert any(
        "time_zone" in names
        for (endpoint, method), names in offered
        if method == "POST" and endpoint.startswith("people")
    ), sorted(fuzz.by_endpoint)
    assert any("q" in names for (endpoint, method), names in offered if method == "GET")
    for endpoint, method in sorted(fuzz.by_endpoint):
        fuzz.sweep(endpoint, method)
    for rule, method in endpoints(fuzz.app):
        for role in fuzz.roles_of(rule):
            fuzz.run(rule, method, role)
        if rule.rule.startswith(API_PREFIX) and rule.arguments and method == "GET":
            fuzz.sweep_api(rule, "owner's read token")
    count = len(fuzz.failures)
    # The token holders kept their tokens to the end (the fuzz revokes none of them).
    for role in TOKEN_ROLES:
        headers = {"Authorization": f"Bearer {fuzz.tokens[role][0]}"}
        assert fuzz.clients[role].get(API_PREFIX, headers=headers).status_code == 200, role
    assert not fuzz.failures, "\n\n".join(fuzz.failures[:15]) + f"\n\n{count} answer(s) >= 500"

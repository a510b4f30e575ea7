"""Mutation check of the modules that decide access: does every rule have a test that fails
when it changes? Not run in CI (it takes tens of minutes); run it by hand:

    .venv/bin/pip install mutmut              # mutmut 3
    nice -n 10 .venv/bin/python -m bench.mutation        # every module, core/auth/throttle.py last
    nice -n 10 .venv/bin/python -m bench.mutation core/tabs.py core/auth/throttle.py   # only these
    .venv/bin/python -m bench.mutation --last core/tabs.py   # its last run, explained anew

For each module it copies the working tree into ``.mutation/<module>/`` (so the run neither
sees nor disturbs edits made meanwhile, and each module keeps its own mutmut state), writes
there the ``[tool.mutmut]`` section of pyproject.toml with that module alone to mutate and its
own bounded set of tests, runs ``mutmut run``, then prints its score (killed/total, %) and
every mutant that was not killed, with the changed line and why it is acceptable (from
``EXPLAINED`` below; one that is not there is printed as UNEXPLAINED: kill it with a test or
explain it), and at the end one summary line per module. mutmut runs, for each mutant, only
the selected tests that call the mutated function, fastest first, stopping at the first failure.

A module of an installed example package (the workspace, ``examples/workspace``, installed
editable) is imported by the tests by its package name, ``activity_stream_workspace``, not by
its path. In the copy its package folder is also placed at the top (``activity_stream_workspace/``)
and mutated there: mutmut puts its ``mutants/`` folder first on ``sys.path``, so the tests (and
the plugin's entry point) import the mutated copy, not the editable install, whose finder comes
after ``sys.path``; and mutmut's mutant names match the module names the tests import.

SQLite only: ``pytest_add_cli_args`` holds ``-k "not postgresql"``, which leaves out the
PostgreSQL half of every test taking the ``app`` fixture (core/testing.py parametrizes
``database_url`` as ``sqlite``/``postgresql``). Access is decided by the same queries on both
databases; the PostgreSQL half is what ``make test`` adds.

Counted as killed: killed, timeout, segfault. Everything else (survived, no tests) is a
survivor. The exit code is 1 when a module scores under ``TARGET`` or a survivor is
unexplained.
"""

import fnmatch
import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
TARGET = 90.0
MATRIX_OBJECTS = (
    "tests/test_authorization_matrix.py::test_every_object_url_answers_per_object_as_the_model_says"
)
# Each module with the tests that exercise its rules (a bounded subset, not the suite).
# core/auth/throttle.py is last: it changes often, its score is as of the run.
MODULES = {
    "core/tabs.py": [
        "tests/core/test_access.py",
        "tests/core/test_shell.py",
        "tests/test_hooks.py",
        "tests/test_access_mutants.py",
    ],
    "core/shell.py": ["tests/core/test_access.py", "tests/core/test_shell.py"],
    "plugins/settings/grants.py": [
        "tests/plugins/test_settings.py",
        "tests/core/test_access.py",
        "tests/test_access_mutants.py::test_each_role_sees_its_own_stored_scope_else_its_kinds_default",
        "tests/test_access_mutants.py::test_a_grant_in_person_or_by_team_makes_only_the_members_role_scopes_settable",
    ],
    "examples/workspace/activity_stream_workspace/access.py": [
        "tests/test_object_access.py",
        "examples/workspace/tests/test_workspace.py",
        MATRIX_OBJECTS,
    ],
    "plugins/people/accounts.py": [
        "tests/plugins/test_people.py",
        "tests/test_object_access.py",
        "tests/test_account_rules.py",
    ],
    "plugins/email/queries.py": ["tests/plugins/test_email_tab.py", MATRIX_OBJECTS],
    "core/auth/throttle.py": [
        "tests/core/test_signins_throttle.py",
        # unlock(): an admin lifting a lock, from its Logins row.
        "tests/plugins/test_logins.py::test_an_admin_unlocks_an_account_from_its_lock_row",
        "tests/plugins/test_logins.py::test_only_owners_and_admins_unlock_and_only_lock_rows",
        "tests/test_access_mutants.py::test_idle_throttle_rows_are_kept_while_their_lock_can_still_matter",
        "tests/test_access_mutants.py::test_an_admin_unlock_starts_the_lock_tiers_over",
    ],
}
# Installed example packages: their folder in the repository, and the package name the tests
# import them by.
PACKAGES = {"examples/workspace/activity_stream_workspace": "activity_stream_workspace"}
KILLED = {"killed", "timeout", "segfault"}
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
    None: "not checked",
}
IGNORED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "mutants",
    ".mutation",
    "instance",
    "__pycache__",
    "test-artifacts",
    ".pytest_cache",
    ".ruff_cache",
    "*.egg-info",
)

# Mutants that survive and why that is acceptable, by mutmut's name (stable while the
# module's source is unchanged; a changed module shows its survivors as UNEXPLAINED again),
# or by a pattern (``*``) for every mutant of one function.
SEEING_EXTRA = (
    "roles_seeing() then returns pairs of other tabs (or of no role) too: its callers only "
    "look up the tabs they passed, so the tab filter only saves reading rows"
)
SEEING_JOIN = "a join without on= follows TabGrant.user, the one foreign key to User: the same"
SEEING_TEAM_JOIN = (
    "a join without on= follows TeamMembership.user, its one foreign key to User: the same"
)
EMAIL_ARM_BOUND = (
    "a per-person arm without its newer_than bound: the outer query keeps the bound, and each "
    "arm's newest rows still hold every newer one of that person up to the limit"
)
TEXT_BOUND = (
    "a keyset bound dropped inside the full-text lookup only: bounded() keeps it on the outer "
    "query, so IN / NOT IN over the wider lookup select the same rows (it only reads more)"
)
CACHE_NAME = "the name of a per-request cache in flask.g: any other name caches the same"
EXPLAINED = {
    "core.tabs.x_visible_tabs__mutmut_5": "getattr default None instead of False: both falsy",
    "core.tabs.x_visible_tabs__mutmut_8": "getattr default dropped: every viewer the app passes "
    "(a user or flask-login's anonymous user) has is_authenticated",
    "core.tabs.x_visible_tabs__mutmut_11": "getattr default True: every viewer has "
    "is_authenticated, the default is never used",
    "core.tabs.x_visible_tabs__mutmut_14": CACHE_NAME,
    "core.tabs.x_visible_tabs__mutmut_18": CACHE_NAME,
    "core.tabs.x_visible_tabs__mutmut_19": CACHE_NAME,
    "core.tabs.x_row_scope__mutmut_4": CACHE_NAME,
    "core.tabs.x_row_scope__mutmut_8": CACHE_NAME,
    "core.tabs.x_row_scope__mutmut_9": CACHE_NAME,
    "plugins.email.queries.x__related__mutmut_3": "the one-query and per-person forms of "
    "'related' hold the same rows; the flipped test only picks the slower plan",
    "plugins.email.queries.x__related__mutmut_8": "each per-person arm uncapped: the union holds "
    "more rows, the outer query's order and limit keep the same page (slower only)",
    "plugins.email.queries.x__related__mutmut_15": EMAIL_ARM_BOUND,
    "plugins.email.queries.x_visible_messages__mutmut_26": EMAIL_ARM_BOUND,
    "plugins.email.queries.x_visible_messages__mutmut_27": "'related' read as one IN query "
    "instead of capped arms per person: the same rows, the slower plan",
    "plugins.email.queries.x_visible_messages__mutmut_35": "the outer limit dropped: page() "
    "cuts the rows to its size anyway; only counts past COUNT_CAP would read further (cost)",
    "plugins.email.queries.x_visible_messages__mutmut_36": "limit(None) without a limit: "
    "peewee adds no LIMIT, the same query",
    "plugins.email.queries.x_visible_messages__mutmut_37": "the outer limit dropped: page() "
    "cuts the rows to its size anyway; only counts past COUNT_CAP would read further (cost)",
    "plugins.email.queries.x__conditions__mutmut_23": TEXT_BOUND,
    "plugins.email.queries.x__conditions__mutmut_24": TEXT_BOUND,
    "plugins.email.queries.x__conditions__mutmut_29": TEXT_BOUND,
    "plugins.email.queries.x__filtered__mutmut_11": TEXT_BOUND,
    "plugins.email.queries.x__filtered__mutmut_12": TEXT_BOUND,
    "plugins.email.queries.x__filtered__mutmut_16": TEXT_BOUND,
    "plugins.email.queries.x_kinds__mutmut_6": "an unquoted SQL column name: KIND and kind are "
    "the same column in SQLite and PostgreSQL",
    "plugins.settings.grants.x_granted_tabs__mutmut_2": CACHE_NAME,
    "plugins.settings.grants.x_granted_tabs__mutmut_6": CACHE_NAME,
    "plugins.settings.grants.x_granted_tabs__mutmut_7": CACHE_NAME,
    "plugins.settings.grants.x_roles_seeing__mutmut_5": SEEING_EXTRA,
    "plugins.settings.grants.x_roles_seeing__mutmut_10": SEEING_EXTRA,
    "plugins.settings.grants.x_roles_seeing__mutmut_11": "is_null(None) is is_null(False): "
    "peewee writes IS NOT NULL for any falsy argument",
    "plugins.settings.grants.x_roles_seeing__mutmut_14": SEEING_EXTRA,
    "plugins.settings.grants.x_roles_seeing__mutmut_16": SEEING_JOIN,
    "plugins.settings.grants.x_roles_seeing__mutmut_18": SEEING_JOIN,
    "plugins.settings.grants.x_roles_seeing__mutmut_25": SEEING_EXTRA,
    "plugins.settings.grants.x_roles_seeing__mutmut_31": SEEING_TEAM_JOIN,
    "plugins.settings.grants.x_roles_seeing__mutmut_33": SEEING_TEAM_JOIN,
}


def explanation(name):
    """Return why the surviving mutant ``name`` is acceptable, or None."""
    if name in EXPLAINED:
        return EXPLAINED[name]
    for pattern, why in EXPLAINED.items():
        if "*" in pattern and fnmatch.fnmatchcase(name, pattern):
            return why
    return None


def toml_value(value):
    """Write ``value`` (a string, bool, number or list of them) as TOML."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def installed_package(module):
    """Return ``(folder, package)`` of the installed package holding ``module``, or None."""
    for folder, package in PACKAGES.items():
        if module.startswith(folder + "/"):
            return folder, package
    return None


def mutated_path(module):
    """Return the path mutmut mutates ``module`` at: by package name for an installed one."""
    found = installed_package(module)
    if found is None:
        return module
    folder, package = found
    return package + module.removeprefix(folder)


def mutmut_section(module, tests):
    """Return the ``[tool.mutmut]`` section for ``module``: the repository's, narrowed."""
    settings = dict(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"])
    found = installed_package(module)
    if found is not None:
        settings["source_paths"] = [*settings["source_paths"], found[1]]
    settings.update(only_mutate=[mutated_path(module)], pytest_add_cli_args_test_selection=tests)
    lines = [f"{name} = {toml_value(value)}" for name, value in settings.items()]
    return "[tool.mutmut]\n" + "\n".join(lines) + "\n"


def prepare(module, tests):
    """Copy the working tree into the module's own folder; return that folder."""
    folder = folder_of(module)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT, folder, ignore=IGNORED)
    found = installed_package(module)
    if found is not None:
        # Importable by its package name from the top of mutmut's mutants/ folder.
        shutil.copytree(folder / found[0], folder / found[1])
    text = (folder / "pyproject.toml").read_text()
    head = text.split("[tool.mutmut]", 1)[0].rstrip("\n")
    (folder / "pyproject.toml").write_text(head + "\n\n" + mutmut_section(module, tests))
    return folder


def results(folder, module):
    """Return ``{mutant name: status}`` from mutmut's record of ``module``."""
    meta = json.loads((folder / "mutants" / f"{mutated_path(module)}.meta").read_text())
    return {name: STATUS.get(code, "suspicious") for name, code in meta["exit_code_by_key"].items()}


def changed_line(folder, name):
    """Return the mutant's changed line(s), as ``- old / + new``."""
    shown = subprocess.run([MUTMUT, "show", name], cwd=folder, capture_output=True, text=True)
    lines = [line for line in shown.stdout.splitlines() if line[:1] in "+-"]
    lines = [line for line in lines if not line.startswith(("+++", "---"))]
    return " / ".join(" ".join(line.split()) for line in lines)


def folder_of(module):
    """Return the folder holding ``module``'s copy of the tree and its mutmut state."""
    return WORK / module.replace("/", "_").removesuffix(".py")


def run_module(module, tests, rerun=True):
    """Run mutmut on ``module`` (``rerun`` False: read its last run again, e.g. after
    explaining survivors); print and return ``(killed, total, unexplained, minutes,
    not checked)``."""
    started = time.monotonic()
    folder = prepare(module, tests) if rerun else folder_of(module)
    log = folder / "mutmut.log"
    if rerun:
        with log.open("w") as out:
            subprocess.run(
                [MUTMUT, "run", "--max-children", "2"],
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
    found = results(folder, module)
    if found and all(status == "not checked" for status in found.values()):
        print(f"{module}: mutmut did not run its tests; see {log}", flush=True)
        return 0, len(found), len(found), 0.0, len(found)
    killed = sum(status in KILLED for status in found.values())
    total = len(found)
    score = 100.0 * killed / total if total else 100.0
    minutes = (time.monotonic() - started) / 60
    unchecked = sum(status == "not checked" for status in found.values())
    partly = f", {unchecked} not checked (run stopped)" if unchecked else ""
    print(
        f"{module}: {killed}/{total} killed ({score:.1f} %) in {minutes:.1f} min{partly}",
        flush=True,
    )
    unexplained = 0
    for name, status in sorted(found.items()):
        if status in KILLED or status == "not checked":  # the unchecked are counted above
            continue
        why = explanation(name)
        unexplained += why is None
        print(f"  {status}: {name}: {changed_line(folder, name)}")
        print(f"      {why or 'UNEXPLAINED'}", flush=True)
    return killed, total, unexplained, minutes, unchecked


def summary(rows):
    """Print one line per module run: killed/total, score, unexplained survivors, time."""
    print(f"\nSummary (target: {TARGET:.0f} % killed, no unexplained survivor)")
    for module, (killed, total, unexplained, minutes, unchecked) in rows.items():
        score = 100.0 * killed / total if total else 100.0
        mark = "ok" if score >= TARGET and not unexplained else "BELOW TARGET"
        if unexplained and score >= TARGET:
            mark = "UNEXPLAINED SURVIVORS"
        if unchecked:
            mark = f"INCOMPLETE ({unchecked} not checked), {mark}"
        print(
            f"  {module}: {killed}/{total} ({score:.1f} %), {unexplained} unexplained, "
            f"{minutes:.1f} min: {mark}"
        )


def main(argv):
    """Run every module (or those named in ``argv``; ``--last``: print the last run of each
    again, without running); exit 1 under the target."""
    if not MUTMUT.exists():
        sys.exit(f"{MUTMUT} is missing: .venv/bin/pip install mutmut")
    rerun = "--last" not in argv
    chosen = [name for name in argv if name != "--last"] or list(MODULES)
    unknown = [module for module in chosen if module not in MODULES]
    if unknown:
        sys.exit(f"not a module checked here: {', '.join(unknown)}; one of: {', '.join(MODULES)}")
    rows = {}
    for module in chosen:
        rows[module] = run_module(module, MODULES[module], rerun)
    summary(rows)
    failed = any(
        unexplained or (total and 100.0 * killed / total < TARGET)
        for killed, total, unexplained, _, _ in rows.values()
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])

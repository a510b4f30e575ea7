"""Demo workspace: a handful of companies, tasks and documents, made through the services.

The names (and so the ids of a fresh database) are those of the activity plugin's demo
history, so its rows link to these objects.
"""

from core.db import database
from core.demo import demo_users
from plugins.workspace import services
from plugins.workspace.models import Company

# (name, industry, account manager, member contacts)
COMPANIES = (
    ("Acme Corp", "Manufacturing", "sales", ("client",)),
    ("Globex", "Energy", "hiro", ("jonas",)),
    ("Initech", "Software", "grace", ("kemi",)),
    ("Umbrella Health", "Healthcare", "sales", ()),
    ("Stark Logistics", "Logistics", "office", ("prospect",)),
)
# (title, company, status, creator, assignees); people by the part of their email before "@"
TASKS = (
    ("Q3 report", "Acme Corp", "in_progress", "pm", ("teammate",)),
    ("Kick-off call", "Globex", "open", "grace", ("ines", "fox")),
    ("Invoice review", "Acme Corp", "open", "pm", ("freelancer",)),
    ("Update brand guide", None, "open", "office", ("teammate",)),
    ("Onboard Kemi", "Initech", "open", "grace", ("kemi",)),
)
# (title, company, owner, shared with, access code)
DOCUMENTS = (
    ("Master services agreement", "Acme Corp", "sales", ("client",), "MSA-7731"),
    ("Statement of work", "Globex", "hiro", ("jonas",), ""),
    ("Launch plan", None, "pm", (), ""),
    ("NDA", "Initech", "grace", ("kemi",), "NDA-0042"),
)


def seed_workspace():
    """Create the demo objects and a little follow-up activity, unless companies exist."""
    if Company.select().exists():
        return 0
    people = {email.split("@")[0]: user for email, user in demo_users().items()}
    if "admin" not in people:
        return 0  # no demo people: nothing sensible to seed

    def some(names):
        return [people[name] for name in names if name in people]

    admin = people["admin"]
    with database.atomic():
        companies = {}
        for name, industry, manager, members in COMPANIES:
            companies[name] = services.create_company(
                admin,
                name=name,
                industry=industry,
                account_manager=people.get(manager),
                members=some(members),
            )
        tasks = {}
        for title, company, status, creator, assignees in TASKS:
            tasks[title] = services.create_task(
                people.get(creator, admin),
                title=title,
                status=status,
                company=companies.get(company),
                assignees=some(assignees),
            )
        for title, company, owner, shared, code in DOCUMENTS:
            services.create_document(
                people.get(owner, admin),
                title=title,
                company=companies.get(company),
                owner=people.get(owner, admin),
                shared_with=some(shared),
                access_code=code,
            )
        if "client" in people:
            services.comment_on_task(
                people["client"], tasks["Q3 report"], "Can we see a draft on Friday?"
            )
        if "teammate" in people:
            services.complete_tasks(people["teammate"], [tasks["Update brand guide"]])
    return len(COMPANIES) + len(TASKS) + len(DOCUMENTS)

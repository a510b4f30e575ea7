"""Demo workspace: a month of a small agency's work, performed through the services, and
Private Messages between several pairs.

Every row of the demo's Activity tab is a real action, made in time order by someone allowed
to make it (``core.db.clock_at`` dates it): companies, tasks and documents are created before
they are edited, shared or deleted; a task moves open → in progress → done; comments come
from people who can see the task. So every row matches the objects as they are.
"""

import random
from datetime import timedelta

from activity_stream_workspace import services
from activity_stream_workspace.messages import PrivateMessage
from activity_stream_workspace.messages import send_private_message
from activity_stream_workspace.models import DONE
from activity_stream_workspace.models import IN_PROGRESS
from activity_stream_workspace.models import OPEN
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import Task
from activity_stream_workspace.models import TaskAssignee
from core.db import clock_at
from core.db import database
from core.db import utcnow
from core.demo import demo_users

DAYS = 30
# (name, industry, account manager, member contacts); people by the part of their email
# before "@"
COMPANIES = (
    ("Acme Corp", "Manufacturing", "sales", ("client",)),
    ("Globex", "Energy", "hiro", ("jonas",)),
    ("Initech", "Software", "grace", ("kemi",)),
    ("Umbrella Health", "Healthcare", "sales", ()),
    ("Stark Logistics", "Logistics", "office", ("prospect",)),
)
# (title, company, creator, assignees)
TASKS = (
    ("Q3 report", "Acme Corp", "pm", ("teammate",)),
    ("Kick-off call", "Globex", "grace", ("ines", "fox")),
    ("Invoice review", "Acme Corp", "pm", ("freelancer",)),
    ("Update brand guide", None, "office", ("teammate",)),
    ("Onboard Kemi", "Initech", "grace", ("kemi",)),
)
NEW_TASKS = (
    "Prepare the workshop",
    "Draft the proposal",
    "Renew the support contract",
    "Book the venue",
    "Review the budget",
    "Plan the migration",
    "Send the survey",
    "Fix the onboarding checklist",
    "Collect testimonials",
    "Quarterly review",
    "Update the price list",
    "Train the new hire",
    "Write the case study",
)
# (title, company, owner, shared with, access code)
DOCUMENTS = (
    ("Master services agreement", "Acme Corp", "sales", ("client",), "MSA-7731"),
    ("Statement of work", "Globex", "hiro", ("jonas",), ""),
    ("Launch plan", None, "pm", (), ""),
    ("NDA", "Initech", "grace", ("kemi",), "NDA-0042"),
)
COMMENTS = (
    "Can we see a draft on Friday?",
    "Done on my side, over to you.",
    "Blocked until legal replies.",
    "I added the numbers from last quarter.",
    "Moving this to next week.",
    "Looks good to me.",
    "Who owns the follow-up?",
    "Call booked for Tuesday 10:00.",
)
NOTES = (
    "Prefers calls in the morning.",
    "Renewal due in spring.",
    "New procurement contact.",
    "Invoices by email only.",
)
STAFF = ("admin", "pm", "office", "teammate", "sales", "fox", "grace", "hiro", "ines")
# (from, to, subject, body); people by the part of their email before "@"
CONVERSATIONS = (
    ("admin", "pm", "Quarterly planning", "Can we book an hour on Thursday to plan Q4?"),
    ("pm", "admin", "Re: Quarterly planning", "Thursday 10:00 works. I will bring the roadmap."),
    ("pm", "teammate", "Q3 report draft", "Please share the draft by Friday noon."),
    ("teammate", "pm", "Re: Q3 report draft", "On it, the numbers are nearly done."),
    ("sales", "client", "Renewal", "Your contract renews next month; shall we talk options?"),
    ("client", "sales", "Re: Renewal", "Yes, please send the new price list first."),
    ("grace", "kemi", "Welcome to Initech onboarding", "Here is what to expect in week one."),
    ("kemi", "grace", "Re: Welcome to Initech onboarding", "Thanks! Who is my contact for IT?"),
    ("hiro", "jonas", "Statement of work", "The SOW is ready for your review."),
    ("jonas", "hiro", "Re: Statement of work", "Looks good, one question about milestones."),
    ("owner", "admin", "Hiring", "Let us open the second sales role this month."),
    ("admin", "owner", "Re: Hiring", "Agreed, I will draft the posting."),
    ("office", "fox", "Office keys", "Your new badge is at the front desk."),
    ("fox", "office", "Re: Office keys", "Picked it up, thanks."),
    ("ines", "grace", "Kick-off call agenda", "I added the budget to the agenda."),
    ("grace", "ines", "Re: Kick-off call agenda", "Great, let us keep it to 45 minutes."),
    ("sales", "prospect", "Following up", "Happy to arrange a demo of the platform."),
    ("prospect", "sales", "Re: Following up", "Next Tuesday afternoon would suit us."),
)
ROUNDS = 3  # each conversation three times over, on different days of the story


def seed_workspace(seed=7, days=DAYS):
    """Play the month's story (or its first ``days``) through the services, unless companies
    exist; return the number of actions performed."""
    if Company.select().exists():
        return 0
    people = {email.split("@")[0]: user for email, user in demo_users().items()}
    if "admin" not in people:
        return 0  # no demo people: nothing sensible to seed
    story = Story(people, random.Random(seed))
    with database.atomic():
        story.set_up(utcnow() - timedelta(days=days))
        for day in range(1, days):
            start = utcnow() - timedelta(days=days - day)
            minutes = sorted(story.rng.randrange(8 * 60, 18 * 60) for _ in range(11))
            for minute in minutes:
                with clock_at(start.replace(hour=0, minute=0) + timedelta(minutes=minute)):
                    story.next_action()
    return story.actions


def seed_private_messages():
    """Send the demo conversations as Private Messages, through the real path (each queues its
    mail; the Email plugin's demo delivers it), unless there are some; return how many."""
    people = {email.split("@")[0]: user for email, user in demo_users().items()}
    if PrivateMessage.select().exists() or "admin" not in people:
        return 0
    sent = 0
    for round_number in range(1, ROUNDS + 1):
        for author, reader, subject, body in CONVERSATIONS:
            if author in people and reader in people:
                title = subject if round_number == 1 else f"{subject} ({round_number})"
                send_private_message(people[author], [people[reader]], title, body)
                sent += 1
    return sent


class Story:
    """The demo's people and objects, and the next plausible thing one of them does."""

    def __init__(self, people, rng):
        self.people, self.rng, self.actions = people, rng, 0
        self.companies, self.documents, self.new_titles = {}, [], list(NEW_TASKS)

    def some(self, names):
        """Return the demo users named (those that exist)."""
        return [self.people[name] for name in names if name in self.people]

    def act(self, call, *args, **fields):
        """Perform one service call and count it."""
        self.actions += 1
        return call(*args, **fields)

    def set_up(self, moment):
        """Create the companies, tasks and documents on the first morning."""
        admin = self.people["admin"]
        step = iter(range(0, 600, 7))
        for name, industry, manager, members in COMPANIES:
            with clock_at(moment.replace(hour=9) + timedelta(minutes=next(step))):
                self.companies[name] = self.act(
                    services.create_company,
                    admin,
                    name=name,
                    industry=industry,
                    account_manager=self.people.get(manager),
                    members=self.some(members),
                )
        for title, company, creator, assignees in TASKS:
            with clock_at(moment.replace(hour=10) + timedelta(minutes=next(step))):
                self.act(
                    services.create_task,
                    self.people.get(creator, admin),
                    title=title,
                    company=self.companies.get(company),
                    assignees=self.some(assignees),
                )
        for title, company, owner, shared, code in DOCUMENTS:
            with clock_at(moment.replace(hour=11) + timedelta(minutes=next(step))):
                owner = self.people.get(owner, admin)
                self.documents.append(
                    self.act(
                        services.create_document,
                        owner,
                        title=title,
                        owner=owner,
                        company=self.companies.get(company),
                        shared_with=self.some(shared),
                        access_code=code,
                    )
                )

    def next_action(self):
        """Do one plausible thing: move a task on, comment, plan, edit, share or tidy up."""
        choice = self.rng.choices(
            [
                self.move_task,
                self.comment,
                self.new_task,
                self.edit_company,
                self.edit_document,
                self.tidy_up,
            ],
            weights=[3, 4, 2, 1, 2, 0.5],
        )[0]
        choice()

    def staff(self):
        """Return a random Staff Member."""
        return self.rng.choice(self.some(STAFF))

    def open_tasks(self):
        """Return the tasks not done yet, oldest first."""
        return list(Task.select().where(Task.status != DONE).order_by(Task.id))

    def move_task(self):
        """Start an open task, or finish one in progress (by someone on it)."""
        tasks = self.open_tasks()
        if not tasks:
            return self.new_task()
        task = self.rng.choice(tasks)
        assignees = [a.user for a in TaskAssignee.select().where(TaskAssignee.task == task.id)]
        if task.status == OPEN:
            return self.act(services.update_task, self.staff(), task, status=IN_PROGRESS)
        finisher = self.rng.choice(assignees) if assignees else self.staff()
        return self.act(services.complete_tasks, finisher, [task])

    def comment(self):
        """Comment on a task not done: its creator, an assignee, or a contact of its company."""
        tasks = self.open_tasks()
        if not tasks:
            return self.new_task()
        task = self.rng.choice(tasks)
        people = [a.user for a in TaskAssignee.select().where(TaskAssignee.task == task.id)]
        people.append(task.created_by)
        if task.company is not None:
            people += [m.user for m in task.company.memberships]
        author = self.rng.choice([person for person in people if person is not None])
        return self.act(services.comment_on_task, author, task, self.rng.choice(COMMENTS))

    def new_task(self):
        """Plan a new task for one or two Staff Members (a contact now and then)."""
        if not self.new_titles:  # the same kinds of work come round again
            self.new_titles = list(NEW_TASKS)
        title = self.new_titles.pop(self.rng.randrange(len(self.new_titles)))
        company = self.rng.choice([None, *self.companies.values()])
        assignees = self.rng.sample(self.some(STAFF), 2 if self.rng.random() < 0.3 else 1)
        creator = self.rng.choice(self.some(("pm", "grace", "office", "admin")))
        return self.act(
            services.create_task, creator, title=title, company=company, assignees=assignees
        )

    def edit_company(self):
        """Update a company's phone or notes, as its account manager."""
        company = self.rng.choice(list(self.companies.values()))
        editor = company.account_manager or self.people["admin"]
        if self.rng.random() < 0.5:
            phone = f"+1 555 0{self.rng.randrange(100, 999)}"
            return self.act(services.update_company, editor, company, phone=phone)
        notes = self.rng.choice(NOTES)
        return self.act(services.update_company, editor, company, notes=notes)

    def edit_document(self):
        """Revise a document (its owner), or share it with a contact of its company."""
        document = self.rng.choice(self.documents)
        contacts = list(document.company.memberships) if document.company is not None else []
        shared = {share.user_id for share in document.shares}
        unshared = [member.user for member in contacts if member.user_id not in shared]
        if unshared and self.rng.random() < 0.3:
            already = [share.user for share in document.shares]
            return self.act(
                services.update_document,
                document.owner,
                document,
                shared_with=[*already, unshared[0]],
            )
        revision = f"{document.body or 'First draft.'}\nRevised {utcnow():%d %B}."
        event = self.act(services.update_document, document.owner, document, body=revision[-2000:])
        for share in document.shares:  # the client opens the new version
            services.view_document(share.user, document)
        return event

    def tidy_up(self):
        """Delete a task done more than ten days ago, now and then, as a manager would."""
        week_ago = utcnow() - timedelta(days=10)
        done = list(Task.select().where((Task.status == DONE) & (Task.updated_at < week_ago)))
        if not done:
            return self.move_task()
        return self.act(services.delete_task, self.people["pm"], self.rng.choice(done))

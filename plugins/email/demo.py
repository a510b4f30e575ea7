"""Demo mail: Private Messages between several pairs, sent through the real path, and the
delivery of every queued demo message.

Without an SMTP server (the demo's default) each message ends "kept in the local outbox", by
the sender itself; a few are handed to a loopback port where nothing listens, so the tab also
shows failed messages, with the real "connection refused" error.
"""

import socket
from dataclasses import replace

from flask import current_app

from core.demo import demo_users
from plugins.email import sender
from plugins.email.models import PRIVATE_MESSAGE
from plugins.email.models import QUEUED
from plugins.email.models import EmailMessage

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
FAILED_EVERY = 17  # every 17th message is handed to a port where nothing listens


def seed_messages():
    """Send the demo conversations, then deliver every queued message; safe to run twice."""
    from plugins.workspace.messages import PrivateMessage
    from plugins.workspace.messages import send_private_message

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
    deliver_demo_messages()
    return sent


def deliver_demo_messages():
    """Deliver the queued messages now (kept without SMTP), a few of them to a dead port."""
    settings = current_app.extensions["email.settings"]
    queued = EmailMessage.select(EmailMessage.id, EmailMessage.kind).where(
        EmailMessage.status == QUEUED
    )
    with socket.socket() as unused:  # bound, never listening: every connection is refused
        unused.bind(("127.0.0.1", 0))
        dead = replace(settings, smtp_url=f"smtp://127.0.0.1:{unused.getsockname()[1]}",
                       timeout=2)  # fmt: skip
        for index, row in enumerate(list(queued.order_by(EmailMessage.id))):
            if row.kind == PRIVATE_MESSAGE and index % FAILED_EVERY == FAILED_EVERY - 1:
                sender.deliver(row.id, dead, final=True)
            elif not settings.smtp_url:
                sender.deliver(row.id, settings)

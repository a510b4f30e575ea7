"""Email: every notification and Private Message, sent from an outbox, viewed safely.

``outbox`` writes messages in the caller's transaction (the ``send_notification`` hook behind
``core.notifications.notify``), ``sender``, ``smtp`` and ``tasks`` deliver them after commit,
``mime`` builds what is sent, ``queries`` / ``filters`` / ``views`` are the Email tab on the
feed machinery, ``viewer`` shows a message safely (sanitised, in a sandboxed frame), ``demo``
delivers the demo's mail through the real path.

Delivery truth (docs/email.md): ``delivery`` records the reports received and moves a message's
delivery state; ``dsn`` reads a bounce (RFC 3464), ``bounces`` reads them from the return-path
mailbox (a maildir or IMAP; ``commands``: ``flask email read-bounces``, and a periodic task),
``webhook_views`` takes a provider's signed events and lifts a suppression, ``suppression``
keeps the addresses no notification goes to after a hard bounce.
"""

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from plugins.email import routes
from plugins.email import views
from plugins.email import webhook_views
from plugins.email.models import DELIVERY_MODELS
from plugins.email.models import MODELS
from plugins.email.models import add_delivery_truth
from plugins.email.queries import MIGRATIONS as SEARCH_MIGRATIONS

# The tab's own routes (frame, row poll, Resend) join its feed's blueprint once, at import: a
# blueprint takes no new route after its first app.
routes.attach(views.FEED)


@hookimpl
def register_models():
    """Return the outbox tables, and the delivery reports' and suppressions'."""
    return [*MODELS, *DELIVERY_MODELS]


@hookimpl
def register_migrations():
    """Create the outbox tables, then the full-text index of the messages (docs/search.md),
    then the delivery state, its reports and the suppressed addresses."""
    return [
        Migration("email.0001_outbox", create_tables(*MODELS)),
        *SEARCH_MIGRATIONS,
        Migration("email.0003_delivery_truth", add_delivery_truth),
    ]


@hookimpl
def register_blueprints(app):
    """Return the provider's delivery events and the lifting of a suppression (``/email``)."""
    return [webhook_views.bp]


@hookimpl
def startup(app):
    """Leave the signed delivery events out of the CSRF check; answer their errors as JSON."""
    webhook_views.init_app(app)


@hookimpl
def register_commands(cli):
    """Add ``flask email read-bounces``."""
    from plugins.email import commands

    commands.register(cli)


@hookimpl
def person_sections(viewer, person):
    """Show a suppressed address on Manage People's page of its person, with "Lift suppression"."""
    from plugins.email import suppression

    return suppression.person_section(viewer, person)


@hookimpl
def register_tasks(huey, app):
    """Register the delivery task, the periodic sweep and the periodic read of bounces."""
    from plugins.email import tasks

    tasks.register(huey, app)


@hookimpl
def send_notification(notification):
    """Write one outbox row per recipient in the caller's transaction; return their ids."""
    from plugins.email import outbox

    return outbox.send_notification(notification)


@hookimpl
def register_tabs():
    """Add the Email tab, after Activity."""
    return [views.FEED.tab(label="Email", order=20)]


@hookimpl
def object_urls(refs):
    """Link outbox messages (``email`` refs) to their page on the Email tab."""
    return views.message_urls(refs)


@hookimpl
def describe_event(event, viewer):
    """Phrase a resend on the Activity tab: "Ann Admin resent the email “Task completed: Q4
    plan” to Dana Scully" (the recipient as recorded in the summary, "to Dana Scully")."""
    if event.verb == "email.suppression_lifted":
        return views.describe_lift(event)
    if event.verb != "email.resent":
        return None
    return views.describe_resend(event)


@hookimpl
def person_records(person):
    """Give the messages to and from ``person`` to Manage People's export of their data."""
    from plugins.email import person_data

    return person_data.person_records(person)


@hookimpl(wrapper=True)
def seed_demo():
    """Deliver the mail the demo queued, after every other plugin's demo.

    A wrapper, so it runs after every other plugin's demo (whose actions queue notifications).
    """
    result = yield
    from plugins.email.demo import deliver_demo

    deliver_demo()
    return result


@hookimpl
def pseudonymise_person(person, replace):
    """Replace the person's name and email in the messages to and from them."""
    from plugins.email.pseudonyms import pseudonymise_messages

    return pseudonymise_messages(person, replace)

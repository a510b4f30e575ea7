"""``flask --app wsgi email …``: read the bounces back from the return-path mailbox now."""

import imaplib

import click
from flask import current_app
from flask.cli import AppGroup

from plugins.email import bounces

email_cli = AppGroup("email", help="The Email tab's outbox and delivery reports.")


@email_cli.command("read-bounces")
@click.option("--maildir", default=None, help="Read this maildir instead of the configured one.")
def read_bounces(maildir):
    """Read the delivery reports (bounces) waiting in the return-path mailbox."""
    if maildir:
        tally = bounces.read_maildir(maildir)
    else:
        try:
            tally = bounces.read_configured(current_app.config)
        except (OSError, imaplib.IMAP4.error) as error:
            raise click.ClickException(f"could not read the bounce mailbox: {error}") from None
        if tally is None:
            raise click.UsageError(
                "no bounce mailbox is configured: set ACTIVITY_STREAM_EMAIL_BOUNCE_MAILDIR or "
                "ACTIVITY_STREAM_EMAIL_BOUNCE_IMAP_URL, or give --maildir"
            )
    click.echo(tally.line())
    for problem in tally.problems:
        click.echo(f"skipped: {problem}")


def register(cli):
    """Add the ``email`` command group to ``cli``."""
    cli.add_command(email_cli)

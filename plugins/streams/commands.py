"""``flask --app wsgi streams …``: log streams added, listed and removed from the command line.

``add`` sends every list tab by default, read as the Super Admin sees them (``--owner`` names
an Admin instead), from the records committed after it on. Without ``--secret`` a secret is
made and printed as the last line, the only time it is shown by this command.
"""

import click
from flask.cli import AppGroup

from core.db import database
from core.people import User
from plugins.streams import destinations
from plugins.streams.models import StreamDestination
from plugins.streams.record import record_change

streams_cli = AppGroup("streams", help="Send records to other systems as they happen.")


@streams_cli.command("add")
@click.argument("url")
@click.option("--secret", default=None, help="The signing secret (16+ characters; made if absent).")
@click.option("--tabs", default="", help="Comma-separated tabs to send (default: every list tab).")
@click.option("--query", default="", help="Send only what this search finds (the box's language).")
@click.option("--name", default="", help="What the destination is (default: the URL's host).")
@click.option("--owner", default=None, help="Email of the admin whose view is sent.")
def add(url, secret, tabs, query, name, owner):
    """Send records to URL, each request signed with the secret."""
    person = _owner(owner)
    made = secret is None
    try:
        with database.atomic():
            destination = destinations.add(
                person,
                name,
                url,
                tabs=[tab for tab in tabs.split(",") if tab.strip()],
                query=query,
                secret=destinations.new_secret() if made else secret,
            )
            record_change(None, "created", destination)
    except destinations.Refused as refused:
        field, message = next(iter(refused.errors.items()))
        hint = {"url": "URL", "owner": "--owner"}.get(field, f"--{field}")
        raise click.BadParameter(message, param_hint=hint) from None
    _kick()
    click.echo(
        f"log stream {destination.id} “{destination.name}” → {destination.url}, "
        f"{describe_tabs(destination)}, as {person.email} sees them"
    )
    if made:
        click.echo("Its signing secret (shown once; keep it with the receiver):")
        click.echo(destination.secret)


@streams_cli.command("list")
def list_command():
    """List the destinations, their state and their last delivery."""
    rows = list(StreamDestination.select().order_by(StreamDestination.id))
    if not rows:
        click.echo("No log streams.")
        return
    for row in rows:
        owner = User.get_or_none(User.id == row.owner_id)
        last = f"{row.last_success_at:%Y-%m-%d %H:%M:%S} UTC" if row.last_success_at else "never"
        click.echo(
            f"{row.id}\t{row.state}\t{row.name}\t{row.url}\t{describe_tabs(row)}"
            f"\tquery={row.query or '-'}\towner={owner.email if owner else '?'}"
            f"\tdelivered={row.delivered}\tlast success {last}"
            + (f"\t{problem}" if (problem := row.paused_reason or row.last_error) else "")
        )


@streams_cli.command("remove")
@click.argument("destination_id", metavar="ID", type=click.IntRange(1, 2**31 - 1))
def remove(destination_id):
    """Stop sending to destination ID and forget it."""
    destination = StreamDestination.get_or_none(StreamDestination.id == destination_id)
    if destination is None:
        raise click.BadParameter(f"there is no log stream {destination_id}", param_hint="ID")
    with database.atomic():
        destinations.remove(destination_id)
        record_change(None, "deleted", destination)
    click.echo(f"log stream {destination_id} “{destination.name}” removed")


def describe_tabs(destination):
    """Return the tabs a destination sends, as a person reads them."""
    names = destination.tab_names()
    tabs = "every list tab" if not names else "tabs " + ", ".join(names)
    return f"{tabs}" + (f" matching {destination.query!r}" if destination.query else "")


def _owner(email):
    if email is None:
        person = destinations.default_owner()
        if person is None:
            raise click.UsageError("there is no active Super Admin; name an admin with --owner")
        return person
    person = User.get_or_none(User.email == email.strip().lower())
    if person is None:
        raise click.BadParameter(f"no person has the email {email}", param_hint="--owner")
    return person


def _kick():
    from flask import current_app

    kick = current_app.extensions.get("streams.kick")
    if kick is not None:
        kick()


def register(cli):
    """Add the ``streams`` command group to ``cli``."""
    cli.add_command(streams_cli)

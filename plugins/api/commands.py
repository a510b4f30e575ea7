"""``flask --app wsgi tokens …``: tokens made and ended from the command line.

``create`` prints the new token as its last line (so a script can take it with ``tail -n 1``),
the only time it is ever shown; ``list`` never shows a secret, only each token's first
characters. Each change is recorded like the Settings section's, with no actor.
"""

import click
from flask.cli import AppGroup

from core.db import database
from core.people import User
from plugins.api.settings_section import token_rows
from plugins.api.token_views import MAX_DAYS
from plugins.api.token_views import expiry_in_days
from plugins.api.token_views import name_error
from plugins.api.token_views import revoke_once
from plugins.api.tokens import NAME_LIMIT
from plugins.api.tokens import SCOPES
from plugins.api.tokens import create_token

HEADINGS = ("id", "name", "person", "scope", "starts", "created", "expires", "last used", "status")

tokens_cli = AppGroup("tokens", help="Make, list and revoke personal API tokens.")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help=f"What will use it (1 to {NAME_LIMIT} characters).")
@click.option("--scope", required=True, type=click.Choice(sorted(SCOPES)), help="What it may do.")
@click.option(
    "--expires-days",
    type=click.IntRange(1, MAX_DAYS),
    default=None,
    help="End it after this many days (default: never).",
)
def create(email, name, scope, expires_days):
    """Make a token for the person with EMAIL; print it last, the only time it is shown."""
    person = User.get_or_none(User.email == email.strip().lower())
    if person is None:
        raise click.BadParameter(f"no person has the email {email}", param_hint="EMAIL")
    if not person.is_active:
        raise click.BadParameter(
            f"{person.name} may not sign in, so a token of theirs would be refused",
            param_hint="EMAIL",
        )
    name = name.strip()
    if name_error(name):
        raise click.BadParameter(name_error(name), param_hint="--name")
    expires_at = expiry_in_days(expires_days) if expires_days else None
    with database.atomic():
        row, token = create_token(person, name, scope, by=None, expires_at=expires_at)
    ends = f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else "never expires"
    click.echo(f"token {row.id} “{row.name}” for {person.email}, scope {scope}, {ends}")
    click.echo("Copy it now: it is not shown again (only its digest is kept).")
    click.echo(token)


@tokens_cli.command("revoke")
@click.argument("token_id", metavar="ID", type=click.IntRange(1, 2**53 - 1))
def revoke(token_id):
    """End the token with ID at once: its next request is refused."""
    row, already = revoke_once(token_id, by=None)
    if row is None:
        raise click.BadParameter(f"no token has the id {token_id}", param_hint="ID")
    click.echo(f"token {row.id} “{row.name}” {'was already' if already else 'is'} revoked")


@tokens_cli.command("list")
def list_tokens():
    """List every token, newest first (never its secret: only its first characters)."""
    rows = token_rows()
    if not rows:
        click.echo("no tokens")
        return
    click.echo("\t".join(HEADINGS))
    for item in rows:
        token = item.token
        click.echo(
            "\t".join(
                (
                    str(token.id),
                    token.name,
                    item.person.email if item.person else "(deleted person)",
                    token.scope,
                    f"{token.shown}…",
                    _when(token.created_at),
                    _when(token.expires_at, "never"),
                    _when(token.last_used_at, "never"),
                    item.status,
                )
            )
        )


def register(cli):
    """Add the ``tokens`` command group to ``cli``."""
    cli.add_command(tokens_cli)


def _when(value, absent=""):
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else absent

"""The app's own ``flask`` commands: ``db``, ``users``, ``demo`` and ``stream``."""

import click
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext

from core import checkpointer
from core import migrations
from core.db import database
from core.evidence.commands import stream_cli
from core.people import User
from core.people import create_user
from core.plugins import call_at_startup
from core.plugins import hooks

db_cli = AppGroup("db", help="Create and upgrade the database schema.")
users_cli = AppGroup("users", help="Manage the people who may sign in.")


@db_cli.command("upgrade")
def db_upgrade():
    """Apply every pending migration; a failing one stops here, named, the rest left pending.

    Run on several hosts at once, each migration is applied by one of them; the others wait
    for it (saying so) and find nothing left to do.
    """

    def say_waiting():
        click.echo("another `db upgrade` of this database is running: waiting for it to end")

    try:
        applied = migrations.upgrade(current_app, on_wait=say_waiting)
    except migrations.MigrationError as error:
        raise click.ClickException(str(error)) from error
    for name in applied:
        click.echo(f"applied {name}")
    click.echo(f"database is up to date ({len(applied)} migration(s) applied)")


@db_cli.command("status")
def db_status():
    """List the migrations not yet applied."""
    waiting = migrations.pending(current_app)
    for migration in waiting:
        click.echo(f"pending {migration.name}")
    click.echo(f"{len(waiting)} pending migration(s)")


@users_cli.command("create")
@click.option("--name", required=True, help="Full name shown in the stream.")
@click.option("--email", required=True, help="Email used to sign in.")
@click.option("--role", "role_name", default="Super Admin", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--time-zone", default="UTC", show_default=True)
def users_create(name, email, role_name, password, time_zone):
    """Create a user (by default the Super Admin of a new install)."""
    if len(password) < 8:
        raise click.BadParameter("must be at least 8 characters", param_hint="--password")
    try:
        with database.atomic():
            user = create_user(name, email, role_name, password=password, time_zone=time_zone)
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        raise click.BadParameter(message, param_hint=f"--{field.replace('_', '-')}") from None
    click.echo(f"created {user.email} ({user.role.name})")


@users_cli.command("sign-out-everywhere")
@click.argument("email")
def users_sign_out_everywhere(email):
    """Revoke every session of the user with EMAIL (closing their session records too)."""
    from core.auth.views import sign_out_user_everywhere

    user = User.get_or_none(User.email == email.strip().lower())
    changed = user is not None and sign_out_user_everywhere(user.id, "signed out by command")
    if not changed:
        raise click.BadParameter(f"no user with email {email}", param_hint="EMAIL")
    click.echo(f"every session of {email} is revoked")


@click.command("demo")
@with_appcontext
def demo():
    """Seed demo people, teams and every plugin's demo history; safe to run twice."""
    from core.demo import seed_people

    if migrations.pending(current_app):
        raise click.UsageError("the database is not up to date: run `flask db upgrade` first")
    with database.atomic():
        seed_people()
    hooks(current_app).seed_demo()
    # A one-shot command: fold the write-ahead log back and close its connection, so the
    # database file is whole when the process exits, however long the seeding took.
    checkpointer.stop()
    click.echo("demo data is ready")


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@with_appcontext
def stream_prune(dry_run):
    """Remove every tab's records older than it keeps them, as the hourly task does; each
    tab's removal is recorded. With --dry-run, count them (exactly) and remove nothing."""
    from core import retention

    if migrations.pending(current_app):
        raise click.UsageError("the database is not up to date: run `flask db upgrade` first")
    outcomes = retention.prune_all(dry_run=dry_run)
    if outcomes is None:
        raise click.ClickException("another prune of this database is running: nothing done")
    if not outcomes:
        click.echo("every tab keeps its records forever: nothing to prune")
    for outcome in outcomes:
        cut_off = outcome.cut_off.isoformat(sep=" ", timespec="seconds")
        click.echo(
            f"{outcome.tab.name}: {'would remove' if dry_run else 'removed'} "
            f"{outcome.removed:,} record(s) older than {cut_off} UTC "
            f"({retention.describe_days(outcome.days)} kept)"
        )


def add_stream_command(cli, command):
    """Add ``command`` to ``flask stream``, the group of commands on the stream's records,
    making the group when nothing has yet."""
    group = cli.commands.get("stream")
    if group is None:
        group = AppGroup("stream", help="Commands on the stream's records.")
        cli.add_command(group)
    group.add_command(command)


def init_app(app):
    """Add core's commands and every plugin's to ``app.cli``."""
    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo)
    app.cli.add_command(stream_cli)
    add_stream_command(app.cli, stream_prune)
    call_at_startup(app, "register_commands", cli=app.cli)

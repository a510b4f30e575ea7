"""``flask stream seal`` and ``flask stream verify``: sealing on demand, and the integrity check
an auditor runs (exit status 1 when anything is found, naming the first bad record)."""

import click
from flask.cli import AppGroup

from core.evidence.seal import head_text
from core.evidence.seal import seal_all
from core.evidence.seal import sealed_tables
from core.evidence.verify import verify

stream_cli = AppGroup("stream", help="Seal and verify the record.")


@stream_cli.command("seal")
def stream_seal():
    """Seal every record committed since the last seal; print each chain's head."""
    made = seal_all()
    for table in sealed_tables():
        click.echo(f"{table.kind}: {made[table.kind]} new block(s); head {head_text(table.kind)}")


@stream_cli.command("verify")
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="HEAD",
    help="A head kept elsewhere (kind:seq:last_id:mac), to detect a truncated tail.",
)
def stream_verify(heads):
    """Verify the chain of seals and every sealed record; exit 1 naming the first bad record
    of each kind of tampering."""
    report = verify(heads)
    for finding in report.findings:
        click.echo(finding.text(), err=True)
    click.echo(f"{report.records:,} records in {report.blocks:,} blocks checked")
    for chain, head in report.heads.items():
        click.echo(f"{chain}: head {head or 'none (nothing sealed yet)'}")
    if not report.ok:
        raise click.exceptions.Exit(1)

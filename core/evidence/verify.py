"""Verification: the chain of blocks and every sealed record, against the tables as they are.

For each sealed table, block by block in sequence:

- **block header changed**: a block's MAC does not match its header (its pairs, range,
  count or time edited), or it does not name the previous block's MAC, or its sequence
  number or id range does not follow the previous block's (a block removed or added);
- then each record of the block's id range is digested again and compared with the pairs:
  - **field modified**: a record's digest differs (a column, or its audience, changed);
  - **rows reordered**: a record's content is another sealed record's (ids swapped);
  - **row deleted**: a sealed id is missing from the table;
  - **row inserted**: the table holds an id the block did not seal;
- **tail truncated**: the chain is shorter than a head kept elsewhere, or the head's block
  is not the one in the chain.

The report names the first bad record (or block) of each kind found, and how many records
were checked. Verification reads the tables in id ranges of one block, so its memory is one
block's, whatever the size of the store.
"""

from dataclasses import dataclass
from dataclasses import field

from core.evidence.seal import PruneNote
from core.evidence.seal import SealBlock
from core.evidence.seal import block_mac
from core.evidence.seal import digests
from core.evidence.seal import head_of
from core.evidence.seal import is_cleared
from core.evidence.seal import note_mac
from core.evidence.seal import pruned_ids
from core.evidence.seal import seal_key
from core.evidence.seal import sealed_tables
from core.evidence.seal import unpack

KINDS = (
    "block header changed",
    "field modified",
    "rows reordered",
    "row deleted",
    "row inserted",
    "tail truncated",
)


@dataclass
class Finding:
    """The first bad record (or block) of one kind of tampering in one chain."""

    chain: str
    kind: str
    where: str  # "record 1234" or "block 5"
    detail: str

    def text(self):
        """Return the finding as one line."""
        return f"{self.chain}: {self.kind} at {self.where}: {self.detail}"


@dataclass
class Report:
    """What verification found: ``findings`` (empty when everything verifies), the records
    and blocks checked, and each chain's head."""

    findings: list = field(default_factory=list)
    records: int = 0
    blocks: int = 0
    pruned: int = 0  # sealed records retention removed, each named by a valid prune note
    heads: dict = field(default_factory=dict)

    @property
    def ok(self):
        """Tell whether nothing was found."""
        return not self.findings

    def add(self, chain, kind, where, detail):
        """Keep the finding unless one of its kind was already found in ``chain``."""
        if not any(f.chain == chain and f.kind == kind for f in self.findings):
            self.findings.append(Finding(chain, kind, where, detail))


def verify(heads=(), key=None, progress=None):
    """Verify every sealed table; ``heads`` are heads kept elsewhere (``head_text``) to check
    the tails against. Return a ``Report``.

    ``progress(records, blocks)``, when given, is called after each block with the records
    and blocks checked so far (over every chain); an exception it raises stops the
    verification and reaches the caller."""
    key = key or seal_key()
    report = Report()
    for table in sealed_tables():
        verify_chain(table, key, report, progress)
    for head in heads:
        check_head(head, report)
    return report


def verify_chain(table, key, report, progress=None):
    """Verify one sealed table's chain and records into ``report``; ``progress`` as
    ``verify``'s."""
    chain = table.kind
    previous = None
    blocks = SealBlock.select().where(SealBlock.kind == chain).order_by(SealBlock.seq)
    for block in blocks.iterator():
        report.blocks += 1
        where = f"block {block.seq}"
        expected_seq = previous.seq + 1 if previous else 1
        expected_first = previous.last_id + 1 if previous else 1
        if block_mac(key, block) != block.mac:
            report.add(chain, KINDS[0], where, "its MAC does not match its header")
        elif block.previous_mac != (previous.mac if previous else ""):
            report.add(chain, KINDS[0], where, "it does not follow the previous block")
        elif block.seq != expected_seq or block.first_id != expected_first:
            report.add(
                chain, KINDS[0], where, f"expected block {expected_seq} from id {expected_first}"
            )
        check_records(table, key, block, report)
        if progress is not None:
            progress(report.records, report.blocks)
        previous = block
    report.heads[chain] = head_of(previous)


def pruned_in(key, block, report):
    """Return the ids retention removed from ``block``, by its prune notes; a note whose MAC
    fails is a finding (it was written or edited without the key), and names nothing."""
    pruned = set()
    notes = PruneNote.select().where((PruneNote.kind == block.kind) & (PruneNote.seq == block.seq))
    for note in notes:
        if note_mac(key, note) != note.mac:
            detail = "a prune note's MAC does not match it"
            report.add(block.kind, KINDS[0], f"block {block.seq}", detail)
            continue
        pruned.update(pruned_ids(note))
    return pruned


def check_records(table, key, block, report):
    """Compare the block's sealed pairs with its id range's records as they are now; a
    sealed record that retention removed (a valid prune note names it) is expected gone."""
    chain = table.kind
    if is_cleared(block):
        check_cleared(table, key, block, report)
        return
    sealed = dict(unpack(block.pairs))
    current = dict(digests(key, table, block.first_id, block.last_id))
    pruned = pruned_in(key, block, report)
    report.records += len(current)
    report.pruned += len(pruned)
    by_digest = {digest: record_id for record_id, digest in sealed.items()}
    for record_id in sorted(sealed.keys() | current.keys()):
        was, now = sealed.get(record_id), current.get(record_id)
        if record_id in pruned and was is not None:
            if now is not None:
                detail = "removed by retention, and back"
                report.add(chain, "row inserted", f"record {record_id}", detail)
            continue
        if was == now:
            continue
        where = f"record {record_id}"
        if now is None:
            report.add(chain, "row deleted", where, f"sealed in block {block.seq}, now missing")
        elif was is None:
            report.add(chain, "row inserted", where, f"in block {block.seq}'s range, never sealed")
        elif by_digest.get(now, record_id) != record_id:
            other = by_digest[now]
            report.add(chain, "rows reordered", where, f"holds what record {other} held")
        else:
            report.add(chain, "field modified", where, "its content differs from its seal")


def check_cleared(table, key, block, report):
    """Check a block whose pairs were cleared: its prune notes must name as many of its ids as
    it sealed, and its id range must hold no record."""
    chain, where = table.kind, f"block {block.seq}"
    pruned = {i for i in pruned_in(key, block, report) if block.first_id <= i <= block.last_id}
    report.pruned += len(pruned)
    if len(pruned) != block.count:
        detail = f"cleared, but its prune notes name {len(pruned)} of its {block.count} records"
        report.add(chain, "row deleted", where, detail)
    model = table.model
    back = model.select(model.id).where(model.id.between(block.first_id, block.last_id))
    found = back.order_by(model.id).first()
    if found is not None:
        detail = f"in cleared block {block.seq}'s range, all of whose records were pruned"
        report.add(chain, "row inserted", f"record {found.id}", detail)


def check_head(head, report):
    """Check a head kept elsewhere (``kind:seq:last_id:mac``) against the chain."""
    try:
        chain, seq, last_id, mac = head.strip().split(":")
        seq, last_id = int(seq), int(last_id)
    except ValueError:
        report.add("?", "tail truncated", "the head given", f"not a head: {head[:80]!r}")
        return
    block = SealBlock.get_or_none((SealBlock.kind == chain) & (SealBlock.seq == seq))
    if block is None:
        report.add(
            chain,
            "tail truncated",
            f"block {seq}",
            f"the chain has no block {seq} (last id {last_id})",
        )
    elif block.mac != mac or block.last_id != last_id:
        report.add(
            chain, "tail truncated", f"block {seq}", "the chain's block differs from the head kept"
        )

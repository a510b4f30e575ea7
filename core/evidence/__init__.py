"""Evidence: what makes the record worth trusting after the fact.

- ``seal``: sealing. Each record gets a keyed digest of its canonical content; records are
  sealed in blocks chained by an HMAC whose key is not in the database.
- ``verify``: checking the chain and every sealed record against the tables, naming the
  first bad record of each kind of tampering.
- ``commands``: ``flask stream seal`` and ``flask stream verify``.
"""

"""The search language and the full-text index behind the search box of every list tab.

- ``language``: parsing the box's text into terms (``key:value``, ``-key:value``, quoted
  phrases, ``created:a..b``), with every refusal collected per field;
- ``names``: matching a typed person's name or email to people;
- ``index``: the words index (FTS5 on SQLite, ``tsvector`` on PostgreSQL) a tab declares.
"""

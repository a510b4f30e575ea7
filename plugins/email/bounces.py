"""Reading bounces back from the return-path mailbox: a local maildir or an IMAP mailbox.

Each new message is parsed as a DSN (``dsn.parse``) and its reports recorded
(``delivery.record``), then marked processed so it is not read again: in a maildir it moves to
``cur/`` with the Seen flag (``S``); in IMAP it is flagged ``\\Seen`` and, when a folder is
configured for it, moved there. A message is marked only once its reports are committed; a
reader stopped in between reads it again, and recording it twice is a no-op (each report has
its key). A message that is no usable report (an auto-reply, spam) is marked too, and counted.
"""

import contextlib
import imaplib
import logging
import mailbox
import re
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import unquote
from urllib.parse import urlsplit

from plugins.email import delivery
from plugins.email import dsn

log = logging.getLogger(__name__)

PROCESSED_FLAG = "S"


@dataclass
class Tally:
    """What one read found: messages read, reports recorded, duplicates, unmatched, skipped."""

    messages: int = 0
    recorded: int = 0
    duplicates: int = 0
    unmatched: int = 0
    skipped: int = 0
    problems: list = field(default_factory=list)  # why each skipped message was skipped

    def line(self):
        """Return the tally as one line people read."""
        return (
            f"{self.messages} messages read: {self.recorded} reports recorded, "
            f"{self.duplicates} already recorded, {self.unmatched} about no message of the "
            f"outbox, {self.skipped} skipped (no usable delivery report)"
        )


def process(raw, tally):
    """Parse ``raw`` (one message's bytes) as a DSN and record its reports into ``tally``.
    Never raises for a bad message: it is counted as skipped."""
    tally.messages += 1
    try:
        reports = dsn.parse(raw)
    except dsn.Unusable as why:
        tally.skipped += 1
        tally.problems.append(str(why))
        return
    except Exception as error:  # a message no parser foresaw: skipped, never the whole read
        log.exception("a bounce could not be read")
        tally.skipped += 1
        tally.problems.append(f"unreadable: {type(error).__name__}: {error}"[:200])
        return
    for report in reports:
        result, _ = delivery.record(report)
        if result == delivery.RECORDED:
            tally.recorded += 1
        elif result == delivery.DUPLICATE:
            tally.duplicates += 1
        else:
            tally.unmatched += 1


def read_maildir(path, tally=None):
    """Read every message of the maildir at ``path`` not yet processed; return the tally."""
    tally = tally or Tally()
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in list(box.keys()):
        try:
            message = box.get_message(key)
            raw = box.get_bytes(key)  # exactly as delivered
        except KeyError:  # taken by another reader meanwhile
            continue
        if PROCESSED_FLAG in message.get_flags():
            continue
        process(raw, tally)
        message.set_subdir("cur")
        message.add_flag(PROCESSED_FLAG)
        try:
            box[key] = message
        except KeyError:
            continue
    return tally


@dataclass(frozen=True)
class ImapSettings:
    """Where the IMAP mailbox is: ``imap[s]://user:password@host:port/Folder[?starttls=1]``,
    and the folder processed messages move to ("" : they stay, flagged ``\\Seen``)."""

    url: str
    done_folder: str = ""
    timeout: float = 30

    @property
    def parts(self):
        """Return the URL's parts."""
        return urlsplit(self.url)


def connect_imap(settings):
    """Return an ``imaplib`` connection signed in to the mailbox, its folder selected."""
    parts = settings.parts
    if parts.scheme == "imaps":
        conn = imaplib.IMAP4_SSL(parts.hostname, parts.port or 993, timeout=settings.timeout)
    else:
        conn = imaplib.IMAP4(parts.hostname, parts.port or 143, timeout=settings.timeout)
        if "starttls=1" in parts.query:
            conn.starttls()
    folder = unquote(parts.path.strip("/")) or "INBOX"
    try:
        conn.login(unquote(parts.username or ""), unquote(parts.password or ""))
        status, _ = conn.select(_quoted(folder))
        if status != "OK":
            raise OSError(f"IMAP folder {folder!r} could not be opened")
    except BaseException:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.shutdown()
        raise
    return conn


def read_imap(settings, tally=None):
    """Read every unseen message of the IMAP mailbox; return the tally."""
    tally = tally or Tally()
    conn = connect_imap(settings)
    try:
        status, data = conn.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise OSError(f"IMAP SEARCH failed: {data!r}")
        for uid in (data[0] or b"").split():
            status, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = _fetched_bytes(fetched) if status == "OK" else None
            if raw is None:
                continue
            process(raw, tally)
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            if settings.done_folder:
                _move(conn, uid, settings.done_folder)
        if settings.done_folder:
            conn.expunge()
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return tally


def _move(conn, uid, folder):
    status, _ = conn.uid("COPY", uid, _quoted(folder))
    if status == "OK":
        conn.uid("STORE", uid, "+FLAGS", "(\\Deleted)")


def _fetched_bytes(fetched):
    for item in fetched or ():
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _quoted(folder):
    return '"' + re.sub(r'(["\\])', r"\\\1", folder) + '"'


def read_configured(config):
    """Read each configured bounce mailbox (``EMAIL_BOUNCE_MAILDIR``, ``EMAIL_BOUNCE_IMAP_URL``);
    return the tally, or None when neither is set."""
    maildir, imap = config.get("EMAIL_BOUNCE_MAILDIR"), config.get("EMAIL_BOUNCE_IMAP_URL")
    if not maildir and not imap:
        return None
    tally = Tally()
    if maildir:
        read_maildir(maildir, tally)
    if imap:
        settings = ImapSettings(
            imap, config.get("EMAIL_BOUNCE_IMAP_DONE_FOLDER") or "", config["SMTP_TIMEOUT"]
        )
        read_imap(settings, tally)
    return tally

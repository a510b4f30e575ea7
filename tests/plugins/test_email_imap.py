"""Bounces read from an IMAP mailbox (``imaplib``), against a small IMAP4rev1 server run in the
test on loopback: just the commands the reader sends (LOGIN, SELECT, UID SEARCH/FETCH/STORE/
COPY, EXPUNGE, LOGOUT), over a real socket. SQLite and PostgreSQL.
"""

import re
import socketserver
import threading

import pytest

from core.notifications import Notification
from core.notifications import notify
from plugins.email import bounces
from plugins.email.models import BOUNCED
from plugins.email.models import EmailDeliveryReport
from plugins.email.models import EmailMessage
from tests.examples import workspace
from tests.plugins import dsn_fixtures

workspace("services")  # the mail templates are the workspace example's

USER, PASSWORD = "bounces", "imap-secret"
RETURN_PATH = "bounces@activity-stream.test"


class Store:
    """The server's folders: ``{name: [[uid, flags, bytes], …]}``, and the commands seen."""

    def __init__(self):
        self.folders = {"INBOX": [], "Processed": []}
        self.next_uid = 1
        self.commands = []

    def append(self, raw, folder="INBOX"):
        """Deliver ``raw`` into ``folder``."""
        self.folders[folder].append([self.next_uid, set(), raw])
        self.next_uid += 1


class Handler(socketserver.StreamRequestHandler):
    """One IMAP session: enough of RFC 3501 for ``imaplib`` and the bounce reader."""

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        store = self.server.store
        folder = None
        self.reply("* OK test IMAP4rev1 server ready")
        while line := self.rfile.readline():
            tag, _, rest = line.decode().strip().partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            store.commands.append(f"{command} {args}".strip())
            if command == "CAPABILITY":
                self.reply("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
            elif command == "LOGIN":
                user, password = [a.strip('"') for a in args.split(" ", 1)]
                if (user, password) != (USER, PASSWORD):
                    self.reply(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
                    continue
            elif command == "SELECT":
                folder = args.strip('"')
                self.reply(f"* {len(store.folders[folder])} EXISTS")
                self.reply("* FLAGS (\\Seen \\Deleted)")
                self.reply(f"{tag} OK [READ-WRITE] SELECT completed")
                continue
            elif command == "UID":
                self.uid(tag, args, store.folders[folder], store)
                continue
            elif command == "EXPUNGE":
                box = store.folders[folder]
                for index in reversed(range(len(box))):
                    if "\\Deleted" in box[index][1]:
                        del box[index]
                        self.reply(f"* {index + 1} EXPUNGE")
            elif command == "LOGOUT":
                self.reply("* BYE logging out")
                self.reply(f"{tag} OK LOGOUT completed")
                return
            else:
                self.reply(f"{tag} BAD unknown command")
                continue
            self.reply(f"{tag} OK {command} completed")

    def uid(self, tag, args, box, store):
        sub, _, rest = args.partition(" ")
        sub = sub.upper()
        by_uid = {m[0]: (i, m) for i, m in enumerate(box)}
        if sub == "SEARCH":
            unseen = [str(m[0]) for m in box if "\\Seen" not in m[1]]
            self.reply("* SEARCH" + "".join(f" {u}" for u in unseen))
        elif sub == "FETCH":
            uid = int(rest.split(" ", 1)[0])
            index, (_, _, raw) = by_uid[uid]
            self.wfile.write(f"* {index + 1} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode())
            self.wfile.write(raw + b")\r\n")
        elif sub == "STORE":
            uid_text, _, flags = rest.partition(" ")
            index, message = by_uid[int(uid_text)]
            message[1].update(re.findall(r"\\\w+", flags))
            self.reply(f"* {index + 1} FETCH (UID {message[0]} FLAGS ({' '.join(message[1])}))")
        elif sub == "COPY":
            uid_text, _, target = rest.partition(" ")
            store.append(by_uid[int(uid_text)][1][2], target.strip('"'))
        self.reply(f"{tag} OK UID {sub} completed")


@pytest.fixture
def imap_server():
    """Run the IMAP server on a free loopback port; yield its store and port."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.store = Store()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.store, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_bounces_are_read_from_imap_flagged_and_moved(make_app, people, smtp_server, imap_server):
    store, port = imap_server
    url = f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX"
    app = make_app(
        SMTP_URL=smtp_server.url,
        EMAIL_RETURN_PATH=RETURN_PATH,
        EMAIL_BOUNCE_IMAP_URL=url,
        EMAIL_BOUNCE_IMAP_DONE_FOLDER="Processed",
    )
    dana = people["teammate@example.com"]
    with app.app_context():
        (message_id,) = notify(
            Notification(
                kind="task.assigned",
                recipients=(dana,),
                subject="Task assigned to you: Q4 plan",
                template="workspace/mail/task_commented",
                context={"actor_name": "T", "title": "A task", "body": "B", "link": None},
            )
        )
    (envelope,) = smtp_server.received
    store.append(dsn_fixtures.postfix_bounce(envelope.original_content, dana.email, RETURN_PATH))
    store.append(dsn_fixtures.out_of_office(RETURN_PATH))

    result = app.test_cli_runner().invoke(args=["email", "read-bounces"])
    assert result.exit_code == 0, result.output
    assert "2 messages read: 1 reports recorded" in result.output and "1 skipped" in result.output
    with app.app_context():
        assert EmailMessage.get_by_id(message_id).delivery == BOUNCED
        assert EmailDeliveryReport.select().count() == 1
    # Both processed: flagged, copied to the done folder, gone from the inbox.
    assert store.folders["INBOX"] == []
    assert len(store.folders["Processed"]) == 2
    assert any(c.startswith("UID FETCH") and "BODY.PEEK[]" in c for c in store.commands)
    # Read again: nothing new.
    again = app.test_cli_runner().invoke(args=["email", "read-bounces"])
    assert "0 messages read" in again.output


def test_without_a_done_folder_messages_stay_flagged_seen(app, people, imap_server):
    store, port = imap_server
    store.append(dsn_fixtures.out_of_office(RETURN_PATH))
    settings = bounces.ImapSettings(f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX")
    with app.app_context():
        assert bounces.read_imap(settings).skipped == 1
        assert bounces.read_imap(settings).messages == 0
    assert store.folders["INBOX"][0][1] == {"\\Seen"}


def test_a_refused_login_stops_the_read_and_the_task_tries_later(make_app, people, imap_server):
    del people
    store, port = imap_server
    store.append(dsn_fixtures.out_of_office(RETURN_PATH))
    app = make_app(EMAIL_BOUNCE_IMAP_URL=f"imap://{USER}:wrong@127.0.0.1:{port}/INBOX")
    result = app.test_cli_runner().invoke(args=["email", "read-bounces"])
    assert result.exit_code != 0
    assert "could not read the bounce mailbox" in result.output
    assert "invalid credentials" in result.output
    app.extensions["email.tasks"]["read_bounces"].call_local()  # logged, not raised
    assert store.folders["INBOX"][0][1] == set()

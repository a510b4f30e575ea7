"""SQLite writers line up before BEGIN IMMEDIATE (``core.db.QueuedSqliteDatabase``): a writer
waits for the one in front, and a writer killed inside its transaction never blocks the rest."""

import subprocess
import sys
import textwrap
import threading

from core.db import open_database
from core.testing import stop_process

HOLDER = textwrap.dedent(
    """
    import sys, time
    from core.db import open_database
    db = open_database(sys.argv[1])
    with db.atomic():
        db.execute_sql("INSERT INTO note (text) VALUES ('uncommitted')")
        print("holding", flush=True)
        time.sleep(600)
    """
)


def _notes(url):
    db = open_database(url)
    try:
        return [row[0] for row in db.execute_sql("SELECT text FROM note ORDER BY rowid")]
    finally:
        db.close_all()


def test_a_writer_killed_in_its_transaction_lets_the_next_one_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    db = open_database(url)
    db.execute_sql("CREATE TABLE note (text TEXT NOT NULL)")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True, cwd=sys.path[0]
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        written = threading.Event()

        def write():
            with db.atomic():
                db.execute_sql("INSERT INTO note (text) VALUES ('after')")
            written.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not written.wait(0.5)  # in line behind the open transaction
        holder.kill()  # SIGKILL: the kernel drops its locks, SQLite rolls its write back
        assert written.wait(10)
        writer.join()
    finally:
        stop_process(holder)
        holder.stdout.close()
        db.close_all()
    assert _notes(url) == ["after"]


def test_writers_of_one_process_take_turns_and_none_fails(tmp_path):
    url = f"sqlite:///{tmp_path / 'turns.sqlite3'}"
    db = open_database(url)
    db.execute_sql("CREATE TABLE note (text TEXT NOT NULL)")
    errors = []

    def write(name):
        try:
            for n in range(50):
                with db.atomic():
                    db.execute_sql("INSERT INTO note (text) VALUES (?)", (f"{name}-{n}",))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    db.close_all()
    assert errors == []
    notes = _notes(url)
    assert len(notes) == len(set(notes)) == 400

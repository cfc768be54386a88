"""SQLite writers of different processes queue on one file lock beside the database.

The lock file stays open between writes; a forked child must not reuse its parent's open file,
because flock would then treat the two as one holder.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
from pathlib import Path

from priorauth.store.db import Database, open_database, upgrade


def _child_is_kept_out(db: Database, answer: multiprocessing.connection.Connection) -> None:
    handle = db._lock_handle()  # the child's own open file (not _write_lock: fork copied it held)
    assert handle is not None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        answer.send("kept out")
    else:
        answer.send("got the lock while the parent held it")
    answer.close()
    os._exit(0)


def test_a_forked_child_does_not_share_the_parents_write_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    db = open_database(url)
    try:
        with db.write_connection():
            first = db._lock_file
            assert first is not None and first[0] == os.getpid()
            context = multiprocessing.get_context("fork")
            ours, theirs = context.Pipe()
            child = context.Process(target=_child_is_kept_out, args=(db, theirs))
            child.start()
            assert ours.poll(20)
            assert ours.recv() == "kept out"
            child.join(20)
        # The parent keeps one open file across writes.
        with db.write_connection():
            assert db._lock_file is first
    finally:
        db.dispose()
    assert db._lock_file is None

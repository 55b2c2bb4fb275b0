"""Quiz progress in SQLite: every graded answer, and an SM-2 card per question.

Each answer is committed on its own (WAL journal), so killing the process
loses at most the answer being typed.  ``PRAGMA user_version`` holds the
schema version (1: first release; 2: ``attempts.answered_at``); older files
are upgraded in place, newer or foreign ones are refused, never overwritten.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from derive.errors import BpttError

from .schedule import Card, review, streak

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    qid TEXT NOT NULL,
    topic TEXT NOT NULL,
    variant TEXT NOT NULL,        -- the Variant as JSON: seed, generated params, answer spec
    answer TEXT NOT NULL,
    status TEXT NOT NULL,         -- correct | incorrect | skipped
    score REAL NOT NULL,
    hinted INTEGER NOT NULL,
    day TEXT NOT NULL,            -- ISO date of the answer on the review clock (BPTT_TODAY)
    answered_at TEXT NOT NULL DEFAULT ''  -- wall-clock UTC time, ISO 8601
);
CREATE TABLE IF NOT EXISTS cards (
    qid TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    easiness REAL NOT NULL,
    interval INTEGER NOT NULL,
    repetitions INTEGER NOT NULL,
    due TEXT NOT NULL,
    lapses INTEGER NOT NULL
);
"""


def default_path() -> Path:
    """``$BPTT_DB``, else ``$XDG_DATA_HOME/bptt/progress.sqlite3`` (``~/.local/share`` by default)."""
    if os.environ.get("BPTT_DB"):
        return Path(os.environ["BPTT_DB"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "bptt" / "progress.sqlite3"


class Store:
    """An open progress database; use as a context manager."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), isolation_level=None)
            self._init()
        except sqlite3.DatabaseError as err:
            if any(w in str(err) for w in ("unable to open", "readonly", "disk I/O")):
                raise self._cannot(err) from None
            raise BpttError(f"{self.path} is not a bptt progress database ({err}); "
                            "move it aside or choose another file with --db") from None
        except OSError as err:
            raise self._cannot(err.strerror) from None

    def _cannot(self, why):
        return BpttError(f"cannot open progress database {self.path} ({why}); choose a writable file with --db")

    def _init(self):
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version == 0 and tables - {"attempts", "cards"}:
            raise sqlite3.DatabaseError("it holds other tables")
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema {version} is newer than this bptt ({SCHEMA_VERSION})")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        if version == 1:
            self.db.execute("ALTER TABLE attempts ADD COLUMN answered_at TEXT NOT NULL DEFAULT ''")
        self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.db.close()

    def card(self, qid: str) -> Card:
        row = self.db.execute("SELECT easiness, interval, repetitions, due, lapses FROM cards WHERE qid=?",
                              (qid,)).fetchone()
        return Card(*row) if row else Card()

    def record(self, question, variant, answer: str, status: str, score: float, hinted: bool, q: int, day):
        """Store one answer and update the question's card, in one committed transaction."""
        import datetime as dt
        card = review(self.card(question.id), q, day)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO attempts (qid, topic, variant, answer, status, score, hinted, day, "
                            "answered_at) VALUES (?,?,?,?,?,?,?,?,?)",
                            (question.id, question.topic, variant.dumps(), answer, status, score, int(hinted),
                             day.isoformat(), now))
            self.db.execute("INSERT OR REPLACE INTO cards VALUES (?,?,?,?,?,?,?)",
                            (question.id, question.topic, card.easiness, card.interval, card.repetitions,
                             card.due, card.lapses))
        return card

    def due(self, day) -> list:
        """Question ids due on or before ``day``, most overdue first."""
        rows = self.db.execute("SELECT qid FROM cards WHERE due <= ? ORDER BY due, qid", (day.isoformat(),))
        return [r[0] for r in rows]

    def counts(self) -> dict:
        """How many times each question was asked (answers and skips)."""
        return dict(self.db.execute("SELECT qid, COUNT(*) FROM attempts GROUP BY qid"))

    def attempts(self) -> list:
        """Every attempt as a dict, oldest first."""
        cur = self.db.execute("SELECT qid, topic, variant, answer, status, score, hinted, day, answered_at "
                              "FROM attempts ORDER BY id")
        return [dict(zip([d[0] for d in cur.description], r)) for r in cur]

    def stats(self, day) -> dict:
        """Answers (skips apart), accuracy by topic, reviews due today and tomorrow, day streak."""
        import datetime as dt
        rows = self.db.execute("SELECT topic, SUM(status!='skipped'), SUM(status='correct'), SUM(status='skipped') "
                               "FROM attempts GROUP BY topic ORDER BY topic").fetchall()
        days = {r[0] for r in self.db.execute("SELECT DISTINCT day FROM attempts WHERE status!='skipped'")}
        due_today = len(self.due(day))
        return {"answered": sum(r[1] for r in rows), "correct": sum(r[2] for r in rows),
                "skipped": sum(r[3] for r in rows),
                "by_topic": {r[0]: {"answered": r[1], "correct": r[2]} for r in rows if r[1]},
                "due_today": due_today, "due_tomorrow": len(self.due(day + dt.timedelta(days=1))) - due_today,
                "streak": streak(days, day), "cards": self.db.execute("SELECT COUNT(*) FROM cards").fetchone()[0]}

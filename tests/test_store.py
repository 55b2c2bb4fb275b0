"""SM-2 schedule and the SQLite progress store."""
import datetime as dt
import sqlite3

import pytest

from derive.errors import BpttError
from quiz.bank import parse_bank
from quiz.schedule import Card, quality, review
from quiz.store import Store

DAY = dt.date(2026, 11, 24)
BANK = """
- id: t.one
  topic: lstm
  text: {en: "One?", zh: "一？"}
  solution: {en: "Yes.", zh: "是。"}
  answer: {kind: truefalse, value: true}
  samples: {correct: ["true"], incorrect: ["false"]}
"""


def test_sm2_intervals_grow_1_6_then_by_easiness():
    card, seen = review(Card(), 1, DAY), []  # missed at first sight: the classic SM-2 sequence
    for _ in range(4):
        card = review(card, 5, DAY)
        seen.append(card.interval)
    # EF: 2.5 -> 1.96 after the miss (2.6 - 4 * 0.16), then +0.1 per perfect answer
    assert seen == [1, 6, round(6 * 2.26), round(round(6 * 2.26) * 2.36)]
    assert card.easiness == pytest.approx(2.36)


def test_known_at_first_sight_returns_after_six_days():
    card = review(Card(), 5, DAY)
    assert (card.interval, card.due) == (6, "2026-11-30")


def test_sm2_lapse_restarts_and_is_due_tomorrow_and_easiness_floors():
    card = review(review(Card(), 5, DAY), 1, DAY)
    assert (card.repetitions, card.interval, card.lapses, card.due) == (0, 1, 1, "2026-11-25")
    for _ in range(20):
        card = review(card, 0, DAY)
    assert card.easiness == 1.3


def test_quality_from_verdict():
    assert [quality("correct", False), quality("correct", True), quality("incorrect", False),
            quality("skipped", False)] == [5, 3, 1, 0]


def test_record_round_trip_and_due(tmp_path):
    q = parse_bank(BANK, "t")[0]
    v = q.generate(4)
    with Store(tmp_path / "p.db") as st:
        st.record(q, v, "false", "incorrect", 0.0, False, 1, DAY)
        assert st.due(DAY) == [] and st.due(DAY + dt.timedelta(days=1)) == ["t.one"]
    with Store(tmp_path / "p.db") as st:
        (row,) = st.attempts()
        assert row["answer"] == "false" and '"seed": 4' in row["variant"] and row["topic"] == "lstm"
        s = st.stats(DAY)
        assert (s["answered"], s["correct"], s["due_tomorrow"]) == (1, 0, 1)


def test_corrupt_or_foreign_database_is_refused_not_overwritten(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BpttError, match="not a bptt progress database.*--db"):
        Store(bad)
    assert bad.read_bytes().startswith(b"this is not sqlite")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE mine (x)").connection.commit()
    with pytest.raises(BpttError, match="other tables"):
        Store(other)


def test_streak_counts_consecutive_days_ending_today_or_yesterday():
    from quiz.schedule import streak
    days = {"2026-11-22", "2026-11-23", "2026-11-24", "2026-11-20"}
    assert streak(days, DAY) == 3
    assert streak(days, DAY + dt.timedelta(days=1)) == 3  # nothing yet today: the run is not broken
    assert streak(days, DAY + dt.timedelta(days=2)) == 0
    assert streak(set(), DAY) == 0


V1_SCHEMA = """
CREATE TABLE attempts (id INTEGER PRIMARY KEY, qid TEXT NOT NULL, topic TEXT NOT NULL, variant TEXT NOT NULL,
    answer TEXT NOT NULL, status TEXT NOT NULL, score REAL NOT NULL, hinted INTEGER NOT NULL, day TEXT NOT NULL);
CREATE TABLE cards (qid TEXT PRIMARY KEY, topic TEXT NOT NULL, easiness REAL NOT NULL, interval INTEGER NOT NULL,
    repetitions INTEGER NOT NULL, due TEXT NOT NULL, lapses INTEGER NOT NULL);
INSERT INTO attempts VALUES (1, 't.one', 'lstm', '{}', 'true', 'correct', 1.0, 0, '2026-11-20');
PRAGMA user_version=1;
"""


def test_version_1_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "v1.db"
    sqlite3.connect(path).executescript(V1_SCHEMA).close()
    q = parse_bank(BANK, "t")[0]
    with Store(path) as st:
        st.record(q, q.generate(1), "false", "incorrect", 0.0, False, 1, DAY)
        got = [(a["day"], a["status"], a["answered_at"][:2]) for a in st.attempts()]
        assert got == [("2026-11-20", "correct", ""), ("2026-11-24", "incorrect", "20")]
        assert st.counts() == {"t.one": 2}
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    sqlite3.connect(path).execute("PRAGMA user_version=99").connection.close()
    with pytest.raises(BpttError, match="schema 99 is newer"):
        Store(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 99


def test_stats_skips_are_not_answers(tmp_path):
    q = parse_bank(BANK, "t")[0]
    with Store(tmp_path / "p.db") as st:
        st.record(q, q.generate(1), "skip", "skipped", 0.0, False, 0, DAY)
        st.record(q, q.generate(2), "true", "correct", 1.0, False, 5, DAY + dt.timedelta(days=1))
        s = st.stats(DAY + dt.timedelta(days=1))
    assert (s["answered"], s["correct"], s["skipped"], s["streak"]) == (1, 1, 1, 1)
    assert s["by_topic"] == {"lstm": {"answered": 1, "correct": 1}}

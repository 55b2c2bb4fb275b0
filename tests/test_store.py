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

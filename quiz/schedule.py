"""Spaced review with SM-2 (Wozniak 1990), as pure functions on an immutable card.

Quality 0-5 comes from the verdict: correct at the first try 5, correct
after a hint 3, incorrect 1, skipped 0.  Below 3 the card starts over and is
due tomorrow; otherwise the interval grows 1, 6, then times the easiness.
One change to SM-2: a question answered well at first sight counts as
already learned once, so it returns after 6 days, not the next day; review
days go to the questions that were missed.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace

MIN_EASINESS = 1.3


@dataclass(frozen=True)
class Card:
    """SM-2 state of one question."""
    easiness: float = 2.5
    interval: int = 0
    repetitions: int = 0
    due: str = ""  # ISO date
    lapses: int = 0


def quality(status: str, hinted: bool) -> int:
    """SM-2 quality for a verdict status ("correct", "incorrect", "skipped")."""
    if status == "correct":
        return 3 if hinted else 5
    return 1 if status == "incorrect" else 0


def review(card: Card, q: int, today: dt.date) -> Card:
    """The card after an answer of quality ``q`` on ``today``."""
    ef = max(MIN_EASINESS, card.easiness + 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02))
    if q < 3:
        return replace(card, easiness=ef, interval=1, repetitions=0, lapses=card.lapses + 1,
                       due=(today + dt.timedelta(days=1)).isoformat())
    first_sight = card.repetitions == 0 and card.lapses == 0 and not card.due
    reps = card.repetitions + (2 if first_sight else 1)
    interval = 1 if reps == 1 else 6 if reps == 2 else round(card.interval * ef)
    return replace(card, easiness=ef, interval=interval, repetitions=reps,
                   due=(today + dt.timedelta(days=interval)).isoformat())


def streak(days, today: dt.date) -> int:
    """Consecutive days with an answer, ending today (or yesterday, when today has none yet).

    ``days`` holds ISO dates.
    """
    day = today if today.isoformat() in days else today - dt.timedelta(days=1)
    n = 0
    while day.isoformat() in days:
        n, day = n + 1, day - dt.timedelta(days=1)
    return n


def today() -> dt.date:
    """Today, or ``BPTT_TODAY`` (YYYY-MM-DD) when set, so tests can move the clock."""
    fixed = os.environ.get("BPTT_TODAY")
    if fixed:
        try:
            return dt.date.fromisoformat(fixed)
        except ValueError:
            from derive.errors import BpttError
            raise BpttError(f"BPTT_TODAY={fixed!r} is not a date; use YYYY-MM-DD") from None
    return dt.date.today()

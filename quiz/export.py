"""What every export shares: which questions a format can check faithfully, their variants, HTML texts.

A question is exported only in a form that grades as bptt grades it (or more
strictly); otherwise it is left out and named with the reason.  Formats live
in :mod:`quiz.export_moodle`, :mod:`quiz.export_gift` and :mod:`quiz.export_anki`.
"""
from __future__ import annotations

import html
import math
import re

from .exercises import seed_for

# Moodle's grade menu (percent), as Moodle writes them: an imported fraction must be one of these.
MOODLE_FRACTIONS = ("100", "90", "83.33333", "80", "75", "70", "66.66667", "60", "50", "40", "33.33333", "30",
                    "25", "20", "16.66667", "14.28571", "12.5", "11.11111", "10", "5")


def why_not(fmt: str, spec: dict) -> str:
    """Why ``fmt`` cannot grade this answer spec as bptt does (empty when it can)."""
    kind = spec["kind"]
    if fmt == "anki":
        return ""  # flashcards: the learner grades themselves
    if kind == "expression":
        return "formula answers"
    if kind == "matrix" and fmt == "gift":
        return "matrix answers"
    if kind in ("number", "matrix") and not all(math.isfinite(x) for x in _flat(spec["value"])):
        return "non-finite numbers"
    if kind == "choice" and spec.get("multiple") and step_fraction(len(spec["correct"])) is None:
        return "partial credit Moodle cannot express"
    return ""


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [float(value)]


def select_variants(questions, fmt: str, seed: int, n: int | None = None):
    """``(pairs, skipped)``: [(question, variant)] in bank order and [(qid, reason)].

    Each variant comes from ``seed_for("export", seed, qid)``, so ``--n`` and
    ``--topic`` do not change a question's numbers.  ``n`` picks that many of
    the exportable questions (seeded), keeping bank order.
    """
    import numpy as np
    pairs, skipped = [], []
    for q in questions:
        v = q.generate(seed_for("export", seed, q.id))
        reason = why_not(fmt, v.answer)
        (skipped.append((q.id, reason)) if reason else pairs.append((q, v)))
    if n is not None and n < len(pairs):
        keep = sorted(int(i) for i in np.random.default_rng(seed_for("export-pick", seed)).permutation(len(pairs))[:n])
        pairs = [pairs[i] for i in keep]
    return pairs, skipped


def skipped_line(fmt: str, skipped) -> str:
    """One stderr line naming the questions left out, grouped by reason."""
    by = {}
    for qid, reason in skipped:
        by.setdefault(reason, []).append(qid)
    parts = "; ".join(f"{reason}: {', '.join(ids)}" for reason, ids in sorted(by.items()))
    return f"bptt: left out {len(skipped)} questions that {fmt} cannot check faithfully ({parts})"


def math_delimiters(s: str) -> str:
    """``$x$`` → ``\\(x\\)`` (MathJax's inline delimiters, used by Moodle and Anki)."""
    parts = s.split("$")
    return "".join(p if k % 2 == 0 else f"\\({p}\\)" for k, p in enumerate(parts))


def html_lines(s: str) -> str:
    """Blank lines in prose become ``<br><br>``, other line breaks spaces (GIFT needs one line)."""
    parts = s.split("$")
    for k, p in enumerate(parts):
        if k % 2 == 0:
            p = re.sub(r"[ \t]*\n[ \t]*\n\s*", "<br><br>", p)
        parts[k] = re.sub(r"\s*\n\s*", " ", p)
    return "$".join(parts)


def shown(q, v, lang: str) -> dict:
    """Texts for HTML: prose escaped, maths as ``\\( \\)``, one line each; ``expected`` escaped."""
    from .present import render
    r = render(q, v, lang, "html")
    out = {k: math_delimiters(html_lines(r[k])) for k in ("text", "hint", "solution")}
    out["choices"] = [(k, math_delimiters(html_lines(t))) for k, t in r["choices"]]
    out["expected"] = html.escape(r["expected"])
    return out


def tolerance(spec: dict, value: float | None = None) -> float:
    """The absolute tolerance equal to bptt's ``|a - b| <= atol + rtol*|b|`` at the expected ``b``."""
    from .kinds import DEFAULT_RTOL
    b = float(spec["value"] if value is None else value)
    return float(spec.get("atol", 0.0)) + float(spec.get("rtol", DEFAULT_RTOL)) * abs(b)


def num(x) -> str:
    """A number exactly as Python reads it back (integers without a point)."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def step_fraction(k: int) -> str | None:
    """Moodle's grade string for 100/k percent, or None when Moodle's menu has no such grade."""
    want = 100.0 / k
    return next((f for f in MOODLE_FRACTIONS if abs(float(f) - want) < 1e-4), None)


def choice_fractions(spec: dict, keys) -> list:
    """Grade percentage per option key, as bptt scores choices.

    Single: 100 for the right option, 0 otherwise.  Multiple: each right pick
    earns 1/k of the credit and each wrong pick costs 1/k (k = number of right
    options); Moodle adds the picks and clamps at 0, which is bptt's
    ``max(0, (right - wrong) / k)``.
    """
    right = set(spec["correct"])
    if not spec.get("multiple"):
        return ["100" if k in right else "0" for k in keys]
    step = step_fraction(len(right))
    return [step if k in right else "-" + step for k in keys]


def positions(spec: dict) -> dict:
    """Ordering: item key → its 1-based position in the right order."""
    return {k: str(i + 1) for i, k in enumerate(spec["order"])}

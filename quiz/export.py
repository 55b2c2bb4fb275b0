"""Exports of bank questions to Moodle XML and GIFT, checked the way bptt checks them.

A kind a format cannot grade faithfully is left out and named (never exported
in a form that would accept wrong answers): expression answers (Moodle and
GIFT compare strings or numbers, not formulas) and matrix answers.
"""
from __future__ import annotations

import html
import re

from .exercises import seed_for

UNSUPPORTED = {"moodle": ("expression", "matrix"), "gift": ("expression", "matrix"), "anki": ()}


def select_variants(questions, fmt, seed, n=None):
    """(exported [(q, v)], skipped [qid]) in bank order; ``n`` keeps the first n after a seeded shuffle."""
    import numpy as np
    qs = list(questions)
    if n is not None:
        idx = sorted(np.random.default_rng(seed_for("export-pick", seed)).permutation(len(qs))[:n])
        qs = [qs[int(i)] for i in idx]
    out, skipped = [], []
    for q in qs:
        if q.kind in UNSUPPORTED[fmt]:
            skipped.append(q.id)
        else:
            out.append((q, q.generate(seed_for("export", seed, q.id))))
    return out, skipped


def math_delimiters(s: str) -> str:
    """``$x$`` → ``\\(x\\)`` (Moodle's and Anki's MathJax delimiters)."""
    parts = s.split("$")
    return "".join(p if k % 2 == 0 else f"\\({p}\\)" for k, p in enumerate(parts))


def shown(q, v, lang):
    """Texts rendered for HTML (prose escaped) with \\( \\) maths."""
    from .present import render
    r = render(q, v, lang, "html")
    conv = {k: math_delimiters(r[k]) for k in ("text", "hint", "solution")}
    conv["choices"] = [(k, math_delimiters(t)) for k, t in r["choices"]]
    conv["expected"] = html.escape(r["expected"])
    return conv


def tolerance(spec) -> float:
    """Absolute tolerance equivalent to bptt's |a − b| ≤ atol + rtol·|b| at the expected value."""
    from .kinds import DEFAULT_RTOL
    return float(spec.get("atol", 0.0)) + float(spec.get("rtol", DEFAULT_RTOL)) * abs(float(spec["value"]))


def num(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


MOODLE_FRACTIONS = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667,
                    14.28571, 12.5, 11.11111, 10, 5)


def fraction(k: int) -> str:
    """Moodle's nearest allowed grade fraction for 100/k percent."""
    want = 100.0 / k
    best = min(MOODLE_FRACTIONS, key=lambda f: abs(f - want))
    return f"{best:g}"


def moodle_item(q, v, lang) -> dict:
    """Precomputed fields of one Moodle question."""
    s, spec = shown(q, v, lang), v.answer
    s = {k: (v.replace("]]>", "]]]]><![CDATA[>") if isinstance(v, str) else v) for k, v in s.items()}
    item = {"name": html.escape(q.id), "text": s["text"], "feedback": s["solution"], "kind": spec["kind"],
            "category": q.topic}
    if spec["kind"] == "number":
        item.update(type="numerical", answer=num(spec["value"]), tolerance=num(tolerance(spec)))
    elif spec["kind"] == "choice":
        item.update(type="multichoice", single="false" if spec.get("multiple") else "true",
                    answers=_choice_answers(spec, s["choices"]))
    elif spec["kind"] == "truefalse":
        item.update(type="truefalse", answers=[("true", "100" if spec["value"] else "0"),
                                               ("false", "0" if spec["value"] else "100")])
    elif spec["kind"] == "text":
        item.update(type="shortanswer", answers=[(html.escape(a), "100") for a in spec["accepted"]])
    elif spec["kind"] == "ordering":
        pos = {k: str(i + 1) for i, k in enumerate(spec["order"])}
        item.update(type="matching", pairs=[(t, pos[k]) for k, t in s["choices"]])
    return item


def _choice_answers(spec, choices):
    right = set(spec["correct"])
    if not spec.get("multiple"):
        return [(t, "100" if k in right else "0") for k, t in choices]
    good, bad = fraction(len(right)), fraction(max(1, len(choices) - len(right)))
    return [(t, good if k in right else "-" + bad) for k, t in choices]


def moodle_xml(items) -> str:
    """Moodle XML for precomputed items (template: templates/moodle.xml.j2)."""
    from .handout_render import _source, text_env
    cats = sorted({it["category"] for it in items})
    return text_env().from_string(_source("moodle.xml.j2")).render(categories=cats, items=items)


GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(s: str) -> str:
    return GIFT_SPECIAL.sub(r"\\\1", s)


def gift_item(q, v, lang) -> dict:
    """Precomputed title, text and answer block of one GIFT question."""
    s, spec = shown(q, v, lang), v.answer
    text = s["text"]
    if s["choices"] and spec["kind"] == "ordering":
        text += " " + "; ".join(f"({k}) {t}" for k, t in s["choices"])
    return {"title": gift_escape(q.id), "text": "[html]" + gift_escape(text), "answer": _gift_answer(spec, s),
            "feedback": gift_escape(s["solution"]), "category": q.topic}


def _gift_answer(spec, s):
    kind = spec["kind"]
    if kind == "number":
        return f"#{num(spec['value'])}:{num(tolerance(spec))}"
    if kind == "truefalse":
        return "TRUE" if spec["value"] else "FALSE"
    if kind == "text":
        return " ".join("=" + gift_escape(a) for a in spec["accepted"])
    if kind == "ordering":
        pos = {k: str(i + 1) for i, k in enumerate(spec["order"])}
        return " ".join(f"={gift_escape(t)} -> {pos[k]}" for k, t in s["choices"])
    right = set(spec["correct"])
    if not spec.get("multiple"):
        return " ".join(("=" if k in right else "~") + gift_escape(t) for k, t in s["choices"])
    good, bad = fraction(len(right)), fraction(max(1, len(s["choices"]) - len(right)))
    return " ".join(f"~%{good if k in right else '-' + bad}%{gift_escape(t)}" for k, t in s["choices"])


def gift(items) -> str:
    from .handout_render import _source, text_env
    items = [dict(it, new_category=k == 0 or it["category"] != items[k - 1]["category"]) for k, it in enumerate(items)]
    return text_env().from_string(_source("gift.txt.j2")).render(items=items)

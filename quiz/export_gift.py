"""GIFT text: numbers as ``{#value:tolerance}``, choices, true/false, short answers, orderings as matching.

Texts are HTML (``[html]``) on one line with maths as ``\\( \\)``; GIFT's
special characters ``~ = # { } :`` and the backslash are escaped with a
backslash (Moodle reads ``\\\\`` back as one backslash, so ``\\frac`` and
``\\nabla`` survive).  Expression and matrix answers are left out.
"""
from __future__ import annotations

import re

from .export import choice_fractions, num, positions, shown, tolerance

SPECIAL = re.compile(r"([~=#{}:\\])")


def escape(s: str) -> str:
    """Backslash before each of GIFT's special characters."""
    return SPECIAL.sub(r"\\\1", s)


def answer_block(spec: dict, choices) -> str:
    """The part between the braces (before the general feedback)."""
    kind = spec["kind"]
    if kind == "number":
        return f"#{num(spec['value'])}:{num(tolerance(spec))}"
    if kind == "truefalse":
        return "TRUE" if spec["value"] else "FALSE"
    if kind == "text":  # '*' is Moodle's shortanswer wildcard: a literal one is \*
        return " ".join("=" + escape(a.replace("*", r"\*")) for a in spec["accepted"])
    if kind == "ordering":
        pos = positions(spec)
        return " ".join(f"={escape(t)} -> {pos[k]}" for k, t in choices)
    fracs = choice_fractions(spec, [k for k, _ in choices])
    if not spec.get("multiple"):
        return " ".join(("=" if f == "100" else "~") + escape(t) for (_, t), f in zip(choices, fracs))
    return " ".join(f"~%{f}%{escape(t)}" for (_, t), f in zip(choices, fracs))


def item(q, v, lang: str) -> dict:
    """Precomputed, escaped title, text, answer block, feedback and category of one question."""
    s = shown(q, v, lang)
    return {"title": escape(q.id), "text": "[html]" + escape(s["text"]), "answer": answer_block(v.answer, s["choices"]),
            "feedback": escape(s["solution"]), "category": escape(q.topic)}


def document(pairs, lang: str) -> bytes:
    """The GIFT file (template ``templates/gift.txt.j2``); a category line where the topic changes."""
    from .handout_render import _source, text_env
    items = [item(q, v, lang) for q, v in pairs]
    items = [dict(it, new_category=k == 0 or it["category"] != items[k - 1]["category"]) for k, it in enumerate(items)]
    return text_env().from_string(_source("gift.txt.j2")).render(items=items).encode("utf-8")

"""Moodle XML: every exportable kind as the Moodle question type that grades it as bptt does.

========== ============================================================
number     numerical, absolute tolerance = atol + rtol*|value|
matrix     cloze: one NUMERICAL blank per entry with that entry's tolerance
           (credit per entry, as bptt's fraction of entries within tolerance)
choice     multichoice; several right options: +1/k per right pick, -1/k per wrong
truefalse  truefalse
text       shortanswer, every accepted synonym at 100 %, case-insensitive
ordering   matching: step -> its position
========== ============================================================

Expression answers are left out (:func:`quiz.export.why_not`).
"""
from __future__ import annotations

import html

from .export import choice_fractions, num, positions, shown, tolerance


def _cdata(s: str) -> str:
    return s.replace("]]>", "]]]]><![CDATA[>")


def _short(a: str) -> str:
    """A shortanswer answer: ``*`` is Moodle's wildcard, so a literal one is written ``\\*``."""
    return html.escape(a.replace("*", r"\*"))


def _blank(x, spec) -> str:
    return f"<td>{{1:NUMERICAL:={num(x)}:{num(tolerance(spec, x))}}}</td>"


def cloze_grid(spec) -> str:
    """An HTML grid of Cloze NUMERICAL blanks, one per entry; a flat list is a column, as the texts show vectors."""
    value = spec["value"]
    rows = value if value and isinstance(value[0], (list, tuple)) else [[x] for x in value]
    body = "".join("<tr>" + "".join(_blank(x, spec) for x in r) + "</tr>" for r in rows)
    return f'<table class="bptt-matrix" style="border-left:1px solid;border-right:1px solid">{body}</table>'


def item(q, v, lang: str) -> dict:
    """Precomputed fields of one Moodle question (texts already HTML, CDATA-safe)."""
    s, spec = shown(q, v, lang), v.answer
    it = {"name": html.escape(q.id), "text": _cdata(s["text"]), "feedback": _cdata(s["solution"]),
          "category": html.escape(q.topic)}
    kind = spec["kind"]
    if kind == "number":
        it.update(type="numerical", answer=num(spec["value"]), tolerance=num(tolerance(spec)))
    elif kind == "matrix":
        it.update(type="cloze", text=_cdata(s["text"] + "<br>" + cloze_grid(spec)))
    elif kind == "choice":
        keys = [k for k, _ in s["choices"]]
        it.update(type="multichoice", single="false" if spec.get("multiple") else "true",
                  answers=list(zip([_cdata(t) for _, t in s["choices"]], choice_fractions(spec, keys))))
    elif kind == "truefalse":
        right = bool(spec["value"])
        it.update(type="truefalse", answers=[("true", "100" if right else "0"), ("false", "0" if right else "100")])
    elif kind == "text":
        it.update(type="shortanswer", answers=[(_short(a), "100") for a in spec["accepted"]])
    elif kind == "ordering":
        pos = positions(spec)
        it.update(type="matching", pairs=[(_cdata(t), pos[k]) for k, t in s["choices"]])
    return it


def document(pairs, lang: str) -> bytes:
    """The Moodle XML file (template ``templates/moodle.xml.j2``), one category per topic."""
    from .handout_render import _source, text_env
    items = [item(q, v, lang) for q, v in pairs]
    cats = sorted({it["category"] for it in items})
    return text_env().from_string(_source("moodle.xml.j2")).render(categories=cats, items=items).encode("utf-8")

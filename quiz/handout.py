"""Build a study handout: per cell the derivation, figures and check table, then exercises and key.

Everything numeric or mathematical is computed here and handed to one Jinja
template per format (``templates/handout.{tex,md,html}.j2``) as finished
strings.  The same arguments give the same bytes.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

import numpy as np

from derive.errors import BpttError

from .handout_text import kind_label, label

FORMATS = ("pdf", "tex", "md", "html")
FLOW = {"steps": 40, "hidden": 16, "seeds": 3}


@dataclass
class Handout:
    """The main document's text and the files it refers to (figures), by name."""
    text: str
    files: dict = field(default_factory=dict)


def _load(spec: str):
    from derive.api import load
    name, _, variant = spec.partition(":")
    return load(name, variant or None)


def _slug(spec: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-")


def _derivation(cell, seed: int):
    from derive.api import derive_cell
    from derive.check import check_table
    from derive.commands import CHECK_TOL
    from derive.gradcheck import EPS
    d = derive_cell(cell, steps=3)
    d.options["check"] = {"rows": check_table(cell, np.random.default_rng(seed)), "tolerance": CHECK_TOL,
                          "seed": seed, "eps": EPS}
    return d


def _figure_bytes(result, ext: str) -> bytes:
    import os
    import tempfile
    from derive import plots
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f" + ext)
        plots.render(result, path)
        with open(path, "rb") as fh:
            return fh.read()


def _flow_figure(spec: str, seed: int, ext: str) -> bytes:
    from derive import flow
    r = flow.decay(flow.curves_from_options([spec], "xavier"), seed=seed, title=spec, **FLOW)
    return _figure_bytes(r, ext)


def _body(d, fmt: str, lang: str) -> str:
    """The derivation rendered by derive, with its headings moved one level down."""
    from derive.render import render
    if fmt in ("tex", "pdf"):
        body = render(d, "latex", lang)
        return body.replace("\\section*{", "\\subsection*{").replace("\\section{", "\\subsection{")
    body = render(d, "markdown", lang)
    return re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", body, flags=re.M)


def _cells(specs, fmt, lang, seed, ext):
    from .present import _finish
    out, files = [], {}
    for spec in specs:
        cell = _load(spec)
        d = _derivation(cell, seed)
        name = f"flow-{_slug(spec)}{ext}"
        files[name] = _flow_figure(spec, seed, ext)
        out.append({"spec": spec, "title": d.cell.title, "body": _body(d, fmt, lang), "figure": name,
                    "caption": _finish(label("flow_caption", lang, cell=d.cell.title), TARGET[fmt])})
    return out, files


def _expected(text: str, target: str) -> str:
    from .present import LATEX_PROSE
    if target == "latex":
        return r"\texttt{" + "".join(LATEX_PROSE.get(c, c) for c in text) + "}"
    if target == "html":
        import html
        return f"<code>{html.escape(text)}</code>"
    return f"`{text}`"


def _exercises(specs, n, seed, lang, target):
    from .exercises import for_cells
    names = sorted({s.partition(":")[0] for s in specs})
    items = for_cells(names, n, seed, lang, target)
    for it in items:
        it["kind_label"] = kind_label(it["variant"]["answer"], lang)
        it["expected_shown"] = _expected(it["expected"], target)
    return items


TARGET = {"tex": "latex", "pdf": "latex", "md": "markdown", "html": "html"}
EXT = {"tex": ".pdf", "pdf": ".pdf", "md": ".png", "html": ".png"}


def build(specs, lang: str = "en", fmt: str = "pdf", seed: int = 0, answers: bool = True,
          n_exercises: int = 8, figdir: str = "figures") -> Handout:
    """The handout for cell specs like ``["rnn", "lstm", "gru:cho"]`` in ``fmt`` (pdf and tex share the source)."""
    if fmt not in FORMATS:
        raise BpttError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not specs:
        raise BpttError("name at least one cell, e.g. bptt handout rnn lstm gru")
    ext, target = EXT[fmt], TARGET[fmt]
    cells, files = _cells(specs, fmt, lang, seed, ext)
    from derive import flow
    files["activations" + ext] = _figure_bytes(flow.activation_slopes(), ext)
    ctx = {"lang": lang, "zh": lang == "zh", "answers": answers, "cells": cells,
           "gru_table": _gru_table(specs, lang, target),
           "items": _exercises(specs, n_exercises, seed, lang, target),
           "activations_fig": "activations" + ext, "figdir": figdir, **_labels(specs, lang, seed, answers, target)}
    from .handout_render import render_template
    return Handout(render_template(fmt, ctx, files), files)


def _gru_table(specs, lang, target):
    """The GRU conventions side by side, as a finished table for the format (None without a GRU)."""
    from .handout_text import gru_table
    from .present import _finish
    if not any(s.startswith("gru") for s in specs):
        return None
    t = gru_table(lang)
    fin = lambda s: _finish(s, target)
    if target == "latex":
        col = r">{\raggedright\arraybackslash}p{%s\linewidth}"
        lines = [r"\begin{tabular}{@{}" + "".join(col % w for w in ("0.2", "0.33", "0.23", "0.14")) + "@{}}",
                 " & ".join(r"\textbf{%s}" % fin(h) for h in t["head"]) + r" \\ \hline"]
        lines += [" & ".join(fin(c) for c in row) + r" \\[3pt]" for row in t["rows"]]
        table = "\n".join(lines + [r"\end{tabular}"])
    else:
        md = ["| " + " | ".join(t["head"]) + " |", "|---|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in t["rows"]]
        table = "\n".join(md)
        if target == "html":
            from .handout_render import md_to_html
            table = md_to_html(table)
    return {"title": fin(t["title"]), "note": fin(t["note"]), "table": table}


def _labels(specs, lang, seed, answers, target):
    from .present import _finish
    keys = ("activations", "flow", "derivation", "exercises", "key", "answer", "your_answer")
    names = ", ".join(s.upper() for s in specs) if lang == "en" else "、".join(s.upper() for s in specs)
    out = {k: label(k, lang) for k in keys}
    out.update(title=label("title", lang, cells=names), subtitle=label("subtitle", lang, seed=seed),
               intro=label("intro", lang, key=label("intro_key", lang) if answers else ""),
               activations_caption=label("activations_caption", lang))
    return {k: _finish(v, target) for k, v in out.items()}


def data_url(name: str, data: bytes) -> str:
    mime = {".png": "image/png", ".svg": "image/svg+xml", ".woff2": "font/woff2"}[name[name.rfind("."):]]
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")

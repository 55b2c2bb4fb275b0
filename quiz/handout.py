"""Build a study handout: per cell the derivation, check table and figures, then exercises and key.

Everything numeric or mathematical is computed here and handed to one Jinja
template per format (``templates/handout.{tex,md,html}.j2``) as finished
strings.  The same arguments give the same bytes.  The check point and the
flow experiment use fixed seeds (the derivation part is the same for every
``seed``); ``seed`` picks the exercises and their numbers.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from derive.errors import BpttError

from .handout_text import act_caption, cell_title, flow_caption, kind_label, label

FORMATS = ("pdf", "tex", "md", "html")
TARGET = {"tex": "latex", "pdf": "latex", "md": "markdown", "html": "html"}
EXT = {"tex": ".pdf", "pdf": ".pdf", "md": ".png", "html": ".png"}
CHECK_SEED = 0


@dataclass
class Handout:
    """The main document's text and the files it refers to (figures), by name."""
    text: str
    files: dict = field(default_factory=dict)


def load_cell(spec: str):
    """A built-in cell from ``"gru:cho"``-style specs; a one-line BpttError for unknown ones."""
    from derive.api import load
    name, _, variant = spec.strip().lower().partition(":")
    if not name:
        raise BpttError(f"empty cell name {spec!r}; use rnn, lstm, lstm-peephole or gru (variants: rnn:relu, gru:cho, ...)")
    return load(name, variant or None)


def _slug(spec: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-")


def _fin(s: str, fmt: str) -> str:
    from .present import _finish
    return _finish(s, TARGET[fmt])


# ---------------------------------------------------------------------------- one cell


def _body(cell, fmt: str, lang: str, title: str) -> str:
    """derive's derivation (without the check table), headings one level down, the cell's title localised."""
    from derive.api import derive_cell
    from derive.render import render
    d = derive_cell(cell, steps=3)
    if fmt in ("tex", "pdf"):
        body = render(d, "latex", lang).replace("\\section", "\\subsection")
    else:
        body = render(d, "markdown", lang)
        body = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", body, flags=re.M)
        body = body.split("\n", 1)[1] if body.startswith("## ") else body  # the template writes the heading
    return body.replace(cell.title, title).strip("\n") + "\n"


def _check(cell, fmt: str, lang: str) -> str:
    """The numerical check of every derived Jacobian and gradient, as derive's ``--check`` table."""
    import numpy as np
    from derive.check import check_table
    from derive.checktable import table
    from derive.commands import CHECK_TOL
    from derive.gradcheck import EPS
    check = {"rows": check_table(cell, np.random.default_rng(CHECK_SEED)), "tolerance": CHECK_TOL,
             "seed": CHECK_SEED, "eps": EPS}
    if fmt in ("tex", "pdf"):
        return table(check, "latex", lang).replace("\\section", "\\subsection")
    return "#" + table(check, "markdown", lang)


def _after_conventions(body: str, extra: str, fmt: str) -> str:
    """Insert ``extra`` after the conventions block (before the first numbered section)."""
    pat = r"\n\\subsection\{" if fmt in ("tex", "pdf") else r"\n### 1\. "
    m = re.search(pat, body)
    return body if m is None else body[:m.start()] + "\n\n" + extra.strip("\n") + "\n" + body[m.start():]


def _cell(spec, fmt, lang, files) -> dict:
    from .handout_figures import cell_figures
    cell = load_cell(spec)
    title = cell_title(cell, lang)
    ext, slug = EXT[fmt], _slug(spec)
    act, flow, facts = cell_figures(spec, lang, ext)
    files[f"act-{slug}{ext}"], files[f"flow-{slug}{ext}"] = act, flow
    body = _body(cell, fmt, lang, title)
    if cell.name == "gru":
        body = _after_conventions(body, _gru_table(lang, "md" if fmt == "html" else fmt), fmt)
    return {"spec": spec, "title": _fin(title, fmt), "body": body, "check": _check(cell, fmt, lang),
            "act_fig": f"act-{slug}{ext}", "act_caption": _fin(act_caption(facts["used"], lang), fmt),
            "flow_fig": f"flow-{slug}{ext}", "flow_caption": _fin(flow_caption(title, facts, lang), fmt)}


def _gru_table(lang: str, fmt: str) -> str:
    """The GRU conventions side by side, finished for the format (rendered here: it is a table of maths)."""
    from .handout_text import gru_table
    t = gru_table(lang)
    fin = lambda s: _fin(s, fmt)
    if fmt in ("tex", "pdf"):
        col = r">{\raggedright\arraybackslash}p{%s\linewidth}"
        rows = [r"\subsection*{%s}" % fin(t["title"]), r"{\small\begin{tabular}{@{}"
                + "".join(col % w for w in ("0.2", "0.34", "0.24", "0.14")) + "@{}}", r"\toprule",
                " & ".join(r"\textbf{%s}" % fin(h) for h in t["head"]) + r" \\ \midrule"]
        rows += [" & ".join(fin(c) for c in row) + r" \\[3pt]" for row in t["rows"]]
        return "\n".join(rows + [r"\bottomrule", r"\end{tabular}\par}", "", fin(t["note"]), ""])
    md = ["| " + " | ".join(fin(h) for h in t["head"]) + " |", "|---|---|---|---|"]
    md += ["| " + " | ".join(fin(c) for c in r) + " |" for r in t["rows"]]
    return "\n".join([f"### {fin(t['title'])}", ""] + md + ["", fin(t["note"]), ""])


# ---------------------------------------------------------------------------- exercises


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
    names = sorted({load_cell(s).name.partition("-")[0] for s in specs})
    items = for_cells(names, n, seed, lang, target) if n else []
    for it in items:
        it["kind_label"] = kind_label(it["variant"]["answer"], lang)
        it["expected_shown"] = _expected(it["expected"], target)
    return items


# ---------------------------------------------------------------------------- the document


def build(specs, lang: str = "en", fmt: str = "pdf", seed: int = 0, answers: bool = True,
          n_exercises: int = 8, figdir: str = "figures") -> Handout:
    """The handout for cell specs like ``["rnn", "lstm", "gru:cho"]`` in ``fmt`` (pdf and tex share the source).

    Parameters
    ----------
    specs : list of str
        Cells, in order; repeats are dropped.
    lang : {"en", "zh"}
    fmt : {"pdf", "tex", "md", "html"}
    seed : int
        Picks the exercises and their numbers.
    answers : bool
        Add the key after the exercises.
    n_exercises : int
    figdir : str
        Folder of the figures as the Markdown refers to it.

    Returns
    -------
    Handout
        ``text`` of the main file and ``files`` (figure name -> bytes: PDF for LaTeX, PNG otherwise;
        HTML has them inlined already).
    """
    if fmt not in FORMATS:
        raise BpttError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if lang not in ("en", "zh"):
        raise BpttError(f"unknown language {lang!r}; use en or zh")
    specs = list(dict.fromkeys(s.strip().lower() for s in specs))
    if not specs:
        raise BpttError("name at least one cell, e.g. bptt handout rnn lstm gru")
    files = {}
    cells = [_cell(s, fmt, lang, files) for s in specs]
    items = _exercises(specs, n_exercises, seed, lang, TARGET[fmt])
    ctx = {"lang": lang, "zh": lang == "zh", "answers": answers, "cells": cells, "figdir": figdir, "items": items,
           **_labels(cells, lang, seed, answers, fmt, bool(items))}
    from .handout_render import render_template
    return Handout(render_template(fmt, ctx, files), files)


def _labels(cells, lang, seed, answers, fmt, exercises):
    keys = ("activations", "flow", "exercises", "key", "answer", "your_answer")
    names = ("、" if lang == "zh" else ", ").join(c["spec"].upper() for c in cells)
    out = {k: label(k, lang) for k in keys}
    out.update(title=label("title", lang, cells=names), subtitle=label("subtitle", lang, seed=seed),
               intro=label("intro", lang) + (label("intro_exercises", lang, key=label("intro_key", lang) if answers else "")
                                             if exercises else ""))
    return {k: _fin(v, fmt) for k, v in out.items()}


def data_url(name: str, data: bytes) -> str:
    mime = {".png": "image/png", ".svg": "image/svg+xml", ".woff2": "font/woff2"}[name[name.rfind("."):]]
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")

"""Render a :class:`~derive.derivation.Derivation` as a readable derivation.

``render(d, fmt, lang)`` with ``fmt`` one of ``text`` (Unicode), ``latex``
(a body, or with ``standalone=True`` a complete xelatex document),
``markdown`` (``$$`` display math) or ``json``; ``lang`` is ``en`` or ``zh``.
Every section gets a heading and an introduction; every step is a display
equation (long ones broken at their top-level ``+``) with its justification.
"""
from __future__ import annotations

import json
import re
import textwrap
import unicodedata

from sympy import BlockMatrix

from . import phrases
from .errors import BpttError
from .notation import Partial, Text
from .printing import Child, DerivLatexPrinter
from .textprint import DerivTextPrinter, tex_width, text_width

FORMATS = ("text", "latex", "markdown", "json")
WIDTH = {"latex": 68, "text": 92}
REL_TEX = {"=": "=", "≤": r"\le", "≈": r"\approx", "⇒": r"\;\Longrightarrow\;", "⇐": r"\;\Longleftarrow\;",
           "+=": r"\mathrel{+}="}


def render(derivation, fmt: str = "markdown", lang: str = "en", standalone: bool = False) -> str:
    """The derivation as a string in ``fmt`` ("text", "latex", "markdown", "json") and ``lang`` ("en", "zh").

    ``standalone`` applies to LaTeX only: a complete document for ``latexmk -xelatex`` (the body
    alone uses amsmath's ``align*`` and ``\\mathbb{1}``, which the document's preamble supplies).
    The output has no dates or timestamps: the same derivation gives the same bytes.
    """
    if fmt not in FORMATS:
        raise BpttError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if lang not in phrases.LANGS:
        raise BpttError(f"unknown language {lang!r}; use en or zh")
    doc = _Doc(derivation, lang)
    out = {"text": _text_doc, "latex": _latex_doc, "markdown": _markdown_doc, "json": _json_doc}[fmt](doc)
    from .checktable import table
    extra = table(derivation.options.get("check"), fmt, lang)
    out = out + "\n" + extra if extra else out
    if standalone and fmt == "latex":
        out = _standalone(doc, out)
    return out


class _Doc:
    """Printers and the language-dependent pieces shared by every format."""

    def __init__(self, d, lang):
        cell = d.cell
        self.d, self.cell, self.lang = d, cell, lang
        names = tuple(cell.eqn_names) + tuple(e.name for e in cell.readout)
        settings = {"param_order": tuple(cell.params) + tuple(cell.readout_params), "name_order": names}
        self.tex, self.txt = DerivLatexPrinter(settings), DerivTextPrinter(settings)
        self.inline = DerivLatexPrinter({**settings, "inline": True})
        self.title = (f"{cell.title}: {phrases.label('doc', lang)}" if lang == "en"
                      else f"{cell.title}：{phrases.label('doc', lang)}")

    def sections(self):
        """(number, section, title) of every section."""
        return [(k, s, phrases.title(s.key, self.lang)) for k, s in enumerate(self.d.sections, 1)]

    def steps(self, sec):
        for st in sec.steps:
            yield _localise(st.lhs, self.lang), st.rel, _localise(st.rhs, self.lang), st

    def intro(self, sec, fmt):
        markup, slots = phrases.intro(sec, self.cell, self.lang)
        return self.fill(markup, slots, fmt)

    def fill(self, markup, slots, fmt):
        """Put formulas into ``⟨slot⟩`` placeholders: raw inside ``$...$``, wrapped outside."""
        if fmt == "text":
            out = phrases.tex_to_text(markup)
            for k, v in slots.items():
                out = out.replace(f"⟨{k}⟩", self.txt.doprint(v))
            return out
        parts = markup.split("$")
        for i, part in enumerate(parts):
            for k, v in slots.items():
                tex = self.inline.doprint(v)
                part = part.replace(f"⟨{k}⟩", tex if i % 2 else f"${tex}$")
            parts[i] = part
        return "$".join(parts)

    def why(self, st, fmt):
        markup = phrases.justification(st.why, self.lang)
        return phrases.tex_to_text(markup) if fmt == "text" else markup

    def conventions(self, fmt):
        items = phrases.conventions(self.cell, self.lang)
        items = [phrases.tex_to_text(c) for c in items] if fmt == "text" else items
        return items

    def rows(self, p, lhs, rhs, width, first):
        """Rows ``(depth, text)`` of ``rhs`` for printer ``p``.  A block matrix too wide for the page
        names its big blocks instead (they were derived just above)."""
        measure = tex_width if p is self.tex else text_width
        if isinstance(rhs, BlockMatrix) and isinstance(lhs, Partial):
            blocks = rhs.blocks.tolist()
            if max(measure(p.doprint(b)) for row in blocks for b in row) > width / 4:
                num, den = lhs.num.args, lhs.den.args
                named = [[b if measure(p.doprint(b)) <= width / 4 else Partial(num[i], den[j])
                          for j, b in enumerate(row)] for i, row in enumerate(blocks)]
                return [(0, p.matrix(named))]
        return _Fit(p, measure).lines(rhs, width, first)


class _Fit:
    """Break a long formula into rows: at its top-level ``+``/``-`` or ``⊙``, else inside its widest
    bracketed factor.  Rows are ``(depth, text)``; continuation rows start with their operator."""

    INDENT, SLACK = 2, 4

    def __init__(self, printer, measure):
        self.p, self.w = printer, measure

    def lines(self, expr, width, first=None):
        """Rows of ``expr``: the first at most ``first`` wide, the others at most ``width``."""
        first = width if first is None else first
        whole = self.p.doprint(expr)
        if self.w(whole) <= first:
            return [(0, whole)]
        parts = self.p.parts(expr)
        rows = None
        if parts and parts[0] == "sum":
            rows = self._pack([(op, Child(t)) for op, t in parts[1]], width, first)
        elif parts:
            rows = self._seq(parts[1], width, first)
        return rows or [(0, whole)]

    def _pack(self, items, width, first):
        """Greedy rows of ``(operator, unit)`` items; a unit is a Child (may break) or fixed text."""
        rows, closed = [], True
        for op, unit in items:
            room = first if not rows else width - self.INDENT
            sub = self._child(unit, width - self.INDENT, room - self.w(op)) if isinstance(unit, Child) else [(0, unit)]
            head = op + sub[0][1]
            cap = first if len(rows) == 1 else width - self.INDENT
            cap += self.SLACK if self.w(head) <= 2 * self.SLACK else 0     # no row for a lone short factor
            if rows and not closed and self.w(rows[-1][1] + head) <= cap:
                rows[-1] = (rows[-1][0], rows[-1][1] + head)
            else:
                rows.append((0 if not rows else 1, head))
            base = max(rows[-1][0], 1)
            rows += [(base + d, t) for d, t in sub[1:]]
            closed = len(sub) > 1
        return rows if len(rows) > 1 else None

    def _child(self, kid, width, first):
        if not kid.paren:
            return self.lines(kid.expr, width, first)
        sub = self.lines(kid.expr, width, first - 2)
        if len(sub) == 1:
            return [(0, self.p.child_text(kid))]
        return _glue(sub, self.p.TOK["blp"], self.p.TOK["brp"])

    def _seq(self, items, width, first):
        """The better of: rows at the product's own ``⊙``/juxtaposition, or inside its widest factor."""
        tries = [self._at_separators(items, width, first), self._inside(items, width, first)]
        tries = [r for r in tries if r]
        return min(tries, key=lambda r: (self._overflow(r, width, first), len(r))) if tries else None

    def _at_separators(self, items, width, first):
        seps = (self.p.TOK["odot"], self.p.TOK["mul"])
        segs, op, cur = [], "", []
        for it in items:
            if isinstance(it, str) and it in seps:
                segs.append((op, cur))
                op, cur = it, []
            else:
                cur.append(it)
        segs.append((op, cur))
        if len(segs) < 2:
            return None
        units = []
        for op, seg in segs:
            lead = "".join(x for x in seg[:-1] if isinstance(x, str)) if isinstance(seg[-1], Child) else None
            if lead is not None and all(isinstance(x, str) for x in seg[:-1]):
                units.append((op + lead, seg[-1]))
            else:
                units.append((op, "".join(x if isinstance(x, str) else self.p.child_text(x) for x in seg)))
        return self._pack(units, width, first)

    def _inside(self, items, width, first):
        kids = [k for k, it in enumerate(items) if isinstance(it, Child)]
        if not kids:
            return None
        texts = [it if isinstance(it, str) else self.p.child_text(it) for it in items]
        k = max(kids, key=lambda j: self.w(texts[j]))
        pre, post = "".join(texts[:k]), "".join(texts[k + 1:])
        sub = self._child(items[k], width, first - self.w(pre))
        return _glue(sub, pre, post) if len(sub) > 1 else None

    def _overflow(self, rows, width, first):
        caps = [first] + [width - self.INDENT * d for d, _ in rows[1:]]
        return sum(max(0, self.w(t) - cap) for cap, (_, t) in zip(caps, rows))


def _glue(rows, pre, post):
    """Prefix the first row and suffix the last."""
    rows = list(rows)
    rows[0] = (rows[0][0], pre + rows[0][1])
    rows[-1] = (rows[-1][0], rows[-1][1] + post)
    return rows


def _localise(expr, lang):
    """Words inside formulas (``vanishing``) in the document's language."""
    if isinstance(expr, Text) and lang != "en":
        plain = expr.args[1].name
        w = phrases.word(plain, lang)
        return Text(r"\text{%s}" % w, w) if w != plain else expr
    return expr


# ---- LaTeX -----------------------------------------------------------------------
def _tex_rows(doc, lhs, rel, rhs):
    """Rows ``lhs &= ...`` / ``&\\quad {} + ...`` of one step, broken to fit the page."""
    p, width = doc.tex, WIDTH["latex"]
    left = p.doprint(lhs)
    rows = doc.rows(p, lhs, rhs, width, width - tex_width(left) - 3)
    return [f"{left} &{REL_TEX[rel]} {rows[0][1]}"] + [f"&{_indent(d)} {{}} {t.strip()}" for d, t in rows[1:]]


def _indent(depth):
    """Indentation of a continuation row: 1em, 3em, 5em ... so nested rows stand apart."""
    return r"\qquad" * (depth - 1) + r"\quad"


def _tex_display(rows, env):
    """Display maths: ``align*`` for LaTeX (may break across pages), ``$$`` + ``aligned`` for Markdown."""
    if env == "markdown" and len(rows) == 1:
        return "$$\n%s\n$$" % rows[0].replace(" &", " ", 1)
    inner = " \\\\\n".join(rows)
    if env == "markdown":
        return f"$$\n\\begin{{aligned}}\n{inner}\n\\end{{aligned}}\n$$"
    return f"\\begin{{align*}}\n{inner}\n\\end{{align*}}"


def _groups(doc, sec):
    """Steps of a section; consecutive steps with the same justification share one display."""
    out = []
    for lhs, rel, rhs, st in doc.steps(sec):
        if out and st.why == out[-1][-1][3].why:
            out[-1].append((lhs, rel, rhs, st))
        else:
            out.append([(lhs, rel, rhs, st)])
    return out


def _tex_group(doc, group, env):
    rows = [r for lhs, rel, rhs, _ in group for r in _tex_rows(doc, lhs, rel, rhs)]
    return _tex_display(rows, env)


_TEX_ESC = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "*": r"$\ast$",
            "⊙": r"$\odot$", "−": "$-$", "Σ": r"$\Sigma$", "σ": r"$\sigma$", "δ": r"$\delta$", "∂": r"$\partial$",
            "×": r"$\times$", "≈": r"$\approx$", "≤": r"$\le$", "′": "$'$"}
_COMBINING_TEX = {"\u0304": r"\bar", "\u0303": r"\tilde", "\u0307": r"\dot", "\u0302": r"\hat"}


def tex_escape(s: str) -> str:
    """Plain text (a cell's notes) made safe for LaTeX text mode, maths symbols included."""
    s = unicodedata.normalize("NFD", s)
    out = []
    for c in s:
        if c in _COMBINING_TEX and out:
            out[-1] = "$%s{%s}$" % (_COMBINING_TEX[c], out[-1])
        else:
            out.append(_TEX_ESC.get(c, c))
    return unicodedata.normalize("NFC", "".join(out))


_NOTE_MATH = re.compile(r"[A-Za-z]+~?_(?:\{[^{}]*\}|[A-Za-z0-9]+)")


def note_tex(note: str) -> str:
    """Escape a plain-text note, typesetting subscripted names such as h_{t-1} as math."""
    out, pos = [], 0
    for m in _NOTE_MATH.finditer(note):
        out.append(tex_escape(note[pos:m.start()]))
        base, sub = m.group().split("_", 1)
        base = r"\tilde{%s}" % base[:-1] if base.endswith("~") else base
        out.append("$%s_{%s}$" % (base, sub.strip("{}")))
        pos = m.end()
    return "".join(out) + tex_escape(note[pos:])


def _tex_why(doc, st):
    why = doc.why(st, "latex")
    return f"{{\\small\\leftskip=2em\\noindent$\\triangleright$\\ {why}\\par}}" if why else ""


def _latex_doc(doc):
    lang = doc.lang
    out = [f"\\section*{{{phrases.label('conventions', lang)}}}", "\\begin{itemize}"]
    out += [f"\\item {c}" for c in doc.conventions("latex")]
    out += [f"\\item {note_tex(phrases.cell_note(doc.cell, lang))}", "\\end{itemize}", ""]
    for _, sec, title in doc.sections():
        out += [f"\\section{{{title}}}", doc.intro(sec, "latex"), ""]
        for group in _groups(doc, sec):
            out += [_tex_group(doc, group, "latex"), _tex_why(doc, group[-1][3]), ""]
    return "\n".join(out).rstrip() + "\n"


def _standalone(doc, body):
    import importlib.resources

    import jinja2
    src = importlib.resources.files("templates").joinpath("derivation.tex.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(block_start_string=r"\BLOCK{", block_end_string="}", variable_start_string=r"\VAR{",
                             variable_end_string="}", comment_start_string=r"\#{", comment_end_string="}",
                             trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True)
    return env.from_string(src).render(title=tex_escape(doc.title), zh=doc.lang == "zh", body=body)


# ---- Markdown -------------------------------------------------------------------------
_MD_ESC = re.compile(r"([\\`*_\[\]<>$#|])")


def _md_escape(s: str) -> str:
    return _MD_ESC.sub(r"\\\1", s)


def _markdown_doc(doc):
    lang = doc.lang
    why = phrases.label("why", lang) + (":" if lang == "en" else "：")
    out = [f"# {_md_escape(doc.title)}", "", f"## {phrases.label('conventions', lang)}", ""]
    out += [f"- {c}" for c in doc.conventions("markdown")]
    out += [f"- {_md_escape(phrases.cell_note(doc.cell, lang))}", ""]
    for k, sec, title in doc.sections():
        out += [f"## {k}. {title}", "", doc.intro(sec, "markdown"), ""]
        for group in _groups(doc, sec):
            out += [_tex_group(doc, group, "markdown"), ""]
            j = doc.why(group[-1][3], "markdown")
            out += [f"*{why}* {j}", ""] if j else []
    return "\n".join(out).rstrip() + "\n"


# ---- text -------------------------------------------------------------------------------
_UNIT = re.compile(r"\s+|[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]+")
_NO_LINE_START = set("，。；：、）」』！？,.;:)")


def _wrap(s, width, indent):
    """Wrap prose to ``width`` columns: at spaces, or between two CJK characters (never before
    CJK punctuation, never inside a formula such as ``h_{t-1}``)."""
    if not any(unicodedata.east_asian_width(c) in "WF" for c in s):
        return textwrap.fill(s, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)
    lines, cur = [], indent
    for unit in _UNIT.findall(s):
        if text_width(cur + unit.rstrip()) > width and cur.strip() and unit[0] not in _NO_LINE_START:
            lines.append(cur.rstrip())
            cur = indent
            unit = unit.lstrip()
        cur += unit
    return "\n".join(lines + [cur.rstrip()])


def _text_step(doc, lhs, rel, rhs):
    p, width = doc.txt, WIDTH["text"]
    left = "  " + p.doprint(lhs) + f" {rel} "
    pad = text_width(left)
    rows = doc.rows(p, lhs, rhs, width - pad, width - pad)
    out = [left + rows[0][1]]
    out += [" " * (pad - 2 + 2 * d) + t.strip() for d, t in rows[1:]]
    return "\n".join(out)


def _text_doc(doc):
    lang, width = doc.lang, WIDTH["text"]
    conv = phrases.label("conventions", lang)
    out = [doc.title, "=" * text_width(doc.title), "", conv, "-" * text_width(conv)]
    out += [_wrap(c, width, "  ").replace("  ", "• ", 1) for c in doc.conventions("text")]
    out += [_wrap(phrases.cell_note(doc.cell, lang), width, "  ").replace("  ", "• ", 1), ""]
    for k, sec, title in doc.sections():
        head = f"{k}. {title}"
        out += [head, "-" * text_width(head), _wrap(doc.intro(sec, "text"), width, ""), ""]
        for group in _groups(doc, sec):
            out += [_text_step(doc, lhs, rel, rhs) for lhs, rel, rhs, _ in group]
            j = doc.why(group[-1][3], "text")
            out += [_wrap("▸ " + j, width, "      ")] if j else []
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# ---- JSON ------------------------------------------------------------------------------
def _json_doc(doc):
    tex, txt = doc.tex, doc.txt
    sections = []
    for _, sec, title in doc.sections():
        steps = [{"lhs": tex.doprint(lhs), "rel": rel, "rhs": tex.doprint(rhs), "lhs_text": txt.doprint(lhs),
                  "rhs_text": txt.doprint(rhs), "why": list(st.why), "justification": doc.why(st, "text"),
                  "justification_tex": doc.why(st, "latex")} for lhs, rel, rhs, st in doc.steps(sec)]
        sections.append({"key": sec.key, "title": title, "intro": doc.intro(sec, "text"),
                         "intro_tex": doc.intro(sec, "latex"), "steps": steps})
    data = {"cell": doc.cell.name, "variant": doc.cell.convention, "title": doc.cell.title, "lang": doc.lang,
            "conventions": doc.conventions("text"), "conventions_tex": doc.conventions("latex"),
            "notes": phrases.cell_note(doc.cell, doc.lang),
            "options": {k: v for k, v in sorted(doc.d.options.items())}, "sections": sections}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2) + "\n"

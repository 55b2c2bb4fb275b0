"""Show a variant: its texts rendered by Jinja for a target (terminal, latex, markdown, html).

Templates only format: the filters ``num`` (a number), ``matrix`` / ``vec``
(an array) and ``pct`` are the only helpers, and they format per target.
Inline maths stays LaTeX between ``$`` for latex/markdown/html and becomes
Unicode for the terminal.
"""
from __future__ import annotations

import functools
import re

TARGETS = ("terminal", "latex", "markdown", "html")


def fmt_num(x, digits: int = 4) -> str:
    """A number as people write it: integers plain, others to ``digits`` significant figures."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if float(x).is_integer() and abs(x) < 1e9:
        return str(int(x))
    return f"{x:.{digits}g}"


def _rows(a):
    return [a] if a and not isinstance(a[0], (list, tuple)) else a


def matrix_text(a, digits: int = 4) -> str:
    """``[[1, 0.5], [0, 2]]`` (a flat list stays flat)."""
    if a and not isinstance(a[0], (list, tuple)):
        return "[" + ", ".join(fmt_num(v, digits) for v in a) + "]"
    return "[" + ", ".join(matrix_text(r, digits) for r in a) + "]"


def matrix_tex(a, digits: int = 4) -> str:
    """A ``bmatrix``; a flat list is a column vector."""
    rows = [[v] for v in a] if a and not isinstance(a[0], (list, tuple)) else a
    body = r" \\ ".join(" & ".join(fmt_num(v, digits) for v in r) for r in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


@functools.lru_cache(maxsize=None)
def _env(target: str):
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    tex = target != "terminal"
    env.filters.update(num=fmt_num, matrix=matrix_tex if tex else matrix_text,
                       vec=matrix_tex if tex else matrix_text, pct=lambda x: f"{100 * x:.1f}%")
    return env


@functools.lru_cache(maxsize=4096)
def _compiled(target: str, template: str):
    return _env(target).from_string(template)  # compiling is ~0.25 ms; sheets render thousands


def render_string(template: str, params: dict, target: str = "terminal") -> str:
    """Render one Jinja template string; errors name the problem (a bank bug, not user input)."""
    from jinja2 import TemplateError
    from derive.errors import BpttError
    try:
        return _compiled(target, template).render(**params)
    except TemplateError as err:
        raise BpttError(f"template error in {template[:40]!r}...: {err}; fix the bank text") from None


WORD_COMMANDS = {  # \name (not followed by a letter) -> Unicode, inside $...$
    "leftrightarrow": "↔", "rightarrow": "→", "leftarrow": "←", "to": "→", "in": "∈", "infty": "∞",
    "cdot": "·", "neq": "≠", "ne": "≠", "ge": "≥", "quad": "  ", "left": "", "right": "", "eta": "η",
    "theta": "θ", "lambda": "λ", "alpha": "α", "beta": "β", "mu": "μ", "epsilon": "ε", "varepsilon": "ε",
    "rho": "ρ", "Sigma": "Σ", "exp": "exp", "max": "max", "min": "min", "lvert": "|", "rvert": "|", "vert": "|",
    "nabla": "∇", "prime": "′", "cdots": "⋯", "ln": "ln", "cosh": "cosh", "sinh": "sinh",
    "big": "", "Big": "", "bigg": "", "Bigg": "",
}
TERMINAL = [  # applied inside $...$ before derive's own table
    (r"\\[td]?frac(\d)(\d)", r"\1/\2"), (r"\\mathrm\{([^{}]*)\}", r"\1"), (r"\\text\{([^{}]*)\}", r"\1"), (r"\\operatorname\{([^{}]*)\}", r"\1"),
    (r"\^\\top", "ᵀ"), (r"\\tilde\s*\{?([a-z])\}?", "\\1\u0303"), (r"\\hat\s*\{?([a-z])\}?", "\\1\u0302"),
    (r"\\,|\\;|\\!", " "), (r"_\{\s*(\w)\s*\}", r"_\1"), (r"\\\{", "{"), (r"\\\}", "}"), (r"\\sqrt\{([^{}]*)\}", r"√(\1)"),
    (r"\\bar\s*\{?([a-z])\}?", "\\1\u0304"),
    (r"\\overrightarrow\{([^{}]*)\}", r"\1→"), (r"\\overleftarrow\{([^{}]*)\}", r"\1←"),
    (r"\\([A-Za-z]+)(?![A-Za-z])", lambda m: WORD_COMMANDS.get(m.group(1), m.group(0))),
]


def _over(a, b):
    def simple(t):
        t = re.sub(r"\{[^{}]*\}", "", re.sub(r"\\partial\s*", "", t))
        return not re.search(r"[-+,]", t) and len(t.split()) <= 1
    wrap = lambda t: t if simple(t) else f"({t})"
    return f"{wrap(a)}/{wrap(b)}"


def _group(s, i):
    """End index (exclusive) of the balanced {...} group starting at s[i] == '{'."""
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return j + 1
    return -1


def _fracs(s: str) -> str:
    """\\frac{a}{b} (nested braces allowed) as a/b, with parentheses where needed."""
    m = re.search(r"\\[td]?frac\s*\{", s)
    while m:
        a_end = _group(s, m.end() - 1)
        if a_end < 0 or a_end >= len(s) or s[a_end] != "{":
            break
        b_end = _group(s, a_end)
        if b_end < 0:
            break
        s = s[:m.start()] + _over(s[m.end():a_end - 1], s[a_end + 1:b_end - 1]) + s[b_end:]
        m = re.search(r"\\[td]?frac\s*\{", s)
    return s


def terminal_text(s: str) -> str:
    """Inline ``$...$`` maths as Unicode for a terminal; prose unchanged."""
    import re
    from derive.markup import tex_to_text
    parts = s.split("$")
    for k in range(1, len(parts), 2):
        parts[k] = _fracs(parts[k])
        for pat, rep in TERMINAL:
            parts[k] = re.sub(pat, rep, parts[k])
    out = tex_to_text("$".join(parts))
    return re.sub(r"_\{([^{}]*)\}", r"_\1" if False else r"_{\1}", out)


LATEX_PROSE = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
               "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _prose(s: str, target: str) -> str:
    """Escape text outside maths for the target (maths between $ is left as written)."""
    if target == "latex":
        return "".join(LATEX_PROSE.get(c, c) for c in s)
    if target == "markdown":
        return s.replace("_", r"\_").replace("*", r"\*")
    return s


def _finish(s: str, target: str) -> str:
    if target == "terminal":
        return terminal_text(s)
    import html
    parts = s.split("$")
    out = [(_prose(p, target) if k % 2 == 0 else p) for k, p in enumerate(parts)]
    joined = "$".join(out)
    return html.escape(joined, quote=False) if target == "html" else joined


def render(question, variant, lang: str = "en", target: str = "terminal") -> dict:
    """Texts of one variant: ``text``, ``hint``, ``solution``, ``choices`` [(key, text)], ``expected``.

    ``expected`` is the answer as a student would type it.
    """
    from .kinds import kind_of
    spec = variant.answer
    params = dict(variant.params, answer=spec.get("value"))
    out = {k: _finish(render_string(getattr(question, k)[lang], params, target), target)
           for k in ("text", "hint", "solution")}
    opts = spec.get("options") or spec.get("items") or []
    out["choices"] = [(o["key"], _finish(render_string(o[lang], params, target), target)) for o in opts]
    out["expected"] = kind_of(spec).expected(spec, lang)
    out["kind"] = spec["kind"]
    return out

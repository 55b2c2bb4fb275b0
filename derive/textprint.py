"""Plain-text (Unicode) printing of derivations: ``∂h_t/∂h_{t-1} = diag(1 − h_t ⊙ h_t) W``.

Same containers as the LaTeX printer (:class:`derive.printing.Layout`), other tokens.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

import sympy as sp
from sympy.printing.str import StrPrinter

from .notation import Partial
from .printing import Layout, Name

COMBINING = {"bar": "\u0304", "tilde": "\u0303", "dot": "\u0307", "hat": "\u0302"}
GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
         "lambda": "λ", "mu": "μ", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "psi": "ψ", "omega": "ω"}
TEXT_FN = {"tanh": "tanh", "sigmoid": "σ", "relu": "relu", "exp": "exp", "log": "log",
           "softplus": "softplus", "softmax": "softmax", "step": "1"}
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def text_width(s: str) -> int:
    """Terminal columns: combining marks take none, CJK characters two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in s)


class DerivTextPrinter(Layout, StrPrinter):
    """Unicode text in the notation of :class:`derive.printing.DerivLatexPrinter`."""

    printmethod = "_bptt_text"
    _default_settings = {**StrPrinter._default_settings, "param_order": (), "name_order": ()}
    TEXT_ARG = 1
    FN = TEXT_FN
    TOK = dict(plus=" + ", minus=" − ", neg="−", mul=" ", odot=" ⊙ ", lp="(", rp=")", blp="(", brp=")",
               T="ᵀ", diag="diag", OneMatrix="1", Identity="I", ZeroMatrix="0", sum="Σ_{{{i}={lo}}}^{{{hi}}} ",
               prod="∏_{{{i}={lo}}}^{{{hi}}} ", lnorm="‖", rnorm="‖₂", pow="^({e})", prime="′")

    def _fn(self, name, inner):
        if name == "step":
            return ["1[", *inner, " > 0]"]
        if name == "log" and len(inner) > 1:
            return ["log ", *inner]
        return [self.FN[name] + "(", *inner, ")"]

    def _hpow(self, kid, n):
        if n == 2:
            return [kid, self.TOK["odot"], kid]
        return [kid, "^⊙(%s)" % self._print(n)]

    def _loose(self, f):
        return isinstance(f, Partial) or isinstance(f, sp.Symbol) and "/" in f.name

    def _name_of(self, n: Name) -> str:
        if n.delta_of:
            return "δ^" + self._name_of(replace(n.delta_of, index="", layer=n.layer)) + self._subscript(n.index)
        head = unicodedata.normalize("NFC", GREEK.get(n.head, n.head) + "".join(COMBINING[a] for a in n.accents))
        head += f"^({ {'bw': '←'}.get(n.layer, n.layer)})" if n.layer else ""
        if n.sub and not n.index:
            return f"{head}_{n.sub}"
        return head + self._subscript(",".join(x for x in (n.sub, n.index) if x))

    @staticmethod
    def _subscript(s):
        return "" if not s else f"_{s}" if len(s) == 1 else f"_{{{s}}}"

    def _print_Partial(self, expr):
        d = "d" if expr.args[2] == sp.true else "∂"
        return f"{d}{self._print(expr.num)}/{d}{self._print(expr.den)}"

    def _print_Transposed(self, expr):
        inner = self._print(expr.args[0])
        return f"{inner}ᵀ" if isinstance(expr.args[0], sp.MatrixSymbol) else f"({inner})ᵀ"

    def _print_BlockMatrix(self, expr):
        return self.matrix(expr.blocks.tolist())

    def matrix(self, rows):
        """A bracketed matrix of expressions, rows separated by ``;``."""
        return "[" + "; ".join(", ".join(self._print(b) for b in row) for row in rows) + "]"

    def _print_Pow(self, expr, rational=False):
        base, e = expr.args
        if e.is_Integer and e > 1:
            b = self._print(base)
            return (b if isinstance(base, (sp.Symbol, sp.Function)) else f"({b})") + str(e).translate(SUPERSCRIPT)
        return super()._print_Pow(expr, rational)


def text(expr, **settings) -> str:
    """Unicode text of a derivation expression."""
    return DerivTextPrinter(settings).doprint(expr)


# ---- approximate rendered width of LaTeX math, in units of one letter -----------
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}]|[^\\{}]")
_CMD_W = {r"\odot": 2, r"\tanh": 3, r"\log": 2.5, r"\exp": 2.5, r"\lVert": 0.6, r"\rVert": 0.6,
          r"\quad": 2, r"\qquad": 4, r"\le": 2, r"\approx": 2, r"\ldots": 2, r"\,": 0.3, r"\;": 0.5,
          r"\left": 0, r"\right": 0, r"\bigl": 0, r"\bigr": 0, r"\Longrightarrow": 4, r"\Longleftarrow": 4}
_ARG_CMDS = {r"\operatorname", r"\mathbf", r"\mathit", r"\mathrm", r"\text", r"\bar", r"\tilde", r"\dot",
             r"\hat", r"\mathbb"}
_CHAR_W = {" ": 0, "+": 2, "-": 1.6, "=": 2.2, "<": 2, ">": 2, "(": 0.6, ")": 0.6, "[": 0.5, "]": 0.5,
           ",": 0.6, "&": 0, "'": 0.3}


def tex_width(s: str) -> float:
    """Rough width of a LaTeX formula (letters count 1): enough to decide where to break lines."""
    return _measure(_TOKEN.findall(s), 0)[0]


def _group(toks, i):
    if i < len(toks) and toks[i] == "{":
        return _measure(toks, i + 1)
    return (_measure(toks[i:i + 1], 0)[0] if i < len(toks) else 0), i + 1


def _measure(toks, i):
    w = 0.0
    while i < len(toks):
        t = toks[i]
        if t == "}":
            return w, i + 1
        if t == "{":
            g, i = _measure(toks, i + 1)
        elif t == r"\frac":
            a, i = _group(toks, i + 1)
            b, i = _group(toks, i)
            g = max(a, b) + 0.4
        elif t in ("_", "^"):
            g, i = _group(toks, i + 1)
            g *= 0.7
        elif t in (r"\sum", r"\prod"):
            g, i = _limits(toks, i + 1)
        elif t in _ARG_CMDS:
            g, i = _group(toks, i + 1)
        elif t in (r"\begin", r"\end"):
            g, i = 0, _group(toks, i + 1)[1]
        else:
            g, i = _CMD_W.get(t, _CHAR_W.get(t, 1.0)), i + 1
        w += g
    return w, i


def _limits(toks, i):
    sub = sup = 0.0
    while i < len(toks) and toks[i] in ("_", "^"):
        g, j = _group(toks, i + 1)
        sub, sup = (g, sup) if toks[i] == "_" else (sub, g)
        i = j
    return max(1.8, 0.7 * sub, 0.7 * sup) + 0.5, i

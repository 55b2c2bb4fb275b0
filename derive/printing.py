"""Textbook LaTeX for derivations: ``h[t-1]`` prints as ``h_{t-1}``, ``delta_c[t+1]`` as ``\\delta^{c}_{t+1}``.

Both printers (this one and the Unicode one in :mod:`derive.textprint`) describe each
container (sums, products, ⊙, diag, Σ, ∏ ...) once, as *parts* (:meth:`Layout.parts`):
strings and :class:`Child` sub-expressions.  Joining them prints the expression;
:mod:`derive.render` uses the same parts to break long formulas into rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import NamedTuple

import sympy as sp
from sympy import (HadamardPower, HadamardProduct, Identity, MatAdd, MatMul, MatrixSymbol, OneMatrix,
                   Transpose, ZeroMatrix)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.latex import LatexPrinter, translate

from .notation import Chain, Norm, Partial, Terms, Text

ACCENTS = ("bar", "tilde", "dot", "hat")
_NAME = re.compile(r"^(.*?)(?:\[([^\]]*)\])?$")
_LAYER = re.compile(r"__(\d+|bw)")
DIRECTION = {"bw": r"\leftarrow"}
_SCALAR_D = re.compile(r"^d(\w+?)_prev/d(\w+)$")      # 1-D case: "dh_prev/dW" is ∂h_{t-1}/∂W


@dataclass(frozen=True)
class Name:
    """A parsed symbol name: head, parameter subscript, time index, accents (innermost first)."""

    head: str
    sub: str = ""
    index: str = ""
    accents: tuple = ()
    delta_of: "Name | None" = None
    layer: str = ""


def parse_name(name: str) -> Name:
    """``"h_tilde[t]"`` -> Name("h", index="t", accents=("tilde",)); ``"delta_c[t+1]"`` -> δ of c."""
    base, index = _NAME.match(name).groups()
    index = index or ""
    layer = _LAYER.search(base)
    if layer:  # "h__2" is h of layer 2 (stacked cells)
        return replace(parse_name(_LAYER.sub("", base, 1) + (f"[{index}]" if index else "")), layer=layer[1])
    if base.startswith("delta_") and len(base) > 6:
        return Name("delta", index=index, delta_of=parse_name(base[6:]))
    accents = []
    while (acc := _accent_suffix(base)) is not None:
        base = base[: -len(acc)].rstrip("_")
        accents.insert(0, acc)
    head, _, sub = base.partition("_")
    return Name(head, sub, index, tuple(accents))


def _accent_suffix(base: str):
    """``"h_tilde"`` and ``"ybar"`` end in an accent; ``"bar"`` alone does not."""
    return next((a for a in ACCENTS if base.endswith(a) and (len(base) == len(a) + 1 or
                                                            base.endswith("_" + a) and len(base) > len(a) + 1)), None)


class Child(NamedTuple):
    """A sub-expression inside a container's parts; ``paren`` wraps it in parentheses."""

    expr: object
    paren: bool = False


ATOMS = (MatrixSymbol, sp.Symbol, OneMatrix, Identity, ZeroMatrix, DiagMatrix, ElementwiseApplyFunction,
         Partial, Norm, sp.Number, Text, sp.Function)
SUMS = (MatAdd, sp.Add, Terms)
CONSTS = (OneMatrix, Identity, ZeroMatrix, sp.Number)


def signed(term):
    """(negative?, |term|) for a term of a sum."""
    if isinstance(term, MatMul):
        coeff, mat = term.as_coeff_mmul()
        if coeff.is_number and coeff < 0:
            body = mat.args[0] if len(mat.args) == 1 else mat
            return True, body if coeff == -1 else MatMul(-coeff, *mat.args)
    if isinstance(term, sp.Expr) and not term.is_Matrix and term.could_extract_minus_sign():
        return True, -term
    return False, term


def _flatten(expr, cls):
    for a in expr.args:
        yield from (_flatten(a, cls) if isinstance(a, cls) else (a,))


class Layout:
    """Parts of every container, shared by the LaTeX and the Unicode printer.

    Subclasses provide ``TOK`` (the printer's tokens), ``FN`` (function names),
    ``TEXT_ARG``, ``_fn(name, parts)``, ``_hpow(child, n)`` and ``_name_of(Name)``.
    """

    def parts(self, expr):
        """``("sum", [(operator, term)])`` or ``("seq", [str | Child])`` for a container, else None."""
        meth = getattr(self, f"_parts_{type(expr).__name__}", None)
        return meth(expr) if meth else None

    def _parts_MatAdd(self, expr):
        return "sum", self._signed_items(self._ordered_terms(expr.args))

    def _parts_Terms(self, expr):
        items, tok = [], self.TOK
        for t in expr.args:
            for op, term in self.parts(t)[1] if isinstance(t, SUMS) else [("", t)]:
                if items and op in ("", tok["neg"]):
                    op = tok["minus"] if op else tok["plus"]
                items.append((op, term))
        return "sum", items

    def _parts_Add(self, expr):
        return "sum", self._signed_items(self._ordered_terms(self._as_ordered_terms(expr)))

    def _signed_items(self, terms):
        items = []
        for k, t in enumerate(terms):
            neg, body = signed(t)
            op = (self.TOK["neg"] if neg else "") if k == 0 else self.TOK["minus" if neg else "plus"]
            items.append((op, body))
        return items

    def _ordered_terms(self, terms):
        """Constants first (``1 - x``), then by the cell's parameter order, a negative after its positive twin."""
        order = {p: k for k, p in enumerate(self._settings.get("param_order") or ())}

        def rank(t):
            names = [_param_rank(order, s.name) for s in t.free_symbols if hasattr(s, "name")]
            return min((r for r in names if r is not None), default=-1)
        return sorted(terms, key=lambda t: (not isinstance(t, CONSTS), rank(t), signed(t)[0]))

    def _parts_MatMul(self, expr):
        coeff, mat = expr.as_coeff_mmul()
        head = self.TOK["neg"] if coeff == -1 else "" if coeff == 1 else self._print(coeff) + " "
        return "seq", [head, *self._spaced(mat.args, (*SUMS, HadamardProduct, Chain))]

    def _parts_Mul(self, expr):
        coeff, rest = expr.as_coeff_Mul()
        head = self.TOK["neg"] if coeff == -1 else "" if coeff == 1 else self._print(coeff) + " "
        names = (*(self._settings.get("param_order") or ()), *(self._settings.get("name_order") or ()))
        return "seq", [head, *self._spaced(hadamard_order(rest.as_ordered_factors(), names), SUMS)]

    def _parts_Chain(self, expr):
        return "seq", self._spaced([f for f in expr.args if f != 1], (*SUMS, HadamardProduct))

    def _spaced(self, factors, wrap):
        out = []
        for f in factors:
            paren = (isinstance(f, wrap) and not _self_wrapped(f)) or self._loose(f) and len(factors) > 1
            out += [self.TOK["mul"], Child(f, paren or signed(f)[0])] if out else [Child(f, paren)]
        return out

    def _loose(self, f):
        """Whether a factor needs parentheses among others (a text fraction ``a/b``)."""
        return False

    def _parts_HadamardProduct(self, expr):
        factors = hadamard_order(list(_flatten(expr, HadamardProduct)), self._settings.get("name_order") or ())
        if all(isinstance(f, Transpose) for f in factors):      # (a ⊙ b)ᵀ reads better than aᵀ ⊙ bᵀ
            inner = HadamardProduct(*(f.arg for f in factors))
            return "seq", [Child(inner, True), self.TOK["T"]]
        out = []
        for f in factors:
            out += ([self.TOK["odot"]] if out else []) + [Child(f, not isinstance(f, ATOMS + (HadamardPower,)))]
        return "seq", out

    def _parts_HadamardPower(self, expr):
        base, n = expr.args
        return "seq", self._hpow(Child(base, not isinstance(base, ATOMS)), n)

    def _parts_DiagMatrix(self, expr):
        return "seq", [self.TOK["diag"] + self.TOK["lp"], Child(expr.args[0]), self.TOK["rp"]]

    def _parts_Transpose(self, expr):
        return "seq", [Child(expr.arg, not isinstance(expr.arg, (MatrixSymbol, sp.Symbol))), self.TOK["T"]]

    def _parts_ElementwiseApplyFunction(self, expr):
        lam = expr.function
        return "seq", self._apply(lam.expr, lam.variables[0], Child(expr.expr))

    def _apply(self, body, var, kid):
        """Parts of a (possibly nested) elementwise function body applied to ``kid``."""
        return [kid] if body == var else self._fn(type(body).__name__, self._apply(body.args[0], var, kid))

    def _parts_TimeSum(self, expr):
        term, i, lo, hi = expr.args
        return "seq", [self._bounds("sum", i, lo, hi), Child(term, isinstance(term, SUMS))]

    def _parts_TimeProd(self, expr):
        f, i, lo, hi = expr.args
        return "seq", [self._bounds("prod", i, lo, hi), Child(f, not isinstance(f, ATOMS) or self._loose(f))]

    def _bounds(self, which, i, lo, hi):
        return self.TOK[which].format(i=i.name, lo=lo.name, hi=hi.name)

    def _parts_Norm(self, expr):
        return "seq", [self.TOK["lnorm"], Child(expr.args[0]), self.TOK["rnorm"]]

    def _parts_Power(self, expr):
        base, e = expr.args
        if isinstance(base, Chain):
            factors = [f for f in base.args if f != 1]
            base = factors[0] if len(factors) == 1 else Chain(*factors)
        return "seq", [Child(base, not isinstance(base, Norm)), self.TOK["pow"].format(e=e.name)]

    def _parts_Tuple(self, expr):
        inner = [x for k, a in enumerate(expr.args) for x in ([", "] if k else []) + [Child(a)]]
        return "seq", [self.TOK["lp"], *inner, self.TOK["rp"]]

    def _join(self, parts):
        kind, items = parts
        if kind == "sum":
            return "".join(op + self._print(t) for op, t in items)
        return "".join(it if isinstance(it, str) else self.child_text(it) for it in items)

    def child_text(self, kid, big=False):
        s = self._print(kid.expr)
        if not kid.paren:
            return s
        lp, rp = (self.TOK["blp"], self.TOK["brp"]) if big else self._parens(s)
        return lp + s + rp

    def _parens(self, s):
        return self.TOK["lp"], self.TOK["rp"]

    def _print_container(self, expr):
        return self._join(self.parts(expr))

    _print_MatAdd = _print_Terms = _print_MatMul = _print_Chain = _print_container
    _print_HadamardProduct = _print_HadamardPower = _print_DiagMatrix = _print_Transpose = _print_container
    _print_ElementwiseApplyFunction = _print_TimeSum = _print_TimeProd = _print_container
    _print_Norm = _print_Power = _print_Tuple = _print_container

    def _print_Mul(self, expr):
        if any(f.is_Pow and f.exp.is_negative for f in expr.args):
            return super()._print_Mul(expr)
        return self._join(self._parts_Mul(expr))

    def _print_Add(self, expr, order=None):
        return self._join(self._parts_Add(expr))

    def _func(self, expr):
        return self._join(("seq", self._fn(type(expr).__name__, [Child(expr.args[0])])))

    _print_tanh = _print_sigmoid = _print_relu = _print_step = _print_softplus = _print_softmax = _func
    _print_log = _func

    def _print_constant(self, expr):
        return self.TOK[type(expr).__name__]

    _print_OneMatrix = _print_Identity = _print_ZeroMatrix = _print_constant

    def _print_Text(self, expr):
        return expr.args[self.TEXT_ARG].name

    def _print_MatrixSymbol(self, expr):
        return self._name(expr.name)

    def _print_Symbol(self, expr, style="plain"):
        m = _SCALAR_D.match(expr.name)
        if m:
            return self._print(Partial(sp.Symbol(f"{m[1]}[t-1]"), sp.Symbol(m[2]), True))
        return self._name(expr.name)

    def _name(self, name):
        if name.endswith("'") and name[:-1] in self.FN:
            return self.FN[name[:-1]] + self.TOK["prime"]
        return self._name_of(parse_name(name))


def _param_rank(order, name):
    """Rank of a parameter in the cell's order; a tangent ``W_dot`` ranks just after ``W``."""
    if name in order:
        return order[name]
    if name.endswith("_dot") and name[:-4] in order:
        return order[name[:-4]] + 0.5
    return None


def _self_wrapped(f) -> bool:
    """A Hadamard product of transposes prints as ``(a ⊙ b)ᵀ``: already bracketed."""
    return isinstance(f, HadamardProduct) and all(isinstance(a, Transpose) for a in f.args)


def _is_adjoint(f) -> bool:
    n = parse_name(f.name) if isinstance(f, MatrixSymbol) else None
    return bool(n and (n.delta_of or "bar" in n.accents))


def hadamard_order(factors, names=()):
    """Adjoints first, then matrix products, then symbols in the cell's order; ``1 - a`` right after ``a``."""
    rank = {n: k for k, n in enumerate(names)}

    def key(f):
        syms = [s for s in f.free_symbols if hasattr(s, "name")]
        r = min((rank.get(s.name.split("[")[0], len(rank)) for s in syms), default=len(rank))
        if _is_adjoint(f):
            return 0, r
        if any(_is_adjoint(s) for s in syms):
            return 0.5, r
        if isinstance(f, SUMS):
            return (2 if any(isinstance(a, CONSTS) for a in f.args) else 3), r      # a gate 1 - z sits with z
        return (1 if not isinstance(f, ATOMS + (HadamardPower, sp.Pow)) else 2), r
    out = sorted(factors, key=key)
    for f in [f for f in out if isinstance(f, SUMS)]:
        partner = next((a for a in f.args if not isinstance(a, CONSTS) and signed(a)[0]), None)
        if partner is not None and signed(partner)[1] in out:
            out.remove(f)
            out.insert(out.index(signed(partner)[1]) + 1, f)
    return out


LATEX_FN = {"tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\operatorname{relu}", "exp": r"\exp",
            "log": r"\log", "softplus": r"\operatorname{softplus}", "softmax": r"\operatorname{softmax}",
            "step": r"\mathbb{1}"}


class DerivLatexPrinter(Layout, LatexPrinter):
    """LaTeX in textbook notation; ``param_order`` orders the terms of sums (e.g. ``W x + U h + b``)."""

    printmethod = "_bptt_latex"
    _default_settings = {**LatexPrinter._default_settings, "param_order": (), "name_order": (), "inline": False}
    TEXT_ARG = 0
    FN = LATEX_FN
    TOK = dict(plus=" + ", minus=" - ", neg="-", mul=" ", odot=r" \odot ", lp="(", rp=")", blp=r"\bigl(",
               brp=r"\bigr)", T=r"^{\top}", diag=r"\operatorname{diag}", OneMatrix=r"\mathbf{1}", Identity="I",
               ZeroMatrix="0", sum=r"\sum_{{{i}={lo}}}^{{{hi}}} ", prod=r"\prod_{{{i}={lo}}}^{{{hi}}} ",
               lnorm=r"\lVert ", rnorm=r" \rVert_{2}", pow="^{{{e}}}", prime="'")

    def _parens(self, s):
        return (r"\left(", r"\right)") if _tall(s) else ("(", ")")

    def _parts_Norm(self, expr):
        arg = self._print(expr.args[0])
        lr = (r"\left\lVert ", r" \right\rVert_{2}") if _tall(arg) else (self.TOK["lnorm"], self.TOK["rnorm"])
        return "seq", [lr[0], Child(expr.args[0]), lr[1]]

    def _fn(self, name, inner):
        if name == "step":
            return [r"\mathbb{1}[", *inner, " > 0]"]
        if name == "log" and len(inner) > 1:                  # \log \operatorname{softmax}(o_t)
            return [r"\log ", *inner]
        return [self.FN[name] + "(", *inner, ")"]

    def _hpow(self, kid, n):
        return [kid, r"^{\odot %s}" % self._print(n)]

    def _name_of(self, n: Name) -> str:
        if n.delta_of:
            return (r"\delta^{%s}" % self._name_of(replace(n.delta_of, index="")) + self._subscript(n.index)
                    if not n.layer else r"\delta^{%s}" % self._name_of(replace(n.delta_of, index="", layer=n.layer))
                    + self._subscript(n.index))
        head = _head_tex(n.head)
        for a in n.accents:
            head = r"\%s{%s}" % (a, head)
        out = head + ("^{(%s)}" % DIRECTION.get(n.layer, n.layer) if n.layer else "") + self._subscript(",".join(x for x in (n.sub, n.index) if x))
        return "{%s}" % out if n.layer else out  # braced: a following ^ or ' stays valid

    @staticmethod
    def _subscript(s):
        return "_{%s}" % s if s else ""

    def _print_Partial(self, expr):
        d = r"\mathrm{d}" if expr.args[2] == sp.true else r"\partial"
        form = r"%s %s/%s %s" if self._settings.get("inline") else r"\frac{%s %s}{%s %s}"
        return form % (d, self._print(expr.num), d, self._print(expr.den))

    def _print_Transposed(self, expr):
        inner = self._print(expr.args[0])
        return r"%s^{\top}" % inner if isinstance(expr.args[0], sp.MatrixSymbol) else r"\left(%s\right)^{\top}" % inner

    def _print_BlockMatrix(self, expr):
        return self.matrix(expr.blocks.tolist())

    def matrix(self, rows):
        """A bracketed matrix of expressions (a list of rows); partials inside take the slash form."""
        inline, self._settings["inline"] = self._settings["inline"], True
        try:
            body = r" \\ ".join(" & ".join(self._print(b) for b in row) for row in rows)
        finally:
            self._settings["inline"] = inline
        return r"\begin{bmatrix} %s \end{bmatrix}" % body


def _tall(s: str) -> bool:
    return any(c in s for c in (r"\frac", r"\sum", r"\prod", r"\begin"))


def _head_tex(head: str) -> str:
    t = translate(head)
    return t if t != head or len(head) == 1 else r"\mathit{%s}" % head


def latex(expr, **settings) -> str:
    """LaTeX of a derivation expression (see :class:`DerivLatexPrinter`)."""
    return DerivLatexPrinter(settings).doprint(expr)


def cell_latex(cell) -> str:
    """The cell's equations as one ``aligned`` block (for Jupyter)."""
    from .derivation import Frame, equations
    sec = equations(cell, Frame(cell))
    p = DerivLatexPrinter({"param_order": tuple(cell.params) + tuple(cell.readout_params)})
    rows = [r"%s &= %s" % (p.doprint(s.lhs), p.doprint(s.rhs)) for s in sec.steps]
    return r"\begin{aligned} %s \end{aligned}" % r" \\ ".join(rows)

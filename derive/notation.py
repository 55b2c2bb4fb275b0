"""Display-only SymPy objects for derivations (printed by ``_print_<Class>``).

Time-indexed names are MatrixSymbols called ``"h[t]"``, ``"h[t-1]"``,
``"f_bar[3]"``; parameters carry no index.  These classes add the notation
that matrix expressions lack: partial derivatives, sums and products over time,
norms and the adjoint arriving from the future.
"""
from __future__ import annotations

import sympy as sp
from sympy import MatrixSymbol


class Partial(sp.Basic):
    """∂num/∂den (numerator layout)."""

    def __new__(cls, num, den, total=False):
        return super().__new__(cls, num, den, sp.true if total else sp.false)

    num = property(lambda s: s.args[0])
    den = property(lambda s: s.args[1])


class TimeSum(sp.Basic):
    """Σ_{index=lower}^{upper} term; bounds are strings such as "t-K+1"."""

    def __new__(cls, term, index, lower, upper):
        return super().__new__(cls, term, sp.Symbol(index), sp.Symbol(lower), sp.Symbol(upper))


class TimeProd(sp.Basic):
    """∏_{index=lower}^{upper} factor, applied right to left (later times on the left)."""

    def __new__(cls, factor, index, lower, upper):
        return super().__new__(cls, factor, sp.Symbol(index), sp.Symbol(lower), sp.Symbol(upper))


class Norm(sp.Basic):
    """‖arg‖₂ (spectral norm for matrices)."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)


class Power(sp.Basic):
    """base^exponent with a symbolic exponent such as t-k."""

    def __new__(cls, base, exponent):
        return super().__new__(cls, base, sp.Symbol(exponent))


class Text(sp.Basic):
    """A short math-mode word, e.g. a condition like σ_max(W) < 1/γ."""

    def __new__(cls, latex, plain):
        return super().__new__(cls, sp.Symbol(latex), sp.Symbol(plain))


def tsym(name: str, index, like) -> MatrixSymbol:
    """Time-indexed symbol ``name[index]`` with the shape of ``like``."""
    return MatrixSymbol(f"{name}[{index}]", *like.shape)


class Chain(sp.Basic):
    """A product of display factors (partials, scalars, norms), left to right."""

    def __new__(cls, *factors):
        return super().__new__(cls, *factors)


class Terms(sp.Basic):
    """A sum of display terms."""

    def __new__(cls, *terms):
        return super().__new__(cls, *terms)


class Transposed(sp.Basic):
    """(arg)ᵀ for display objects that are not matrix expressions (partials, products)."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

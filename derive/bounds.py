"""γ = max f′ of an activation, found by SymPy (not typed in)."""
from __future__ import annotations

import sympy as sp

from .functions import SCALAR


def derivative(name: str):
    """f′(x) of a named activation as a SymPy expression in ``x``."""
    x = sp.Symbol("x", real=True)
    return x, sp.diff(SCALAR[name](x), x)


def gamma(name: str):
    """Supremum over the reals of the activation's derivative.

    Smooth activations go through ``sympy.calculus.util.maximum``; a
    piecewise derivative (relu's step) is maximised branch by branch.
    """
    x, d = derivative(name)
    d = d.rewrite(sp.exp).rewrite(sp.Heaviside)
    if d.has(sp.Heaviside):
        d = d.rewrite(sp.Piecewise)
        return sp.Max(*[sp.calculus.util.maximum(e, x, c.as_set()) if c.as_set() != sp.S.EmptySet else e
                        for e, c in d.args])
    return sp.simplify(sp.calculus.util.maximum(d, x, sp.S.Reals))

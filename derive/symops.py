"""SymPy backends of the rule table: matrix expressions and plain scalars.

``MatOps`` builds SymPy matrix expressions (``MatMul``, ``HadamardProduct``,
``DiagMatrix`` ...) so the rule table yields readable Jacobians such as
``diag(1 - h ∘ h) W``; ``ScalarOps`` gives the 1-D case (n_x = n_h = 1).
"""
from __future__ import annotations

import sympy as sp
from sympy import (BlockMatrix, HadamardProduct, HadamardPower, Identity, MatrixExpr,
                   OneMatrix, ZeroMatrix)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from .functions import SCALAR


def _is_scalar(a) -> bool:
    return not isinstance(a, MatrixExpr)


def apply(name: str, arg):
    """Elementwise application of a named scalar function to a matrix expression."""
    d = sp.Dummy("d")
    return ElementwiseApplyFunction(sp.Lambda(d, SCALAR[name](d)), arg)


class MatOps:
    """Matrix-expression operations (column vectors, numerator layout)."""

    def __getattr__(self, name):
        if name in SCALAR:
            return lambda a: apply(name, a)
        raise AttributeError(name)

    @staticmethod
    def add(a, b):
        return a + b

    @staticmethod
    def sub(a, b):
        if _is_scalar(a):
            return a * OneMatrix(*b.shape) - b if a != 0 else -b
        if _is_scalar(b):
            return a - b * OneMatrix(*a.shape)
        return a - b

    @staticmethod
    def neg(a):
        return -a

    @staticmethod
    def mul(a, b):
        if _is_scalar(a) or _is_scalar(b):
            return a * b
        return HadamardProduct(a, b)

    @staticmethod
    def matmul(a, b):
        return a * b

    @staticmethod
    def T(a):
        return a.T

    @staticmethod
    def recip(x):
        return HadamardPower(x, -1)

    @staticmethod
    def scale(v, d):
        diag = v if _is_scalar(v) else DiagMatrix(v)
        return diag if isinstance(d, Identity) else diag * d

    @staticmethod
    def outer_scale(y, d):
        return y * y.T * d

    @staticmethod
    def colsum(v):
        n = v.shape[0]
        return OneMatrix(n, 1) * OneMatrix(1, n) * v

    @staticmethod
    def softmax(a):
        return apply("softmax", a)

    @staticmethod
    def xent(o, t):
        return -t.T * apply("log", apply("softmax", o))

    @staticmethod
    def concat(*parts):
        return BlockMatrix([[p] for p in parts])

    @staticmethod
    def rows(g, start, stop):
        return g[start:stop, :]

    @staticmethod
    def nrows(a):
        return a.shape[0]

    @staticmethod
    def stack_rows(parts):
        return BlockMatrix([[p] for p in parts])

    @staticmethod
    def zeros_like_rows(a, d):
        return ZeroMatrix(a.shape[0], d.shape[1])

    @staticmethod
    def const(value):
        return sp.nsimplify(value)


class ScalarOps:
    """The same interface on scalars: the 1-D case of every formula."""

    def __getattr__(self, name):
        if name in SCALAR:
            return SCALAR[name]
        raise AttributeError(name)

    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(lambda a, b: a - b)
    neg = staticmethod(lambda a: -a)
    mul = staticmethod(lambda a, b: a * b)
    matmul = staticmethod(lambda a, b: a * b)
    T = staticmethod(lambda a: a)
    recip = staticmethod(lambda x: 1 / x)
    scale = staticmethod(lambda v, d: v * d)
    outer_scale = staticmethod(lambda y, d: y * y * d)
    colsum = staticmethod(lambda v: v)
    softmax = staticmethod(lambda a: sp.S.One)
    const = staticmethod(lambda value: sp.nsimplify(value))

    @staticmethod
    def concat(*parts):
        raise NotImplementedError("concatenation has no 1-D form")


MAT, SCAL = MatOps(), ScalarOps()

"""Scalar SymPy functions the cells need beyond SymPy's own (tanh, exp, log)."""
from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):
    """Logistic function 1 / (1 + e^{-x})."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.Rational(1, 2)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))


class step(sp.Function):
    """Unit step 1[x > 0] (the derivative of relu; 0 at x = 0 as in PyTorch)."""

    def fdiff(self, argindex=1):
        return sp.S.Zero

    @classmethod
    def eval(cls, arg):
        if arg.is_positive:
            return sp.S.One
        if arg.is_nonpositive:
            return sp.S.Zero

    def _eval_rewrite_as_Heaviside(self, arg, **kwargs):
        return sp.Heaviside(arg, 0)


class relu(sp.Function):
    """Rectifier max(0, x)."""

    def fdiff(self, argindex=1):
        return step(self.args[0])

    @classmethod
    def eval(cls, arg):
        if arg.is_nonnegative:
            return arg
        if arg.is_nonpositive:
            return sp.S.Zero

    def _eval_rewrite_as_Max(self, arg, **kwargs):
        return sp.Max(0, arg)


class softplus(sp.Function):
    """log(1 + e^x), whose derivative is the sigmoid."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return sp.log(1 + sp.exp(arg))


class softmax(sp.Function):
    """Marker for the (vector) softmax in displayed formulas; never expanded."""


SCALAR = {"softmax": softmax, "tanh": sp.tanh, "sigmoid": sigmoid, "relu": relu, "exp": sp.exp,
          "log": sp.log, "softplus": softplus, "step": step}

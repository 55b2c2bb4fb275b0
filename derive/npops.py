"""NumPy backend of the rule table: arrays are (rows, batch) columns.

This module must not import SymPy or matplotlib (the NumPy engine's promise).
"""
from __future__ import annotations

import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softmax(a):
    e = np.exp(a - a.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _xent(o, t):
    m = o.max(axis=0, keepdims=True)
    logp = o - m - np.log(np.exp(o - m).sum(axis=0, keepdims=True))
    return -(t * logp).sum(axis=0, keepdims=True)


class NumpyOps:
    """Array operations used by the rule table and the interpreter."""

    tanh = staticmethod(np.tanh)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sigmoid = staticmethod(_sigmoid)
    softmax = staticmethod(_softmax)
    xent = staticmethod(_xent)

    @staticmethod
    def relu(x):
        return np.maximum(x, 0)

    @staticmethod
    def softplus(x):
        return np.logaddexp(0, x)

    @staticmethod
    def step(x):
        return np.heaviside(x, 0).astype(x.dtype, copy=False)

    add = staticmethod(np.add)
    sub = staticmethod(np.subtract)
    mul = staticmethod(np.multiply)
    neg = staticmethod(np.negative)
    matmul = staticmethod(np.matmul)

    @staticmethod
    def recip(x):
        return 1.0 / x

    @staticmethod
    def T(a):
        return np.swapaxes(a, -1, -2)

    @staticmethod
    def scale(v, d):
        return v * d

    @staticmethod
    def outer_scale(y, d):
        return y * (y * d).sum(axis=0, keepdims=True)

    @staticmethod
    def colsum(v):
        return v.sum(axis=0, keepdims=True)

    @staticmethod
    def concat(*parts):
        return np.concatenate(parts, axis=0)

    @staticmethod
    def rows(g, start, stop):
        return g[start:stop]

    @staticmethod
    def nrows(a):
        return a.shape[0]

    @staticmethod
    def stack_rows(parts):
        return np.concatenate(parts, axis=0)

    @staticmethod
    def zeros_like_rows(a, d):
        return np.zeros((a.shape[0],) + d.shape[1:], dtype=d.dtype)

    @staticmethod
    def const(value):
        return float(value)  # a Python float never upcasts float32 arrays


NP = NumpyOps()

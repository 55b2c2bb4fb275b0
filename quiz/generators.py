"""Computational question generators, registered by name for banks to use.

A generator is ``fn(rng, **options) -> {"params", "answer", "samples"}``:
it draws numbers with the ``numpy.random.Generator`` it is given (never the
global RNG), computes the answer with the derive engine or NumPy, and
returns plain JSON-able data.  It writes no markup: the bank's Jinja text
formats the numbers.  The wrong answers it lists are typical mistakes; any
that happen to fall within tolerance of the answer are dropped.
"""
from __future__ import annotations

import numpy as np

GENERATORS: dict = {}
GENERATOR_KINDS: dict = {}
INVALID = {"number": ["0.5.5", "abc(", "x"], "matrix": ["[[1, 2]", "[1, 2", "abc("]}


def generator(name: str, kind: str):
    """Register ``fn`` under ``name``; ``kind`` is the answer kind it produces."""
    def wrap(fn):
        GENERATORS[name] = fn
        GENERATOR_KINDS[name] = kind
        return fn
    return wrap


def nums(rng, shape, scale, lo=0.0, positive=False, digits=1):
    """Rounded uniform numbers in ±[lo, scale] (or [lo, scale] if ``positive``) as nested lists."""
    mag = rng.uniform(lo, scale, size=shape)
    sign = 1.0 if positive else np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
    vals = np.round(mag * sign, digits)
    vals = np.where(vals == 0, 10.0 ** -digits, vals)
    return vals.tolist()


def vec(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def _fmt(x):
    return f"{x:.6g}"


def _far(a, b, rtol, atol) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape != b.shape or bool(np.any(np.abs(a - b) > atol + rtol * np.abs(b)))


def number_answer(value, wrong, rtol=1e-3, atol=0.0):
    """Answer spec and samples for a number."""
    value = float(value)
    bad = [_fmt(w) for w in wrong if _far(w, value, rtol, atol)] or [_fmt(value + 1 + abs(value))]
    return {"answer": {"kind": "number", "value": value, "rtol": rtol, "atol": atol},
            "samples": {"correct": [_fmt(value)], "incorrect": bad, "invalid": INVALID["number"]}}


def matrix_answer(value, wrong, rtol=1e-3, atol=0.0):
    """Answer spec and samples for a vector (flat list) or matrix (nested list)."""
    from .mathinput import format_matrix
    value = np.asarray(value, dtype=float)
    bad = [format_matrix(np.asarray(w)) for w in wrong if _far(w, value, rtol, atol)]
    bad = bad or [format_matrix(value + 1)]
    return {"answer": {"kind": "matrix", "value": value.tolist(), "rtol": rtol, "atol": atol},
            "samples": {"correct": [format_matrix(value)], "incorrect": bad, "invalid": INVALID["matrix"]}}


from . import gen_cells, gen_numbers  # noqa: E402,F401  (registration)

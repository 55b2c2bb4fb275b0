"""Read maths the way students type it, safely, and decide exact equivalence.

:mod:`quiz.mathparse` turns the text into a tuple tree; this module builds
SymPy objects from that tree by hand (never from text), bounding every size
that could make evaluation expensive before anything is built, and decides
equivalence exactly.
"""
from __future__ import annotations

import math
import re

from .mathparse import (MAX_DEPTH, MAX_LENGTH, _fail, normalise, parse, show,  # noqa: F401  (public API)
                        tokenize)

MAX_EXPONENT = 1000
MAX_DIGITS = 10_000


# ------------------------------------------------------------------ SymPy

def _sympy_functions():
    import sympy as sp
    return {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
            "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "sech": sp.sech, "abs": sp.Abs,
            "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "relu": lambda a: sp.Max(0, a)}


def _digits(value) -> float:
    """Decimal digits of a SymPy number's magnitude (0 for non-numbers)."""
    import sympy as sp
    if isinstance(value, sp.Rational):
        return max(value.p.bit_length(), value.q.bit_length()) * 0.30103
    if isinstance(value, sp.Float):
        return abs(float(sp.log(abs(value), 10))) if value else 0.0
    return 0.0


def _defined(value):
    """Refuse nan and complex infinity (0/0, 1/0) as undefined."""
    import sympy as sp
    if value.has(sp.nan, sp.zoo):
        _fail("the answer is undefined here (it divides by zero); simplify it")
    return value


def _power(base, exp):
    import sympy as sp
    _defined(base), _defined(exp)
    if exp.is_Number:
        if abs(exp) > MAX_EXPONENT:
            _fail(f"an exponent larger than {MAX_EXPONENT} is not allowed in an answer")
        if base.is_Number and _digits(base) * float(abs(exp)) > MAX_DIGITS:
            _fail(f"this power has more than {MAX_DIGITS} digits; write the answer in a simpler form")
    elif exp.free_symbols == set() and _digits(base) > 0 and base.is_Number:
        val = abs(float(exp.evalf(20)))
        if not math.isfinite(val) or val > MAX_EXPONENT:
            _fail(f"an exponent larger than {MAX_EXPONENT} is not allowed in an answer")
    return sp.Pow(base, exp)


def build(node):
    """SymPy object for a tree (lists become nested Python lists of SymPy objects)."""
    import sympy as sp
    tag = node[0]
    if tag == "num":
        return sp.Rational(node[1]) if re.fullmatch(r"[\d.eE+-]+", node[1]) else _fail("bad number")
    if tag == "name":
        return {"e": sp.E, "pi": sp.pi}.get(node[1]) or _symbol(node[1])
    if tag == "list":
        return [build(n) for n in node[1]]
    if tag == "call":
        arg = _scalar(build(node[2][0]))
        try:
            return _defined(_sympy_functions()[node[1]](arg))
        except (ValueError, TypeError, ArithmeticError):
            _fail(f"{node[1]}(...) cannot be evaluated for this argument (is it off the function's domain?)")
    if tag == "neg":
        return -_scalar(build(node[1]))
    a, b = _scalar(build(node[1])), _scalar(build(node[2]))
    if tag == "^":
        return _power(a, b)
    return _defined({"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[tag]())


SIZE_NAMES = re.compile(r"(n|N|T|k|m|d)(_\w+)?$")


def _symbol(name):
    """Sizes and counts (n, n_h, n_x, T, k...) are positive integers; every other name is real."""
    import sympy as sp
    if SIZE_NAMES.match(name):
        return sp.Symbol(name, positive=True, integer=True)
    return sp.Symbol(name, real=True)


def _scalar(x):
    if isinstance(x, list):
        _fail("a list can only stand alone as a matrix or vector, not inside arithmetic")
    return x


def read_expression(raw: str):
    """``(sympy expression, read_as)`` for a typed expression; raises :class:`InvalidAnswer`."""
    node = parse(raw)
    if node[0] == "list":
        _fail("expected an expression, got a list; write the expression without [ ]")
    return build(node), show(node)


def _to_float(value, what="the answer") -> float:
    import sympy as sp
    if value.free_symbols:
        names = ", ".join(sorted(s.name for s in value.free_symbols))
        _fail(f"expected a number, got an expression in {names}")
    z = complex(sp.N(value, 30))
    if z.imag != 0 or not math.isfinite(z.real):
        _fail(f"{what} is not a finite real number")
    return float(z.real)


def read_number(raw: str):
    """``(float, read_as)``: any constant expression (``1/4``, ``2^-2``, ``e^-1``)."""
    value, read_as = read_expression(raw)
    return _to_float(value), read_as


def read_matrix(raw: str):
    """``(numpy array, read_as)`` for ``[[1,0],[0,1]]`` (2-D) or ``[1, 2]`` (1-D)."""
    import numpy as np
    node = parse(raw)
    if node[0] != "list":
        _fail("expected a matrix like [[1,0],[0,1]] or a vector like [1, 2]")
    rows = node[1]
    nested = [r[0] == "list" for r in rows]
    if any(nested) and not all(nested):
        _fail("mix of rows and numbers; write every row in [ ], e.g. [[1,0],[0,1]]")
    if all(nested) and rows:
        widths = {len(r[1]) for r in rows}
        if len(widths) != 1:
            _fail(f"rows have different lengths {sorted(widths)}; every row needs the same number of entries")
        vals = [[_to_float(_scalar(build(c)), "an entry") for c in r[1]] for r in rows]
    else:
        vals = [_to_float(_scalar(build(c)), "an entry") for c in rows]
    if not vals:
        _fail("the matrix is empty")
    return np.asarray(vals, dtype=float), show(node)


def format_matrix(value) -> str:
    """``[[1, 0.5], [0, 2]]`` with numbers to 6 significant figures."""
    from .present import fmt_num
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        value = value.tolist() if hasattr(value, "tolist") else value
        return "[" + ", ".join(format_matrix(v) for v in value) + "]"
    return fmt_num(float(value), 6)


# ------------------------------------------------------------------ equivalence

SAMPLE_POINTS = ("-1.3", "0.7", "2.1", "-0.4", "1.9")


def _sample(sym, text):
    import sympy as sp
    value = sp.Rational(text)
    return sp.Integer(abs(int(value * 3)) + 2) if sym.is_integer else value


def _differs_numerically(a, b) -> bool:
    """True when a sample point shows the two clearly differ (a proof of difference)."""
    import sympy as sp
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    for k in range(3):
        point = {s: _sample(s, SAMPLE_POINTS[(k + j) % len(SAMPLE_POINTS)]) for j, s in enumerate(syms)}
        try:
            va, vb = complex(sp.N(a.subs(point), 30)), complex(sp.N(b.subs(point), 30))
        except (ValueError, TypeError, ArithmeticError):  # e.g. relu of a complex value off its domain
            continue
        if not (all(map(math.isfinite, (va.real, va.imag, vb.real, vb.imag)))):
            continue
        if abs(va - vb) > 1e-12 * (1 + abs(va)):
            return True
    return False


def equivalent(expected, answer) -> bool:
    """Exact equivalence: sampling may only prove a difference; equality needs a symbolic proof."""
    import sympy as sp
    if {s.name for s in answer.free_symbols} - {s.name for s in expected.free_symbols}:
        return False
    if _differs_numerically(expected, answer):
        return False
    diff = expected - answer
    for step in (lambda d: d, lambda d: sp.expand(d, log=False), sp.expand, sp.cancel, lambda d: d.rewrite(sp.exp),
                 sp.simplify,
                 lambda d: sp.simplify(d.rewrite(sp.exp))):
        try:
            diff = step(diff)
        except (ValueError, TypeError, ArithmeticError):  # no proof: not equivalent
            return False
        if diff == 0:
            return True
    return False


# ------------------------------------------------------------------ bank helpers

def _substitute(node, env):
    tag = node[0]
    if tag == "name" and node[1] in env:
        val = env[node[1]]
        if isinstance(val, (list, tuple)):
            return ("list", [_substitute(("name", "_v"), {"_v": v}) for v in val])
        return ("num", repr(float(val)) if not float(val).is_integer() else str(int(val))) if val >= 0 \
            else ("neg", ("num", repr(float(-val)) if not float(val).is_integer() else str(int(-val))))
    if tag in ("num", "name"):
        return node
    if tag == "call":
        return ("call", node[1], [_substitute(a, env) for a in node[2]])
    if tag == "list":
        return ("list", [_substitute(a, env) for a in node[1]])
    return (tag,) + tuple(_substitute(a, env) for a in node[1:])


def instantiate(text: str, env: dict) -> str:
    """``text`` with the names in ``env`` replaced by their numbers, as answer-grammar text."""
    return show(_substitute(parse(text), env))


FLOAT_FUNCS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos,
               "tan": math.tan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
               "sech": lambda a: 1 / math.cosh(a), "abs": abs, "relu": lambda a: max(0.0, a),
               "sigmoid": lambda a: 1 / (1 + math.exp(-a))}


def _float(node, env):
    """Plain-float value of a tree (bank answers: no SymPy, so quiz start-up stays fast)."""
    tag = node[0]
    if tag == "num":
        return float(node[1])
    if tag == "name":
        if node[1] in env:
            return float(env[node[1]])
        return {"e": math.e, "pi": math.pi}[node[1]] if node[1] in ("e", "pi") else _fail(f"unknown name {node[1]!r}")
    if tag == "list":
        return [_float(n, env) for n in node[1]]
    if tag == "call":
        return FLOAT_FUNCS[node[1]](_float(node[2][0], env))
    if tag == "neg":
        return -_float(node[1], env)
    a, b = _float(node[1], env), _float(node[2], env)
    return {"+": a + b, "-": a - b, "*": a * b}.get(tag) if tag in "+-*" else a / b if tag == "/" else a ** b


def evaluate(text: str, env: dict):
    """A bank expression's value with ``env`` bound: a float, or nested lists for ``[...]``."""
    try:
        value = _float(parse(text), env)
    except (ValueError, ZeroDivisionError, OverflowError, KeyError, TypeError) as err:
        _fail(f"cannot evaluate {text!r}: {err}")
    return value

"""The engine's Jacobians equal SymPy's own ``.jacobian`` of an explicit element-level unroll.

The reference (tests/oracles/unrolled.py) shares no code with ``derive``: it writes
every cell with scalar symbols and differentiates with ``Matrix.jacobian``.  The
engine's matrix-expression Jacobians are made explicit by substituting 2x2
matrices for every symbol, then compared per step and as a T-step product.
"""
import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from derive.cells import get_cell
from derive.derivation import Frame, state_jacobians
from derive.functions import sigmoid, relu, step
from tests.oracles import unrolled as ref

CELLS = {"rnn-tanh": "rnn:tanh", "rnn-relu": "rnn:relu", "rnn-sigmoid": "rnn:sigmoid", "lstm": "lstm",
         "lstm-peephole": "lstm-peephole", "gru-cho": "gru:cho", "gru-pytorch": "gru:pytorch",
         "gru-swapped": "gru:swapped"}
SIZES = {"n_x": 2, "n_h": 2}


def explicit(expr, fr, u, t):
    """Replace every MatrixSymbol of the engine's expression by the oracle's explicit matrix."""
    rep = {}
    for name, sym in fr.env.items():
        val = _value(name, fr.cell, u, t)
        if val is not None:
            rep[sym] = sp.ImmutableMatrix(val)
    return to_explicit(expr, rep).applyfunc(_plain)


def to_explicit(e, rep):
    """Evaluate a matrix expression on explicit matrices (faster than SymPy's as_explicit)."""
    m = lambda a: to_explicit(a, rep)
    if e in rep:
        return rep[e]
    if isinstance(e, (sp.MatAdd,)):
        return sum((m(a) for a in e.args[1:]), m(e.args[0]))
    if isinstance(e, sp.MatMul):
        c, mats = e.as_coeff_matrices()
        out = m(mats[0])
        for a in mats[1:]:
            out = out * m(a)
        return c * out
    if isinstance(e, sp.HadamardProduct):
        out = m(e.args[0])
        for a in e.args[1:]:
            out = out.multiply_elementwise(m(a))
        return out
    if isinstance(e, sp.HadamardPower):
        return m(e.base).applyfunc(lambda v: v ** e.exp)
    if isinstance(e, sp.Transpose):
        return m(e.arg).T
    if isinstance(e, DiagMatrix):
        return sp.diag(*m(e.args[0]))
    if isinstance(e, ElementwiseApplyFunction):
        return m(e.expr).applyfunc(e.function)
    if isinstance(e, sp.Identity):
        return sp.eye(2)
    if isinstance(e, sp.OneMatrix):
        return sp.ones(2 if e.shape[0] != 1 else 1, 2 if e.shape[1] != 1 else 1)
    if isinstance(e, sp.ZeroMatrix):
        return sp.zeros(2 if e.shape[0] != 1 else 1, 2 if e.shape[1] != 1 else 1)
    raise TypeError(f"no explicit form for {type(e).__name__}")


def _value(name, cell, u, t):
    if name in cell.params:
        return u.params[name]
    if name == cell.input:
        return u.xs[t - 1]
    if name in cell.prev_names:
        return u.states[t - 1][name[:-5]]
    if name in cell.states:
        return u.states[t][name]
    inter = u.intermediates[t - 1]
    return inter.get(name)


def _plain(e):
    """Engine functions in the oracle's spelling (sigmoid = 1/(1+e^-a), relu = Max(0, a))."""
    return e.replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a))).replace(relu, lambda a: sp.Max(0, a)) \
            .replace(step, lambda a: sp.Heaviside(a, 0))


def engine_step_jacobian(cell, u, t, out, wrt):
    fr = Frame(cell, str(t), str(t - 1))
    J = state_jacobians(cell, fr)[(out, wrt)]
    return sp.zeros(2, 2) if J is None else explicit(J, fr, u, t)


def same(a, b, u, points=3):
    """Equal at several random points to 25 significant digits."""
    rng = np.random.default_rng(7)
    for _ in range(points):
        p = ref.numeric_point(u, rng)
        x, y = ref.evaluate(a, p), ref.evaluate(b, p)
        np.testing.assert_allclose(x, y, rtol=1e-20, atol=1e-22)


@pytest.mark.parametrize("key", sorted(CELLS))
@pytest.mark.parametrize("T", [2, 3])
def test_step_jacobians_match_sympy_jacobian(key, T):
    cell, u = get_cell(CELLS[key]), ref.build(key, T)
    for t in range(1, T + 1):
        for out in cell.states:
            for wrt in cell.states:
                mine = engine_step_jacobian(cell, u, t, out, wrt)
                theirs = ref.substitute_previous(u, t, ref.step_jacobian(u, t, out, wrt))
                same(mine, theirs, u, points=2)


@pytest.mark.parametrize("key", sorted(CELLS))
@pytest.mark.parametrize("T", [2, 3])
def test_jacobian_product_matches_unrolled_jacobian(key, T):
    cell, u = get_cell(CELLS[key]), ref.build(key, T)
    states = list(cell.states)
    blocks = []
    for t in range(1, T + 1):
        rows = [sp.Matrix.hstack(*[engine_step_jacobian(cell, u, t, o, w) for w in states]) for o in states]
        blocks.append(sp.Matrix.vstack(*rows))
    prod = blocks[0]
    for J in blocks[1:]:
        prod = J * prod
    full = sp.Matrix.vstack(*[sp.Matrix.hstack(*[ref.total_jacobian(u, o, w) for w in states]) for o in states])
    same(prod, full, u, points=2)


def test_rnn_step_jacobian_is_exactly_equal():
    """For the tanh RNN the two symbolic results agree exactly, not only numerically."""
    cell, u = get_cell("rnn"), ref.build("rnn-tanh", 2)
    mine = engine_step_jacobian(cell, u, 2, "h", "h")
    theirs = ref.substitute_previous(u, 2, ref.step_jacobian(u, 2))
    assert (mine - theirs).applyfunc(lambda e: sp.expand(e.rewrite(sp.exp))) == sp.zeros(2, 2)

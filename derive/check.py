"""``--check``: every derived Jacobian and gradient against float64 central differences.

The random point, the engine gradients and the central differences are those of
``bptt check`` (:mod:`derive.gradcheck`); this module adds the state Jacobians
of the derivation itself, evaluated from their SymPy formulas.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from .derivation import Frame, state_jacobians
from .gradcheck import EPS, central_full, compare, engine_grads, random_point
from .npstep import NumpyStep
from .symstep import NumpyMatrixPrinter, safe_names, size_symbols


def rel_err(a, b) -> float:
    """‖a − b‖ / max(‖a‖, ‖b‖) (0 when both vanish)."""
    return compare(a, b)["rel_err"]


def _fd_jacobian(step, x, prevs, params, out_i, in_i):
    n = prevs[in_i].shape[0]
    cols = []
    for j in range(n):
        plus, minus = [p.copy() for p in prevs], [p.copy() for p in prevs]
        plus[in_i][j] += EPS
        minus[in_i][j] -= EPS
        cols.append((step.forward(x, plus, params)[0][out_i] - step.forward(x, minus, params)[0][out_i]) / (2 * EPS))
    return np.hstack(cols)


def jacobian_rows(cell, point):
    """Relative error of each derived state Jacobian ∂s_t/∂s'_{t-1} at the point's first step."""
    fr = Frame(cell)
    x, prevs = point.X[0].T, [point.init[s].T for s in cell.states]  # (n, 1) columns, B = 1
    step = NumpyStep(cell)
    _, env = step.forward(x, prevs, point.params)
    sizes = {"n_x": x.shape[0], "n_h": prevs[0].shape[0]}
    subs = {size_symbols()[k]: sp.Integer(v) for k, v in sizes.items()}
    rows = []
    for (s, q), J in state_jacobians(cell, fr).items():
        fd = _fd_jacobian(step, x, prevs, point.params, cell.states.index(s), cell.states.index(q))
        got = np.zeros_like(fd) if J is None else _evaluate(J, fr, env, subs)
        rows.append({"quantity": f"d{s}_t/d{q}_(t-1)", "kind": "jacobian", "rel_err": rel_err(got, fd)})
    return rows


def _evaluate(expr, fr, env, subs):
    syms = sorted(expr.free_symbols - set(subs), key=lambda m: m.name)
    by_name = {v.name: k for k, v in fr.env.items()}
    safe = safe_names(syms)
    expr = expr.xreplace(safe).xreplace(subs)
    args = [safe[m].xreplace(subs) for m in syms]
    f = sp.lambdify(args, expr, modules="numpy", printer=NumpyMatrixPrinter)
    return np.asarray(f(*(env[by_name[m.name]] for m in syms)), dtype=float)


def gradient_rows(cell, point):
    """Relative error of each parameter gradient (symbolic engine) against central differences."""
    got, fd = engine_grads(cell, point, "symbolic"), central_full(cell, point)
    return [{"quantity": f"dL/d{k}", "kind": "gradient", "rel_err": rel_err(got[k], fd[k])} for k in cell.params]


def check_table(cell, rng, n_x=3, n_h=4, T=3) -> list:
    """Rows ``{quantity, kind, rel_err}`` for every derived Jacobian and gradient (B = 1)."""
    point = random_point(cell, rng, T, 1, n_x, n_h)
    return jacobian_rows(cell, point) + gradient_rows(cell, point)

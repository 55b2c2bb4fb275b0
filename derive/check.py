"""``--check``: every derived Jacobian and gradient against float64 central differences."""
from __future__ import annotations

import numpy as np
import sympy as sp

from .derivation import Frame, state_jacobians
from .npstep import NumpyStep
from .sequence import run_backward, run_forward
from .shapes import concrete
from .symstep import NumpyMatrixPrinter, SymbolicStep, size_symbols

EPS = 1e-6


def rel_err(a, b) -> float:
    """‖a − b‖ / max(‖a‖, ‖b‖) (0 when both vanish)."""
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def random_point(cell, rng, sizes, scale=0.5):
    """Random parameters, input and previous states (B = 1)."""
    params = {k: rng.normal(0, scale, concrete(cell.shapes[k], sizes)) for k in cell.params}
    x = rng.normal(0, 1, (sizes["n_x"], 1))
    prevs = [rng.normal(0, scale, (sizes["n_h"], 1)) for _ in cell.states]
    return params, x, prevs


def _fd_jacobian(step, x, prevs, params, out_i, in_i):
    n = prevs[in_i].shape[0]
    cols = []
    for j in range(n):
        plus, minus = [p.copy() for p in prevs], [p.copy() for p in prevs]
        plus[in_i][j] += EPS
        minus[in_i][j] -= EPS
        cols.append((step.forward(x, plus, params)[0][out_i] - step.forward(x, minus, params)[0][out_i]) / (2 * EPS))
    return np.hstack(cols)


def jacobian_rows(cell, rng, sizes):
    """Relative error of each derived state Jacobian ∂s_t/∂s'_{t-1}."""
    fr = Frame(cell)
    params, x, prevs = random_point(cell, rng, sizes)
    step = NumpyStep(cell)
    _, env = step.forward(x, prevs, params)
    subs = {size_symbols()[k]: sp.Integer(v) for k, v in sizes.items() if k in size_symbols()}
    rows = []
    for (s, q), J in state_jacobians(cell, fr).items():
        fd = _fd_jacobian(step, x, prevs, params, cell.states.index(s), cell.states.index(q))
        got = np.zeros_like(fd) if J is None else _evaluate(J, fr, env, subs)
        rows.append({"quantity": f"d{s}_t/d{q}_(t-1)", "kind": "jacobian", "rel_err": rel_err(got, fd)})
    return rows


def _evaluate(expr, fr, env, subs):
    syms = sorted(expr.free_symbols - set(subs), key=lambda m: m.name)
    by_name = {v.name: k for k, v in fr.env.items()}
    safe = {m: sp.MatrixSymbol(f"m{i}", *m.shape) for i, m in enumerate(syms)}
    expr = expr.xreplace(safe).xreplace(subs)
    args = [safe[m].xreplace(subs) for m in syms]
    f = sp.lambdify(args, expr, modules="numpy", printer=NumpyMatrixPrinter)
    return np.asarray(f(*(env[by_name[m.name]] for m in syms)), dtype=float)


def gradient_rows(cell, rng, sizes, T=3):
    """Relative error of each parameter gradient (symbolic engine, T steps) against central differences."""
    params, _, _ = random_point(cell, rng, sizes)
    xs = rng.normal(0, 1, (T, sizes["n_x"], 1))
    init = [rng.normal(0, 0.5, (sizes["n_h"], 1)) for _ in cell.states]
    dout = rng.normal(0, 1, (T, sizes["n_h"], 1))
    oi = cell.states.index(cell.output)
    sym = SymbolicStep(cell)
    _, caches = run_forward(sym, xs, init, params)
    bars = [[dout[t] if i == oi else None for i in range(len(cell.states))] for t in range(T)]
    _, _, grads = run_backward(sym, caches, bars, params, {k: v.shape for k, v in params.items()})
    loss = lambda p: sum(float((dout[t] * o[oi]).sum()) for t, o in enumerate(run_forward(NumpyStep(cell), xs, init, p)[0]))
    return [{"quantity": f"dL/d{k}", "kind": "gradient", "rel_err": rel_err(grads[k], _fd_grad(loss, params, k))}
            for k in cell.params]


def _fd_grad(loss, params, k):
    g = np.zeros_like(params[k])
    for idx in np.ndindex(g.shape):
        p = {n: v.copy() for n, v in params.items()}
        p[k][idx] += EPS
        up = loss(p)
        p[k][idx] -= 2 * EPS
        g[idx] = (up - loss(p)) / (2 * EPS)
    return g


def check_table(cell, rng, n_x=3, n_h=4, T=3) -> list:
    """Rows ``{quantity, kind, rel_err}`` for every derived Jacobian and gradient."""
    sizes = {"n_x": n_x, "n_h": n_h, "n_y": 2}
    return jacobian_rows(cell, rng, sizes) + gradient_rows(cell, rng, sizes, T)

"""Generators that run the derive engine's cells: one step, Jacobians, 1-D BPTT.

Every answer is computed by walking the cell's own equations
(:func:`derive.autodiff.evaluate` / :func:`~derive.autodiff.jvp` with NumPy
ops), the same equations the derivations print.  Parameters are drawn with
one or two decimals and answers are computed from the rounded values.
"""
from __future__ import annotations

import numpy as np

from .generators import generator, matrix_answer, number_answer, nums


def _cell(name, variant=None):
    from derive.cells import get_cell
    return get_cell(name, variant)


def _ops():
    from derive.npops import NumpyOps
    return NumpyOps


def run_step(cell, env, tangents=None):
    """Values (and tangents, if given) of every equation of one step, in order."""
    from derive.autodiff import evaluate, jvp
    env, tangents = dict(env), dict(tangents or {})
    for eq in cell.eqns:
        if tangents:
            env[eq.name], tangents[eq.name] = jvp(eq.expr, env, tangents, _ops())
        else:
            env[eq.name] = evaluate(eq.expr, env, _ops())
    return env, tangents


def col(a):
    return np.asarray(a, dtype=float).reshape(-1, 1)


def _flat(a):
    return [float(v) for v in np.asarray(a).ravel()]


@generator("rnn_step", "matrix")
def rnn_step(rng, n=2):
    """h_t = tanh(U x_t + W h_{t-1} + b) for a 2-unit RNN."""
    W, U = nums(rng, (n, n), 0.9), nums(rng, (n, 1), 0.9)
    b, h_prev, x = nums(rng, n, 0.3), nums(rng, n, 0.8), nums(rng, 1, 1.0, lo=0.5)
    env = {"W": np.array(W), "U": np.array(U), "b": col(b), "h_prev": col(h_prev), "x": col(x)}
    h = _flat(run_step(_cell("rnn"), env)[0]["h"])
    pre = np.array(U) @ col(x) + np.array(W) @ col(h_prev) + col(b)
    wrong = [_flat(pre), _flat(np.tanh(np.array(W).T @ col(h_prev) + np.array(U) @ col(x) + col(b)))]
    return {"params": {"W": W, "U": U, "b": b, "h_prev": h_prev, "x": x},
            **matrix_answer(h, wrong, rtol=2e-3, atol=2e-3)}


@generator("rnn_jacobian", "matrix")
def rnn_jacobian(rng, n=2):
    """∂h_t/∂h_{t-1} = diag(1 - h_t²) W, column by column from jvp."""
    W, U = nums(rng, (n, n), 0.9), nums(rng, (n, 1), 0.9)
    b, h_prev, x = nums(rng, n, 0.3), nums(rng, n, 0.8), nums(rng, 1, 1.0, lo=0.5)
    env = {"W": np.array(W), "U": np.array(U), "b": col(b), "h_prev": col(h_prev), "x": col(x)}
    cols = [run_step(_cell("rnn"), env, {"h_prev": col(np.eye(n)[j])})[1]["h"] for j in range(n)]
    J = np.hstack(cols)
    h = run_step(_cell("rnn"), env)[0]["h"]
    wrong = [np.array(W).tolist(), (np.array(W) * (1 - h ** 2)).T.tolist(), (np.diag(1 - h.ravel()) @ np.array(W)).tolist()]
    return {"params": {"W": W, "U": U, "b": b, "h_prev": h_prev, "x": x, "h": _flat(np.round(h, 4))},
            **matrix_answer(J.tolist(), wrong, rtol=2e-3, atol=2e-3)}


@generator("lstm_update", "matrix")
def lstm_update(rng, part="c"):
    """c_t = f⊙c_{t-1} + i⊙g and h_t = o⊙tanh(c_t) from given gate values (the LSTM's own equations)."""
    gates = {k: nums(rng, 2, 1.0, lo=0.05, positive=True) for k in ("i", "f", "o")}
    g, c_prev = nums(rng, 2, 0.9), nums(rng, 2, 1.5)
    env = {**{k: col(v) for k, v in gates.items()}, "g": col(g), "c_prev": col(c_prev)}
    cell = _cell("lstm")
    exprs = {e.name: e.expr for e in cell.eqns}
    from derive.autodiff import evaluate
    c = evaluate(exprs["c"], env, _ops())
    h = evaluate(exprs["h"], {**env, "c": c}, _ops())
    wrong_c = [_flat(col(gates["f"]) * np.tanh(col(c_prev)) + col(gates["i"]) * col(g)),
               _flat(col(gates["i"]) * col(c_prev) + col(gates["f"]) * col(g))]
    if part == "h":
        ans, wrong = _flat(h), [_flat(col(gates["o"]) * c), _flat(np.tanh(col(gates["o"]) * c))]
    else:
        ans, wrong = _flat(c), wrong_c
    return {"params": {**gates, "g": g, "c_prev": c_prev, "c": _flat(np.round(c, 4))},
            **matrix_answer(ans, wrong, rtol=2e-3, atol=2e-3)}


@generator("gru_update", "matrix")
def gru_update(rng, convention="pytorch"):
    """h_t from z, the candidate and h_{t-1}, in the stated convention; the other convention is a wrong sample."""
    z, cand, h_prev = nums(rng, 2, 1.0, lo=0.1, positive=True), nums(rng, 2, 0.9), nums(rng, 2, 0.9)
    cell = _cell("gru", convention)
    name = "n" if convention == "pytorch" else "h_tilde"
    expr = {e.name: e.expr for e in cell.eqns}["h"]
    from derive.autodiff import evaluate
    env = {"z": col(z), name: col(cand), "h_prev": col(h_prev)}
    h = _flat(evaluate(expr, env, _ops()))
    swapped = _flat((1 - col(z)) * col(h_prev) + col(z) * col(cand)) if convention == "pytorch" else \
        _flat((1 - col(z)) * col(cand) + col(z) * col(h_prev))
    return {"params": {"z": z, "cand": cand, "h_prev": h_prev}, **matrix_answer(h, [swapped], rtol=2e-3, atol=2e-3)}


def _scalar_rnn(rng, k):
    w, u = nums(rng, 1, 1.5, lo=0.5)[0], nums(rng, 1, 1.0, lo=0.3)[0]
    xs, h0 = nums(rng, k, 1.0), nums(rng, 1, 0.5)[0]
    return w, u, xs, h0


def scalar_forward(w, u, xs, h0, tangent="h_prev"):
    """1-D RNN through the derive rnn cell; returns the states and d h_k / d(tangent)."""
    cell, h, dh = _cell("rnn"), col([h0]), None
    hs = []
    for x in xs:
        env = {"W": np.array([[w]]), "U": np.array([[u]]), "b": col([0.0]), "h_prev": h, "x": col([x])}
        seed = {"h_prev": col([1.0]) if dh is None and tangent == "h_prev" else dh}
        if tangent == "W":
            seed["W"] = np.array([[1.0]])
        seed = {k: v for k, v in seed.items() if v is not None}
        out, tan = run_step(cell, env, seed)
        h, dh = out["h"], tan.get("h")
        hs.append(float(h[0, 0]))
    return hs, float(dh[0, 0])


@generator("scalar_product", "number")
def scalar_product(rng, k=3):
    """dh_k/dh_0 = Π_j w·(1 - h_j²) for h_t = tanh(w h_{t-1} + u x_t)."""
    w, u, xs, h0 = _scalar_rnn(rng, k)
    hs, d = scalar_forward(w, u, xs, h0)
    wrong = [w ** k, float(np.prod([1 - h ** 2 for h in hs]))]
    return {"params": {"w": w, "u": u, "xs": xs, "h0": h0, "k": k, "hs": [round(h, 4) for h in hs]},
            **number_answer(d, wrong, rtol=5e-3, atol=1e-4)}


@generator("scalar_bptt_w", "number")
def scalar_bptt_w(rng, k=3):
    """dL/dw for L = h_k: the BPTT sum over steps of products of Jacobians (forward mode in w)."""
    w, u, xs, h0 = _scalar_rnn(rng, k)
    hs, d = scalar_forward(w, u, xs, h0, tangent="W")
    last_only = (1 - hs[-1] ** 2) * (hs[-2] if k > 1 else h0)
    return {"params": {"w": w, "u": u, "xs": xs, "h0": h0, "k": k, "hs": [round(h, 4) for h in hs]},
            **number_answer(d, [last_only], rtol=5e-3, atol=1e-4)}


@generator("gru_scalar_jacobian", "number")
def gru_scalar_jacobian(rng):
    """dh_t/dh_{t-1} of a 1-unit PyTorch-convention GRU, all paths through r, z and n."""
    names = ("W_r", "U_r", "b_r", "W_z", "U_z", "b_z", "W_n", "U_n", "b_in", "b_hn")
    p = dict(zip(names, nums(rng, len(names), 1.0)))
    x, h_prev = nums(rng, 1, 1.0)[0], nums(rng, 1, 0.8)[0]
    env = {k: (np.array([[v]]) if k[0] in "WU" else col([v])) for k, v in p.items()}
    env.update(x=col([x]), h_prev=col([h_prev]))
    out, tan = run_step(_cell("gru"), env, {"h_prev": col([1.0])})
    z = float(out["z"][0, 0])
    return {"params": {**p, "x": x, "h_prev": h_prev}, **number_answer(float(tan["h"][0, 0]), [z], rtol=5e-3, atol=1e-4)}

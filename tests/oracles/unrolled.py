"""Element-level, fully unrolled SymPy reference ("oracle") for RNN/LSTM/GRU cells.

Role: an INDEPENDENT reference that tests compare the project (``derive``/``quiz``)
against.  It deliberately shares no code with the project: every matrix here is an
explicit ``sympy.Matrix`` whose entries are plain scalar ``Symbol``s (``U_0_1``,
``b_1``, ``x1_0`` = x at t=1 entry 0, ``h0_1`` = initial h entry 1, ``c0_0``), the
nonlinearities are written out by hand (sigmoid = ``1/(1+exp(-a))``,
relu = ``Max(0, a)``), the recurrence is unrolled T steps, and Jacobians come from
SymPy's own ``Matrix.jacobian`` on the explicit scalar expressions.  It is slow
and dumb on purpose: it is meant to be obviously right, not clever.

All symbols are ``Symbol(name, real=True)`` (use ``symbol(name)`` to get one): the
real assumption keeps SymPy's differentiation fast (see ``_REAL``).  Compare with
other code numerically, e.g. via ``numeric_point`` + ``evaluate``; ``by_name`` turns
a point into a ``{name: float}`` dict.

Conventions (numerator layout, column vectors, * below = elementwise):

* ``rnn-<act>``:   h = act(U x + W h_prev + b)
* ``lstm``:        i,f,o = sigmoid(W_. x + U_. h_prev + b_.), g = tanh(...),
                   c = f*c_prev + i*g, h = o*tanh(c)
* ``lstm-peephole``: i,f get ``+ p_.*c_prev``, o gets ``+ p_o*c`` (the new c)
* ``gru-cho``:     r,z = sigmoid(...), h_tilde = tanh(W_h x + U_h (r*h_prev) + b_h),
                   h = z*h_prev + (1-z)*h_tilde
* ``gru-pytorch``: n = tanh(W_n x + b_in + r*(U_n h_prev + b_hn)), h = (1-z)*n + z*h_prev
* ``gru-swapped``: as cho but h = (1-z)*h_prev + z*h_tilde

Output layer (only needed for loss derivations, see ``output_layer``):
o_t = V h_t + c, y_t = softmax(o_t), L_t = -sum_k ybar_{t,k} log y_{t,k}.

Public API: ``build``, ``step_jacobian``, ``total_jacobian``, ``numeric_point``,
plus the small helpers ``previous_state_symbols``, ``substitute_previous``,
``evaluate`` and ``output_layer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp

Matrix = sp.Matrix

CELL_KEYS = (
    "rnn-tanh",
    "rnn-relu",
    "rnn-sigmoid",
    "lstm",
    "lstm-peephole",
    "gru-cho",
    "gru-pytorch",
    "gru-swapped",
)


# --------------------------------------------------------------------------- scalars
def _sigmoid(a):
    return 1 / (1 + sp.exp(-a))


def _relu(a):
    return sp.Max(0, a)


_ACTS = {"tanh": sp.tanh, "relu": _relu, "sigmoid": _sigmoid}


# --------------------------------------------------------------------------- matrices
# All symbols are created ``real=True``: SymPy then answers its automatic
# ``is_zero``/``is_real`` queries during differentiation cheaply.  With assumption-free
# symbols the LSTM T=2 Jacobian is ~20x slower and T=3 takes many minutes.
_REAL = True


def _mat(name: str, rows: int, cols: int) -> Matrix:
    """rows x cols matrix of symbols ``name_i_j``."""
    return Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=_REAL))


def _vec(name: str, n: int) -> Matrix:
    """n x 1 column of symbols ``name_k``."""
    return Matrix(n, 1, lambda k, _: sp.Symbol(f"{name}_{k}", real=_REAL))


def symbol(name: str) -> sp.Symbol:
    """The oracle's scalar symbol called ``name`` (e.g. ``symbol("U_0_1")``)."""
    return sp.Symbol(name, real=_REAL)


def _ew(a: Matrix, b: Matrix) -> Matrix:
    return a.multiply_elementwise(b)


def _apply(f, m: Matrix) -> Matrix:
    return m.applyfunc(f)


def _ones(n: int) -> Matrix:
    return sp.ones(n, 1)


# --------------------------------------------------------------------------- cells
# A cell spec is (state names, parameter constructor, step function).
# step(P, x, prev) -> (new_states, intermediates)


def _rnn_params(n_x, n_h):
    return {"U": _mat("U", n_h, n_x), "W": _mat("W", n_h, n_h), "b": _vec("b", n_h)}


def _rnn_step(act):
    f = _ACTS[act]

    def step(P, x, prev):
        a = P["U"] * x + P["W"] * prev["h"] + P["b"]
        return {"h": _apply(f, a)}, {"a": a}

    return step


def _lstm_params(n_x, n_h, peephole=False):
    P = {}
    for gname in "ifgo":
        P[f"W_{gname}"] = _mat(f"W_{gname}", n_h, n_x)
        P[f"U_{gname}"] = _mat(f"U_{gname}", n_h, n_h)
        P[f"b_{gname}"] = _vec(f"b_{gname}", n_h)
    if peephole:
        for gname in "ifo":
            P[f"p_{gname}"] = _vec(f"p_{gname}", n_h)
    return P


def _lstm_step(peephole):
    def step(P, x, prev):
        h_prev, c_prev = prev["h"], prev["c"]

        def pre(gname):
            return P[f"W_{gname}"] * x + P[f"U_{gname}"] * h_prev + P[f"b_{gname}"]

        a_i, a_f, a_g, a_o = pre("i"), pre("f"), pre("g"), pre("o")
        if peephole:
            a_i = a_i + _ew(P["p_i"], c_prev)
            a_f = a_f + _ew(P["p_f"], c_prev)
        i = _apply(_sigmoid, a_i)
        f = _apply(_sigmoid, a_f)
        g = _apply(sp.tanh, a_g)
        c = _ew(f, c_prev) + _ew(i, g)
        if peephole:
            a_o = a_o + _ew(P["p_o"], c)
        o = _apply(_sigmoid, a_o)
        h = _ew(o, _apply(sp.tanh, c))
        return {"h": h, "c": c}, {"i": i, "f": f, "g": g, "o": o}

    return step


def _gru_params(n_x, n_h, convention):
    P = {}
    for gname in "rz":
        P[f"W_{gname}"] = _mat(f"W_{gname}", n_h, n_x)
        P[f"U_{gname}"] = _mat(f"U_{gname}", n_h, n_h)
        P[f"b_{gname}"] = _vec(f"b_{gname}", n_h)
    if convention == "pytorch":
        P["W_n"] = _mat("W_n", n_h, n_x)
        P["U_n"] = _mat("U_n", n_h, n_h)
        P["b_in"] = _vec("b_in", n_h)
        P["b_hn"] = _vec("b_hn", n_h)
    else:
        P["W_h"] = _mat("W_h", n_h, n_x)
        P["U_h"] = _mat("U_h", n_h, n_h)
        P["b_h"] = _vec("b_h", n_h)
    return P


def _gru_step(convention):
    def step(P, x, prev):
        h_prev = prev["h"]
        one = _ones(h_prev.rows)
        r = _apply(_sigmoid, P["W_r"] * x + P["U_r"] * h_prev + P["b_r"])
        z = _apply(_sigmoid, P["W_z"] * x + P["U_z"] * h_prev + P["b_z"])
        if convention == "pytorch":
            n = _apply(
                sp.tanh,
                P["W_n"] * x + P["b_in"] + _ew(r, P["U_n"] * h_prev + P["b_hn"]),
            )
            h = _ew(one - z, n) + _ew(z, h_prev)
            return {"h": h}, {"r": r, "z": z, "n": n}
        h_tilde = _apply(sp.tanh, P["W_h"] * x + P["U_h"] * _ew(r, h_prev) + P["b_h"])
        if convention == "cho":
            h = _ew(z, h_prev) + _ew(one - z, h_tilde)
        elif convention == "swapped":
            h = _ew(one - z, h_prev) + _ew(z, h_tilde)
        else:  # pragma: no cover
            raise ValueError(convention)
        return {"h": h}, {"r": r, "z": z, "h_tilde": h_tilde}

    return step


def _spec(cell_key: str):
    """-> (state_names, params_fn(n_x, n_h), step_fn)."""
    if cell_key.startswith("rnn-"):
        act = cell_key[4:]
        if act not in _ACTS:
            raise ValueError(f"unknown rnn activation {act!r}")
        return ("h",), _rnn_params, _rnn_step(act)
    if cell_key == "lstm":
        return ("h", "c"), _lstm_params, _lstm_step(False)
    if cell_key == "lstm-peephole":
        return ("h", "c"), lambda nx, nh: _lstm_params(nx, nh, True), _lstm_step(True)
    if cell_key.startswith("gru-"):
        conv = cell_key[4:]
        if conv not in ("cho", "pytorch", "swapped"):
            raise ValueError(f"unknown gru convention {conv!r}")
        return ("h",), lambda nx, nh: _gru_params(nx, nh, conv), _gru_step(conv)
    raise ValueError(f"unknown cell key {cell_key!r}; expected one of {CELL_KEYS}")


# --------------------------------------------------------------------------- unrolling
@dataclass
class Unrolled:
    cell_key: str
    T: int
    n_x: int
    n_h: int
    params: dict[str, Matrix]
    xs: list[Matrix]  # x_1 .. x_T
    init: dict[str, Matrix]  # t = 0 states
    states: list[dict[str, Matrix]]  # states[0] == init, states[t] for t = 1..T
    intermediates: list[dict[str, Matrix]]  # intermediates[t-1] belongs to step t
    state_names: tuple[str, ...] = ()
    step: Callable = field(default=None, repr=False)  # step(params, x, prev) -> (states, inter)

    def leaf_symbols(self) -> list[sp.Symbol]:
        """Every scalar symbol the unrolled expressions may depend on."""
        mats = list(self.params.values()) + list(self.xs) + list(self.init.values())
        return [s for m in mats for s in m]


def build(cell_key: str, T: int, n_x: int = 2, n_h: int = 2) -> Unrolled:
    """Unroll ``cell_key`` for T steps with explicit element-level symbols."""
    state_names, params_fn, step = _spec(cell_key)
    params = params_fn(n_x, n_h)
    xs = [_vec(f"x{t}", n_x) for t in range(1, T + 1)]
    init = {s: _vec(f"{s}0", n_h) for s in state_names}
    states = [dict(init)]
    inters = []
    for t in range(1, T + 1):
        new, inter = step(params, xs[t - 1], states[t - 1])
        states.append(new)
        inters.append(inter)
    return Unrolled(cell_key, T, n_x, n_h, params, xs, init, states, inters, state_names, step)


def previous_state_symbols(u: Unrolled, t: int) -> dict[str, Matrix]:
    """Fresh symbols standing for states[t-1] in ``step_jacobian(u, t)``: ``hprev{t}_k``."""
    return {s: _vec(f"{s}prev{t}", u.n_h) for s in u.state_names}


def step_jacobian(u: Unrolled, t: int, out_state: str = "h", wrt_state: str = "h") -> Matrix:
    """Local d s_t[out] / d s_{t-1}[wrt], as a function of fresh previous-state symbols.

    The step is recomputed with states[t-1] replaced by ``previous_state_symbols(u, t)``
    and differentiated with ``Matrix.jacobian``.  Use ``substitute_previous`` to put
    the actual trajectory states[t-1] back in.
    """
    if not 1 <= t <= u.T:
        raise ValueError(f"t must be in 1..{u.T}")
    prev = previous_state_symbols(u, t)
    new, _ = u.step(u.params, u.xs[t - 1], prev)
    return new[out_state].jacobian(list(prev[wrt_state]))


def substitute_previous(u: Unrolled, t: int, expr):
    """Replace the fresh previous-state symbols of step t by the expressions states[t-1]."""
    prev = previous_state_symbols(u, t)
    rep = {}
    for s, m in prev.items():
        for sym, val in zip(m, u.states[t - 1][s]):
            rep[sym] = val
    return expr.xreplace(rep)


def total_jacobian(u: Unrolled, out_state: str = "h", wrt_state: str = "h") -> Matrix:
    """d states[T][out] / d states[0][wrt] on the fully unrolled expression."""
    return u.states[u.T][out_state].jacobian(list(u.init[wrt_state]))


def numeric_point(u: Unrolled, rng=None, *extra, scale: float = 0.5) -> dict[sp.Symbol, float]:
    """Random N(0, scale^2) value for every leaf symbol of ``u`` (and of ``extra`` exprs).

    Fresh previous-state symbols of ``step_jacobian`` are NOT included: substitute
    them with ``substitute_previous`` (or evaluate states[t-1] yourself).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    syms = list(u.leaf_symbols())
    for e in extra:
        for s in sorted(e.free_symbols, key=str):
            if s not in syms:
                syms.append(s)
    seen, point = set(), {}
    for s in syms:
        if s in seen:
            continue
        seen.add(s)
        point[s] = float(scale * rng.standard_normal())
    return point


def by_name(point: dict) -> dict[str, float]:
    """``{Symbol: value}`` -> ``{name: value}``."""
    return {str(s): v for s, v in point.items()}


def evaluate(expr, point: dict, digits: int = 30) -> np.ndarray | float:
    """Numerically evaluate a SymPy scalar/Matrix at ``point`` -> float / float64 array."""
    rep = {s: sp.Float(v, digits) for s, v in point.items()}
    if isinstance(expr, sp.MatrixBase):
        m = expr.xreplace(rep).evalf(digits)
        return np.array(m.tolist(), dtype=float).reshape(expr.shape)
    return float(sp.sympify(expr).xreplace(rep).evalf(digits))


# --------------------------------------------------------------------------- output layer
@dataclass
class OutputLayer:
    V: Matrix
    c: Matrix  # output bias (not the LSTM cell state)
    ybars: list[Matrix]  # targets ybar_1..ybar_T (symbols ``ybar{t}_k``)
    os: list[Matrix]
    ys: list[Matrix]
    losses: list[sp.Expr]  # L_t
    L: sp.Expr  # sum_t L_t


def output_layer(u: Unrolled, n_y: int | None = None) -> OutputLayer:
    """o_t = V h_t + c, y_t = softmax(o_t), L_t = -sum_k ybar_{t,k} log y_{t,k}."""
    n_y = u.n_h if n_y is None else n_y
    V, c = _mat("V", n_y, u.n_h), _vec("c", n_y)
    ybars, os_, ys, Ls = [], [], [], []
    for t in range(1, u.T + 1):
        o = V * u.states[t]["h"] + c
        e = o.applyfunc(sp.exp)
        denom = sum(e)
        y = e / denom
        ybar = _vec(f"ybar{t}", n_y)
        Ls.append(-sum(ybar[k] * sp.log(y[k]) for k in range(n_y)))
        ybars.append(ybar)
        os_.append(o)
        ys.append(y)
    return OutputLayer(V, c, ybars, os_, ys, Ls, sum(Ls))

"""``bptt check``: one cell's BPTT gradients by every method we have, side by side.

In the manner of ``torch.autograd.gradcheck`` and JAX's ``check_grads``: at a
random point (parameters, input (T, B, n_x), initial states and ``dout``, all
drawn from the ``numpy.random.Generator`` passed in), the gradients of
``L = sum(dout * output)`` with respect to every parameter, the input and the
initial states are computed by

1. the symbolic engine (the reference every other method is compared with),
2. the numpy engine (compiled whole-sequence code),
3. float64 central differences: every entry when there are at most
   ``FULL_LIMIT`` entries in all, else ``DIRECTIONS`` random unit directions u
   per quantity, comparing ``<u, g>`` with ``(L(θ + εu) − L(θ − εu)) / 2ε``,
4. PyTorch autograd, when torch imports and the cell is one of ``nn.RNN``
   (tanh, relu), ``nn.LSTM`` or ``nn.GRU``.

Errors are norm-wise, ``‖a − b‖ / max(‖a‖, ‖b‖)``, with the worst single entry.
Central differences in float64 reach about 1e-10 norm-wise (truncation ε² plus
rounding 1e-16/ε), hence the default tolerance 1e-6 against them and 1e-10
between the engines and torch.  No SymPy is imported when the symbolic
engine's code is cached.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BpttError
from .grad import _Stack, make_sequence

EPS = 1e-5
FULL_LIMIT = 2000
DIRECTIONS = 4
CD_TOL = 1e-6
ENGINE_TOL = 1e-10
METHODS = ("numpy", "central", "torch")


@dataclass
class Point:
    """Where the gradients are taken; arrays in the row layout of ``bptt grad``.

    ``params`` in the cell's (rows, cols) shapes, ``X`` (T, B, n_x), ``init``
    one (B, n_h) array per state, ``dout`` (T, B, n_h).
    """

    params: dict
    X: np.ndarray
    init: dict
    dout: np.ndarray

    def quantities(self, cell) -> dict:
        """Every differentiated array by report name: parameters, ``input``, ``<state>0``."""
        q = {k: self.params[k] for k in cell.params}
        q["input"] = self.X
        q.update({s + "0": self.init[s] for s in cell.states})
        return q


def _param_shape(cell, name, sizes):
    from .shapes import concrete
    try:
        return concrete(cell.shapes[name], sizes)
    except KeyError as err:
        raise BpttError(f"parameter {name!r} has size {err.args[0]!r}, which bptt check cannot set; "
                        "give it a shape built from x and the states") from None


def random_point(cell, rng, T, B, n_x, n_h) -> Point:
    """A random point: matrices N(0, 1/cols), vectors N(0, 0.5²), input N(0, 1), states N(0, 0.5²).

    Parameters
    ----------
    cell : derive.ir.Cell
    rng : numpy.random.Generator
        The only source of randomness.
    T, B, n_x, n_h : int
        Steps, batch, input and hidden sizes.

    Returns
    -------
    Point
    """
    sizes = {"n_x": n_x, "n_h": n_h}
    params = {}
    for k in cell.params:
        shape = _param_shape(cell, k, sizes)
        scale = 0.5 if shape[1] == 1 else 1 / np.sqrt(shape[1])
        params[k] = rng.normal(0.0, scale, shape)
    X = rng.normal(0.0, 1.0, (T, B, n_x))
    init = {s: rng.normal(0.0, 0.5, (B, n_h)) for s in cell.states}
    return Point(params, X, init, rng.normal(0.0, 1.0, (T, B, n_h)))


def engine_grads(cell, point: Point, engine: str) -> dict:
    """Gradients of ``L = sum(dout * output)`` by ``engine`` (symbolic or numpy), keyed as ``quantities``."""
    q = {k: v.copy() for k, v in point.quantities(cell).items()}
    run = _Stack(make_sequence(cell, engine), cell, {(0, 0): {k: q[k] for k in cell.params}}, 1, 1)
    run.forward(q["input"], {s: q[s + "0"][None] for s in cell.states})
    x_bar, init_bars, grads = run.backward(point.dout.copy())
    out = {k: np.asarray(grads[(0, 0)][k]).reshape(q[k].shape) for k in cell.params}
    out["input"] = x_bar
    out.update({s + "0": init_bars[s][0] for s in cell.states})
    return out


class Outputs:
    """Forward passes of the numpy engine, for central differences."""

    def __init__(self, cell):
        self.cell, self.seq = cell, make_sequence(cell, "numpy")
        self.oi = cell.states.index(cell.output)

    def __call__(self, q: dict) -> np.ndarray:
        params = {k: q[k] for k in self.cell.params}
        run = self.seq.forward_rows(q["input"], [q[s + "0"] for s in self.cell.states], params)
        return np.array(self.seq.outputs(run, self.oi))


def _difference(dout, plus, minus) -> float:
    """(L(plus) − L(minus)) / 2ε from the two outputs, subtracted before the weighted sum."""
    return float(np.sum(dout * (plus - minus)) / (2 * EPS))


def central_full(cell, point: Point) -> dict:
    """Every gradient entry by central differences: ``{name: array}``."""
    outputs, q = Outputs(cell), {k: v.copy() for k, v in point.quantities(cell).items()}
    out = {}
    for name, a in q.items():
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            orig = a[idx]
            a[idx] = orig + EPS
            plus = outputs(q)
            a[idx] = orig - EPS
            g[idx] = _difference(point.dout, plus, outputs(q))
            a[idx] = orig
        out[name] = g
    return out


def central_directions(cell, point: Point, ref: dict, rng, k: int = DIRECTIONS) -> dict:
    """Directional derivatives along ``k`` random unit directions per quantity.

    Returns
    -------
    dict
        ``{name: (exact, fd)}``: ``<u, ref[name]>`` and the central difference, each of length ``k``.
    """
    outputs, q = Outputs(cell), point.quantities(cell)
    out = {}
    for name, a in q.items():
        exact, fd = np.zeros(k), np.zeros(k)
        for j in range(k):
            u = rng.normal(size=a.shape)
            u /= np.linalg.norm(u)
            exact[j] = float(np.sum(u * ref[name]))
            fd[j] = _difference(point.dout, outputs({**q, name: a + EPS * u}), outputs({**q, name: a - EPS * u}))
        out[name] = (exact, fd)
    return out


def entries(cell, point: Point) -> int:
    """Total number of differentiated entries (parameters, input, initial states)."""
    return int(sum(a.size for a in point.quantities(cell).values()))


def compare(got, ref) -> dict:
    """``{"rel_err": ‖a − b‖ / max(‖a‖, ‖b‖), "index": worst entry, "abs_diff": its |a − b|}``.

    Parameters
    ----------
    got, ref : array_like
        The same shape; both all-zero gives error 0.
    """
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    diff = np.abs(got - ref)
    scale = max(np.linalg.norm(got), np.linalg.norm(ref))
    rel = 0.0 if scale == 0 else float(np.linalg.norm(got - ref) / scale)
    if not np.all(np.isfinite(diff)):
        rel = float("inf")
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
    return {"rel_err": rel, "index": [int(i) for i in worst], "abs_diff": float(diff[worst])}


# ---- PyTorch ------------------------------------------------------------------
TORCH_CELLS = (("rnn", "tanh", {"nonlinearity": "tanh"}), ("rnn", "relu", {"nonlinearity": "relu"}),
               ("lstm", None, {}), ("gru", "pytorch", {}))


def torch_kind(cell):
    """``(kind, module kwargs)`` when ``cell`` is exactly an ``nn.RNN``/``nn.LSTM``/``nn.GRU`` cell, else None."""
    from .cells import get_cell
    for kind, variant, kw in TORCH_CELLS:
        b = get_cell(kind, variant)
        if (cell.input, cell.states, cell.output, cell.eqns) == (b.input, b.states, b.output, b.eqns):
            return kind, kw
    return None


def torch_status(cell) -> tuple:
    """``(kind, kwargs, note)``: kind None with the reason in ``note`` when there is no torch column."""
    found = torch_kind(cell)
    if found is None:
        return None, {}, "n/a: no PyTorch equivalent"
    try:
        import torch  # noqa: F401
    except ImportError:
        return None, {}, "n/a: torch is not installed"
    name = {"rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}[found[0]]
    args = ", ".join(f"{k}={v!r}" for k, v in found[1].items())
    return found[0], found[1], f"{name}({args}) in float64, cell parameters mapped to PyTorch layout"


def torch_state_dict(kind, params) -> dict:
    """Cell parameters in PyTorch layout: gate blocks stacked, each bias in ``bias_ih``.

    ``bias_hh`` is zero except for biases only it has (the GRU's ``b_hn``).
    """
    from .torch_layout import LAYOUT
    lay = LAYOUT[kind]
    sd = {"weight_ih_l0": np.concatenate([params[n] for n in lay["weight_ih"]]),
          "weight_hh_l0": np.concatenate([params[n] for n in lay["weight_hh"]]),
          "bias_ih_l0": np.concatenate([params[n].ravel() for n in lay["bias_ih"]])}
    sd["bias_hh_l0"] = np.concatenate([np.zeros(params[n].size) if n in lay["bias_ih"] else params[n].ravel()
                                       for n in lay["bias_hh"]])
    return sd


def _from_torch(kind, grads, point, x_bar, h0, c0) -> dict:
    from .torch_layout import LAYOUT
    out, lay = {}, LAYOUT[kind]
    for role in ("weight_ih", "weight_hh", "bias_hh", "bias_ih"):  # bias_ih last: it wins for shared names
        for n, block in zip(lay[role], np.split(grads[role + "_l0"], len(lay[role]))):
            out[n] = block.reshape(point.params[n].shape)
    out.update({"input": x_bar, "h0": h0})
    if c0 is not None:
        out["c0"] = c0
    return out


def torch_grads(kind, kwargs, point: Point) -> dict:
    """Gradients by PyTorch autograd (float64), keyed as ``Point.quantities``."""
    import torch
    n_h, n_x = point.params[{"rnn": "U", "lstm": "W_i", "gru": "W_r"}[kind]].shape
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](n_x, n_h, **kwargs).double()
    with torch.no_grad():
        for k, v in torch_state_dict(kind, point.params).items():
            getattr(mod, k).copy_(torch.from_numpy(v))
    X = torch.tensor(point.X, requires_grad=True)
    h0 = torch.tensor(point.init["h"][None], requires_grad=True)
    c0 = torch.tensor(point.init["c"][None], requires_grad=True) if kind == "lstm" else None
    out, _ = mod(X, (h0, c0) if c0 is not None else h0)
    (out * torch.from_numpy(point.dout)).sum().backward()
    grads = {k: p.grad.numpy().copy() for k, p in mod.named_parameters()}
    return _from_torch(kind, grads, point, X.grad.numpy().copy(), h0.grad.numpy()[0].copy(),
                       None if c0 is None else c0.grad.numpy()[0].copy())


# ---- the report ---------------------------------------------------------------
def run_check(cell, rng, steps=4, batch=2, n_x=3, n_h=4, tol=CD_TOL) -> dict:
    """Gradients by every method at a random point, compared with the symbolic engine.

    Parameters
    ----------
    cell : derive.ir.Cell
    rng : numpy.random.Generator
        Draws the point and the random directions; nothing else is random.
    steps, batch, n_x, n_h : int
        T, B and the sizes.
    tol : float
        Tolerance against central differences (1e-10 between the engines and torch).

    Returns
    -------
    dict
        JSON-ready report: settings, ``rows`` (one per quantity with ``numpy``,
        ``central`` and ``torch`` comparisons, the last None when n/a), ``max`` and ``passed``.
    """
    point = random_point(cell, rng, steps, batch, n_x, n_h)
    ref = engine_grads(cell, point, "symbolic")
    num = engine_grads(cell, point, "numpy")
    n = entries(cell, point)
    full = n <= FULL_LIMIT
    cd = central_full(cell, point) if full else central_directions(cell, point, ref, rng)
    kind, kwargs, note = torch_status(cell)
    tg = torch_grads(kind, kwargs, point) if kind else None
    rows = []
    for name, a in point.quantities(cell).items():
        rows.append({"quantity": name, "shape": list(a.shape), "numpy": compare(num[name], ref[name]),
                     "central": compare(cd[name], ref[name]) if full else compare(*reversed(cd[name])),
                     "torch": compare(tg[name], ref[name]) if tg else None})
    tols = {"numpy": ENGINE_TOL, "central": tol, "torch": ENGINE_TOL}
    return _summary(cell, rows, tols, {
        "cell": cell.name, "variant": cell.convention or None, "title": cell.title,
        "steps": steps, "batch": batch, "input": n_x, "hidden": n_h, "entries": n,
        "loss": f"L = sum(dout * {cell.output}_t) over t = 1..T and the batch", "reference": "symbolic",
        "central_mode": "full" if full else "directions", "directions": None if full else DIRECTIONS,
        "eps": EPS, "torch": note if kind else None, "torch_note": note})


def _summary(cell, rows, tols, report) -> dict:
    worst = {m: max((r[m]["rel_err"] for r in rows if r[m]), default=None) for m in METHODS}
    for r in rows:
        for m in METHODS:
            if r[m]:
                r[m]["ok"] = bool(r[m]["rel_err"] <= tols[m])
    failed = sorted({r["quantity"] for r in rows for m in METHODS if r[m] and not r[m]["ok"]},
                    key=[r["quantity"] for r in rows].index)
    report.update(rows=rows, tolerance=tols, max=worst, failed=failed, passed=not failed)
    return report

"""Gradient-flow experiments, numbers only (NumPy; no SymPy, no matplotlib).

* :func:`decay`: how ``‖∂h_T/∂h_k‖₂`` shrinks or grows with ``T − k`` for random
  weights.  Per-step state Jacobians ``J_t = ∂s_t/∂s_{t−1}`` come from pushing
  identity tangents through :func:`derive.autodiff.jvp` with :class:`NumpyOps`
  on the cell's own equations (for the LSTM ``s = (h, c)``, the full block
  Jacobian; its ``c``-to-``c`` blocks give the cell path ``∂c_T/∂c_k``).  For
  the Elman RNN the Pascanu et al. (2013) bound ``(γ‖W‖₂)^{T−k}`` comes along,
  with ``γ`` the largest slope of the activation, found on a fine grid.
* :func:`clip_training`: SGD on a small regression task with and without
  gradient-norm clipping ``g ← g·v/‖g‖`` when ``‖g‖ > v``; gradients come from
  :mod:`derive.sequence` with :class:`derive.npstep.NumpyStep`.
* :func:`activation_slopes`: sigmoid′, tanh′, relu′ on [−6, 6] and their maxima.

Every result is a plain dict of lists and floats (JSON-ready) and depends
only on the arguments: randomness comes from ``numpy.random.default_rng``
seeded from the ``seed`` argument.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .autodiff import jvp
from .errors import BpttError
from .npops import NP
from .rules import DERIV
from .torch_layout import LAYOUT, to_cell_params
from .weights import SCHEMES, init_weights

CELLS = ("rnn", "rnn:tanh", "rnn:relu", "rnn:sigmoid", "lstm", "gru")
KINDS = ("decay", "clip", "activations")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
#: gate whose bias keeps the old state: LSTM forget gate f, GRU update gate z (PyTorch convention)
KEEP_GATE = {"lstm": "b_f", "gru": "b_z"}


# ----------------------------------------------------------------------------- cells and weights


def parse_cell(spec: str) -> tuple:
    """``"rnn:relu"`` -> ``("rnn", "relu", cell)``; the cells with PyTorch semantics only."""
    from .cells import get_cell
    spec = spec.strip().lower()
    if spec not in CELLS:
        raise BpttError(f"unknown cell {spec!r} for bptt flow; use {', '.join(CELLS)}")
    kind, _, variant = spec.partition(":")
    if kind == "rnn":
        variant = variant or "tanh"
        return kind, variant, get_cell("rnn", variant)
    if kind == "gru":
        return kind, "pytorch", get_cell("gru", "pytorch")
    return kind, "", get_cell("lstm")


def activation_gamma(name: str, lo: float = -6.0, hi: float = 6.0, n: int = 12001) -> float:
    """Largest slope of an activation, read off a fine grid (which contains 0) with the rule table."""
    x = np.linspace(lo, hi, n)
    return float(np.max(DERIV[name](NP, x, getattr(NP, name)(x))))


def make_params(kind, cell, n_x, n_h, scheme, rng, gain=1.0, gate_bias=0.0) -> dict:
    """Cell parameters ((rows, 1) biases) from :func:`init_weights`, recurrent blocks times ``gain``."""
    sd = init_weights(kind, n_x, n_h, scheme, rng)
    params = to_cell_params(kind, sd, 0, False, n_h)
    for name in LAYOUT[kind]["weight_hh"]:
        params[name] = params[name] * gain
    if gate_bias and kind in KEEP_GATE:
        params[KEEP_GATE[kind]] = params[KEEP_GATE[kind]] + gate_bias
    return {k: v for k, v in params.items() if k in cell.params}


# ----------------------------------------------------------------------------- Jacobians


def step_jacobian(cell, params, x, prevs) -> tuple:
    """One forward step and its full state Jacobian, by forward mode on the cell's equations.

    Parameters
    ----------
    x : array (n_x, 1)
    prevs : list of arrays (n_h, 1), one per state of ``cell``

    Returns
    -------
    states : list of arrays (n_h, 1)
    J : array (N, N), N = sum of state sizes
        Rows: states at t in ``cell.states`` order; columns: states at t−1.
        The tangent of ``s_prev`` is the matching slice of an N x N identity,
        so one ``jvp`` walk per equation gives every column at once.
    """
    sizes = [p.shape[0] for p in prevs]
    eye, start = np.eye(sum(sizes)), np.cumsum([0] + sizes)
    env = dict(params)
    env[cell.input] = x
    tangents = {}
    for i, (name, value) in enumerate(zip(cell.prev_names, prevs)):
        env[name] = value
        tangents[name] = eye[start[i]:start[i + 1]]
    for e in cell.eqns:
        env[e.name], tangents[e.name] = jvp(e.expr, env, tangents, NP)
    states = [env[s] for s in cell.states]
    rows = [tangents[s] if tangents[s] is not None else np.zeros((env[s].shape[0], eye.shape[1]))
            for s in cell.states]
    return states, np.concatenate([np.broadcast_to(r, (r.shape[0], eye.shape[1])) for r in rows], axis=0)


def jacobians(cell, params, xs, init) -> tuple:
    """Run ``cell`` over ``xs`` (T, n_x, 1) from states ``init``; return (states per step, [J_1, ..., J_T])."""
    prevs, out, Js = list(init), [], []
    for x in xs:
        prevs, J = step_jacobian(cell, params, x, prevs)
        out.append(prevs)
        Js.append(J)
    return out, Js


def log_product_norms(Js) -> np.ndarray:
    """``log ‖J_T ⋯ J_{k+1}‖₂`` for ``T − k = 1, ..., T``, rescaled as it goes so nothing underflows.

    Returns ``-inf`` where the product is exactly zero (e.g. every ReLU off).
    """
    T = len(Js)
    out = np.empty(T)
    P, log_scale = np.eye(Js[0].shape[0]), 0.0
    for j, k in enumerate(range(T - 1, -1, -1)):
        P = P @ Js[k]
        s = np.abs(P).max()
        if s == 0.0 or not np.isfinite(s):
            out[j:] = -np.inf if s == 0.0 else np.inf
            return out
        P, log_scale = P / s, log_scale + np.log(s)
        out[j] = log_scale + np.log(np.linalg.norm(P, 2))
    return out


# ----------------------------------------------------------------------------- decay experiment


@dataclass(frozen=True)
class Curve:
    """One line of a decay plot.

    ``path``: ``"state"`` is ``‖∂s_T/∂s_k‖₂`` over all states (``s = h``, or
    ``(h, c)`` for the LSTM); ``"cell"`` is the LSTM cell path ``‖∂c_T/∂c_k‖₂``
    along ``c`` only, the product of the ``c``-to-``c`` blocks ``diag(f_t)``.
    """

    cell: str
    init: str = "xavier"
    gain: float = 1.0
    gate_bias: float = 0.0
    path: str = "state"
    label: str = ""

    def __post_init__(self):
        kind, variant, _ = parse_cell(self.cell)
        if self.init not in SCHEMES:
            raise BpttError(f"unknown --init {self.init!r}; use one of {', '.join(SCHEMES)}")
        if self.path not in ("state", "cell") or (self.path == "cell" and kind != "lstm"):
            raise BpttError(f"curve path {self.path!r} needs path 'state', or 'cell' for an lstm")
        if not np.isfinite(self.gain) or not np.isfinite(self.gate_bias):
            raise BpttError("--gain and --gate-bias must be finite numbers")
        if not self.label:
            object.__setattr__(self, "label", default_label(self))


def default_label(c: Curve) -> str:
    kind, variant, _ = parse_cell(c.cell)
    name = {"rnn": f"RNN {variant}", "lstm": "LSTM", "gru": "GRU"}[kind]
    init = f"{c.init} init" + (f" ×{c.gain:g}" if c.gain != 1 else "")
    extra = ""
    if c.gate_bias and kind in KEEP_GATE:
        extra = f", {'forget' if kind == 'lstm' else 'update'}-gate bias {c.gate_bias:+g}"
    what = {"state": "full state (h, c)" if kind == "lstm" else "", "cell": r"cell path $\Vert\partial c_T/\partial c_k\Vert$"}[c.path]
    return f"{name}{': ' + what if what else ''} ({init}{extra})"


#: Preset experiments: (title, curves, y-axis floor of the figure or None).
SCENARIOS = {
    "vanishing": ("Vanishing gradients in an RNN", (
        Curve("rnn:tanh", "small", label="RNN tanh, small init (0.01·N(0,1))"),
        Curve("rnn:sigmoid", "xavier", label="RNN sigmoid, xavier init"),
    ), None),
    "exploding": ("Exploding gradients in an RNN", (
        Curve("rnn:tanh", "orthogonal", gain=2.0, label="RNN tanh, W = 2 × orthogonal"),
        Curve("rnn:relu", "orthogonal", gain=2.0, label="RNN relu, W = 2 × orthogonal"),
    ), None),
    "lstm": ("The LSTM cell path keeps gradients alive (all cells: small init)", (
        Curve("rnn:tanh", "small", label="RNN tanh"),
        Curve("lstm", "small", path="cell", label="LSTM cell path $\\Vert\\partial c_T/\\partial c_k\\Vert$, forget bias 0 (f ≈ 0.5)"),
        Curve("lstm", "small", gate_bias=1.0, path="cell",
              label="LSTM cell path $\\Vert\\partial c_T/\\partial c_k\\Vert$, forget bias +1 (f ≈ 0.73)"),
        Curve("lstm", "small", gate_bias=3.0, path="cell",
              label="LSTM cell path $\\Vert\\partial c_T/\\partial c_k\\Vert$, forget bias +3 (f ≈ 0.95)"),
        Curve("lstm", "small", gate_bias=3.0, label="LSTM full state (h, c), forget bias +3"),
    ), 1e-36),
    "gru": ("The GRU update gate keeps gradients alive (all cells: small init)", (
        Curve("rnn:tanh", "small", label="RNN tanh"),
        Curve("gru", "small", label="GRU, update-gate bias 0 (z ≈ 0.5)"),
        Curve("gru", "small", gate_bias=3.0, label=r"GRU, update-gate bias +3 (z ≈ 0.95: $h_t \approx h_{t-1}$)"),
    ), 1e-36),
}


def _check_sizes(steps, hidden, n_x, seeds):
    for name, v in (("--steps", steps), ("--hidden", hidden), ("--input", n_x), ("--seeds", seeds)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise BpttError(f"{name} must be a positive integer, got {v!r}")
    if steps > 100000 or hidden > 4096:
        raise BpttError("--steps above 100000 or --hidden above 4096 is too large for this experiment")


def _seed_seqs(seed, n):
    """``n`` independent child seeds of ``seed`` (run i gets child i whatever else is asked)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise BpttError(f"--seed must be an integer >= 0, got {seed!r}")
    return np.random.SeedSequence(int(seed)).spawn(n)


def _seed_rngs(seed, n):
    return [np.random.default_rng(s) for s in _seed_seqs(seed, n)]


def curve_runs(curve: Curve, steps, hidden, n_x, seeds, seed) -> dict:
    """Log norms of one curve for each seed: ``logs`` (K, T), plus ``log_wnorm`` (K,) for the RNN."""
    kind, variant, cell = parse_cell(curve.cell)
    logs, log_w = [], []
    for rng in _seed_rngs(seed, seeds):
        params = make_params(kind, cell, n_x, hidden, curve.init, rng, curve.gain, curve.gate_bias)
        xs = rng.standard_normal((steps, n_x, 1))
        init = [np.zeros((hidden, 1)) for _ in cell.states]
        with np.errstate(over="ignore", invalid="ignore"):
            states, Js = jacobians(cell, params, xs, init)
        bad = [t for t, (st, J) in enumerate(zip(states, Js), 1)
               if not (all(np.all(np.isfinite(v)) for v in st) and np.all(np.isfinite(J)))]
        if bad:
            raise BpttError(f"{curve.label}: the forward pass overflowed at step {bad[0]} (states reached inf); "
                            "use fewer --steps or a smaller --gain")
        if curve.path == "cell":
            c = cell.states.index("c")
            Js = [J[c * hidden:(c + 1) * hidden, c * hidden:(c + 1) * hidden] for J in Js]
        with np.errstate(divide="ignore"):
            logs.append(log_product_norms(Js))
        if kind == "rnn":
            log_w.append(np.log(np.linalg.norm(params["W"], 2)))
    return {"logs": np.array(logs), "log_wnorm": np.array(log_w) if log_w else None,
            "kind": kind, "variant": variant}


def _floats(a) -> list:
    """JSON-ready floats; inf or NaN (overflow past 1e308) become None."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(a, dtype=np.float64)]


def decay(curves, steps=100, hidden=32, n_x=4, seeds=5, seed=0, title="", ymin=None) -> dict:
    """The decay experiment: per curve, ``‖∂h_T/∂h_k‖₂`` against ``T − k`` over ``seeds`` runs.

    Each run draws weights (``init`` scheme, recurrent blocks times ``gain``),
    then inputs ``x_t ~ N(0, I)`` for ``t = 1..T`` (B = 1, ``h_0 = 0``), from its
    own generator; run ``i`` uses the same generator whatever the other curves.

    Returns
    -------
    dict
        Settings and ``curves``: a list of dicts with ``label``, ``cell``,
        ``init``, ``gain``, ``gate_bias``, ``path``, ``t_minus_k`` (1..T),
        ``mean`` (geometric mean over seeds), ``lo``/``hi`` (min/max over seeds),
        and ``bound`` (RNN: geometric mean over seeds of ``(γ‖W‖₂)^{T−k}``, the
        Pascanu bound; every run's norms stay below its own bound), ``gamma``,
        ``w_norm`` (geometric mean of ``‖W‖₂``); ``None`` for gated cells.
        ``ymin`` is only a hint for the figure (curves below it leave the chart).
    """
    _check_sizes(steps, hidden, n_x, seeds)
    curves = list(curves)
    if not curves:
        raise BpttError("no cells to compare; pass e.g. --cells rnn,lstm,gru")
    tk = np.arange(1, steps + 1)
    out = []
    for curve in curves:
        r = curve_runs(curve, steps, hidden, n_x, seeds, seed)
        logs = r["logs"]
        with np.errstate(over="ignore", invalid="ignore"):
            entry = dict(asdict(curve), t_minus_k=[int(t) for t in tk],
                         mean=_floats(np.exp(logs.mean(axis=0))),
                         lo=_floats(np.exp(logs.min(axis=0))), hi=_floats(np.exp(logs.max(axis=0))),
                         bound=None, gamma=None, w_norm=None)
            if r["log_wnorm"] is not None:
                gamma = activation_gamma(r["variant"])
                log_wn = float(r["log_wnorm"].mean())
                entry.update(gamma=gamma, w_norm=float(np.exp(log_wn)),
                             bound=_floats(np.exp(tk * (np.log(gamma) + log_wn))))
        out.append(entry)
    return {"kind": "decay", "title": title or "Gradient flow back through time",
            "steps": steps, "hidden": hidden, "input": n_x, "seeds": seeds, "seed": seed,
            "mean": "geometric mean over seeds", "band": "min to max over seeds",
            "y": "spectral norm of dh_T/dh_k = J_T ... J_{k+1}", "ymin": ymin, "curves": out}


def curves_from_options(cells, init, gain=1.0, gate_bias=0.0) -> list:
    """One state curve per cell, plus the cell path for an LSTM."""
    out = []
    for spec in cells:
        kind = parse_cell(spec)[0]
        out.append(Curve(spec, init, gain, gate_bias))
        if kind == "lstm":
            out.append(Curve(spec, init, gain, gate_bias, path="cell"))
    return out


# ----------------------------------------------------------------------------- clipping experiment


def sum_task(step, p, xs, grad=True):
    """Loss (and gradients) of the clipping task for one batch ``xs`` (T, 1, B).

    ``y = V h_T + c`` regresses ``(x_1 + ... + x_T)/sqrt(T)``; loss ``½·mean_b (y − target)²``.
    ``p`` holds the cell parameters plus ``V`` (1, n_h) and ``c`` (1, 1).  The cell's
    gradients come from :func:`derive.sequence.run_backward` (the adjoint of ``h_T``
    seeded with ``Vᵀ ∂L/∂y``), the readout's by hand.

    Returns ``loss`` or ``(loss, grads)`` with one gradient per key of ``p``.
    """
    from .sequence import run_backward, run_forward
    cell = step.cell
    T, _, B = xs.shape
    oi = cell.states.index(cell.output)
    core = {k: v for k, v in p.items() if k not in ("V", "c")}
    n_h = p["V"].shape[1]
    outs, caches = run_forward(step, xs, [np.zeros((n_h, B)) for _ in cell.states], core)
    hT = outs[-1][oi]
    err = p["V"] @ hT + p["c"] - xs.sum(axis=(0, 1))[None, :] / np.sqrt(T)
    loss = 0.5 * float(np.mean(err ** 2))
    if not grad:
        return loss
    gy = err / B
    bars = [[None] * len(cell.states) for _ in range(T)]
    bars[-1][oi] = p["V"].T @ gy
    _, _, g = run_backward(step, caches, bars, core, {k: v.shape for k, v in core.items()})
    g["V"], g["c"] = gy @ hT.T, gy.sum(axis=1, keepdims=True)
    return loss, g


def global_norm(grads) -> float:
    """‖g‖₂ over every parameter together."""
    return float(np.sqrt(sum(float(np.sum(v * v)) for v in grads.values())))


def clip_by_norm(grads, v) -> tuple:
    """``g ← g·v/‖g‖`` when ``‖g‖ > v``: returns ``(clipped grads, ‖g‖ before, ‖g‖ after)``."""
    norm = global_norm(grads)
    scale = v / norm if norm > v else 1.0
    return {k: g * scale for k, g in grads.items()}, norm, norm * scale


def clip_training(cell_spec="rnn:tanh", hidden=16, steps=30, iters=100, clip=1.0, init="orthogonal",
                  gain=1.5, lr=0.3, batch=16, seed=0) -> dict:
    """SGD on the task of :func:`sum_task`, with and without gradient clipping.

    Both runs start from the same weights (``init`` times ``gain`` on the
    recurrent blocks: large, so some gradients explode) and see the same
    batches of ``x_t ~ N(0, 1)``; the loss is also measured on 256 held-out
    sequences after every step.

    Returns
    -------
    dict
        Settings and, per SGD step (``iteration`` 1..iters): for the clipped run
        ``norm_before`` (‖g‖), ``norm_after`` (‖g‖ after clipping), ``loss``
        (training batch) and ``eval_loss`` (held-out); for plain SGD
        ``norm_unclipped``, ``loss_unclipped``, ``eval_loss_unclipped``
        (``None`` once it has diverged to inf/NaN).
    """
    from .npstep import NumpyStep

    _check_sizes(steps, hidden, 1, 1)
    for name, v in (("--iters", iters), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise BpttError(f"{name} must be a positive integer, got {v!r}")
    if not (isinstance(clip, (int, float)) and np.isfinite(clip) and clip > 0):
        raise BpttError(f"--clip must be a positive number, got {clip!r}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise BpttError(f"--lr must be a positive number, got {lr!r}")
    kind, variant, cell = parse_cell(cell_spec)
    w_seed, data_seed, eval_seed = _seed_seqs(seed, 3)
    w_rng = np.random.default_rng(w_seed)
    xs_eval = np.random.default_rng(eval_seed).standard_normal((steps, 1, 256))
    params = make_params(kind, cell, 1, hidden, init, w_rng, gain)
    params["V"] = w_rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(1, hidden))
    params["c"] = np.zeros((1, 1))
    step = NumpyStep(cell)

    runs = {}
    for clipped in (True, False):
        p = {k: v.copy() for k, v in params.items()}
        data = np.random.default_rng(data_seed)  # the same batches for both runs
        rec = {"loss": [], "before": [], "after": [], "eval": []}
        alive = True
        for _ in range(iters):
            xs = data.standard_normal((steps, 1, batch))
            if alive:
                with np.errstate(all="ignore"):
                    loss, g = sum_task(step, p, xs)
                    g, before, after = clip_by_norm(g, clip) if clipped else (g, global_norm(g), None)
                alive = bool(np.isfinite(loss) and np.isfinite(before))
            if not alive:
                for key in rec:
                    rec[key].append(None)
                continue
            for k in p:
                p[k] = p[k] - lr * g[k]
            with np.errstate(all="ignore"):
                ev = sum_task(step, p, xs_eval, grad=False)
            rec["loss"].append(loss)
            rec["before"].append(before)
            rec["after"].append(before if after is None else after)
            rec["eval"].append(ev if np.isfinite(ev) else None)
        runs[clipped] = rec
    return {"kind": "clip", "title": "Gradient clipping",
            "cell": cell_spec, "hidden": hidden, "steps": steps, "iters": iters, "clip": float(clip),
            "init": init, "gain": float(gain), "lr": float(lr), "batch": batch, "seed": seed,
            "task": "y = V h_T + c regresses (x_1 + ... + x_T)/sqrt(T), x_t ~ N(0, 1)",
            "iteration": list(range(1, iters + 1)),
            "norm_before": runs[True]["before"], "norm_after": runs[True]["after"],
            "loss": runs[True]["loss"], "eval_loss": runs[True]["eval"],
            "norm_unclipped": runs[False]["before"], "loss_unclipped": runs[False]["loss"],
            "eval_loss_unclipped": runs[False]["eval"]}


# ----------------------------------------------------------------------------- activations


def activation_slopes(lo=-6.0, hi=6.0, n=1201) -> dict:
    """sigmoid′, tanh′, relu′ on a grid (from the rule table) and where each peaks."""
    x = np.linspace(lo, hi, n)
    out = {"kind": "activations", "title": "Slopes of activation functions", "x": _floats(x), "curves": {}}
    for name in ACTIVATIONS:
        d = DERIV[name](NP, x, getattr(NP, name)(x))
        m = float(d.max())
        at = x[np.isclose(d, m, rtol=0, atol=1e-15)]
        out["curves"][name] = {"slope": _floats(d), "max": m, "argmax_from": float(at.min()),
                               "argmax_to": float(at.max()), "gamma": activation_gamma(name)}
    return out

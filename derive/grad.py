"""``bptt grad``: gradients of L = sum(dout * output) for PyTorch-layout models and cell files.

Layers run bottom-up; a bidirectional layer runs the reversed sequence with
its own parameters and concatenates the two outputs, as ``nn.RNN`` does.
The backward pass walks the same structure in reverse, layer by layer.

Inside one layer and direction a *sequence runner* does the time loop on
row-layout arrays (T, B, n), the layout of PyTorch's tensors: for the numpy
engine the compiled whole-sequence engine :class:`derive.npfast.FastSequence`;
for any step backend (the symbolic engine) :class:`StepSequence`, the adjoint
recursion of :mod:`derive.sequence` over per-step ``forward``/``backward``.
"""
from __future__ import annotations

import numpy as np

from .errors import BpttError
from .sequence import run_backward, run_forward
from .torch_layout import check_shapes, parse_keys, to_cell_params, to_torch_grads

STATES = {"rnn": ("h",), "lstm": ("h", "c"), "gru": ("h",)}


def make_step(cell, engine: str):
    """The per-step backend of ``engine`` (numpy or symbolic) for ``cell``."""
    if engine == "numpy":
        from .npfast import FastStep
        return FastStep(cell)
    if engine == "symbolic":
        from .symengine import SymbolicStep
        return SymbolicStep(cell)
    raise BpttError(f"unknown engine {engine!r}; use symbolic or numpy")


def make_sequence(cell, engine: str):
    """The whole-sequence runner of ``engine``: compiled for numpy, step by step otherwise."""
    if engine == "numpy":
        from .npfast import FastSequence
        return FastSequence(cell)
    return StepSequence(make_step(cell, engine), cell)


class StepSequence:
    """Row-layout sequence runner over any per-step backend (the ``FastSequence`` interface)."""

    def __init__(self, step, cell):
        self.step, self.cell = step, cell

    def forward_rows(self, X, init, params):
        xs = np.ascontiguousarray(np.asarray(X).transpose(0, 2, 1))
        states, caches = run_forward(self.step, xs, [np.asarray(s).T for s in init], params)
        return states, caches, params

    @staticmethod
    def outputs(run, k):
        return np.stack([st[k].T for st in run[0]])

    def backward_rows(self, run, out_bars):
        states, caches, params = run
        bars = [[None if ob is None else ob[t].T for ob in out_bars] for t in range(len(caches))]
        shapes = {k: np.shape(v) for k, v in params.items()}
        p0, xb, grads = run_backward(self.step, caches, bars, params, shapes)
        return [g.T for g in p0], np.stack([x.T for x in xb]), grads


def builtin_cell(kind: str, nonlinearity: str = "tanh"):
    """The cell with PyTorch semantics for ``kind``."""
    from .cells import get_cell
    if kind == "rnn":
        return get_cell("rnn", nonlinearity)
    if kind == "gru":
        return get_cell("gru", "pytorch")
    if kind == "lstm":
        return get_cell("lstm")
    raise BpttError(f"unknown cell {kind!r} for bptt grad; use rnn, lstm, gru or --cell-file")


def _fits(name, a, dtype):
    if not np.all(np.isfinite(a)):
        raise BpttError(f"{name} has values too large for {np.dtype(dtype).name}; use --dtype float64")


def _finite(name, a):
    if not np.all(np.isfinite(a)):
        raise BpttError(f"{name} contains NaN or inf; replace those entries with finite numbers")


def torch_grads(kind, sd, X, h0=None, c0=None, dout=None, nonlinearity="tanh",
                engine="numpy", dtype=np.float64) -> dict:
    """Gradients in PyTorch layout (the ``bptt grad`` contract).

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    sd : dict of arrays
        ``state_dict`` with PyTorch keys; layers and directions are read from them.
    X : array (T, B, n_x)
    h0, c0 : arrays (layers*dirs, B, n_h), optional (zeros)
    dout : array (T, B, dirs*n_h), optional (ones)

    Returns
    -------
    dict
        dL/d(every key), ``input``, ``h0`` (and ``c0``), and ``output``.
    """
    cell = builtin_cell(kind, nonlinearity)
    layers, dirs = parse_keys(kind, sd.keys())
    n_x, n_h = check_shapes(kind, sd, layers, dirs)
    X = _check_input(X, n_x, dtype)
    T, B = X.shape[:2]
    init = {s: _init(v, layers * dirs, B, n_h, s + "0", dtype) for s, v in zip(STATES[kind], (h0, c0))}
    for k, v in sd.items():
        _finite(k, v)
    with np.errstate(over="ignore"):
        params = {(l, r): to_cell_params(kind, sd, l, bool(r), n_h, dtype) for l in range(layers) for r in range(dirs)}
    for p in params.values():
        for k, v in p.items():
            _fits(k, v, dtype)
    run = _Stack(make_sequence(cell, engine), cell, params, layers, dirs)
    out = run.forward(X, init)
    dout = np.ones_like(out) if dout is None else _check_dout(dout, out.shape, dtype)
    x_bar, init_bars, grads = run.backward(dout)
    result = {"output": out, "input": x_bar}
    for s in STATES[kind]:
        result[s + "0"] = init_bars[s]
    for (l, r), g in grads.items():
        result.update(to_torch_grads(kind, g, l, bool(r), sd.keys()))
    return result


def _check_input(X, n_x, dtype):
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 3 or X.shape[2] != n_x:
        raise BpttError(f"input has shape {X.shape}; expected (T, B, {n_x}) to match weight_ih_l0")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise BpttError(f"input has shape {X.shape}; it needs T >= 1 and B >= 1")
    _finite("input", X)
    return X


def _init(v, n, B, n_h, name, dtype):
    if v is None:
        return np.zeros((n, B, n_h), dtype=dtype)
    v = np.asarray(v, dtype=dtype)
    if v.shape != (n, B, n_h):
        raise BpttError(f"{name} has shape {v.shape}; expected (layers*directions, B, n_h) = {(n, B, n_h)}")
    _finite(name, v)
    return v


def _check_dout(d, shape, dtype):
    d = np.asarray(d, dtype=dtype)
    if d.shape != shape:
        raise BpttError(f"dout has shape {d.shape}; expected {shape}, the shape of the output")
    _finite("dout", d)
    return d


class _Stack:
    """Layers x directions of one cell; arrays are (T, B, n) rows, as in PyTorch."""

    def __init__(self, seq, cell, params, layers, dirs):
        self.seq, self.cell, self.params = seq, cell, params
        self.layers, self.dirs = layers, dirs
        self.oi = cell.states.index(cell.output)

    def forward(self, X, init):
        seq, self.runs = X, {}
        for l in range(self.layers):
            outs = []
            for r in range(self.dirs):
                s0 = [init[s][l * self.dirs + r] for s in self.cell.states]
                run = self.seq.forward_rows(seq[::-1] if r else seq, s0, self.params[(l, r)])
                self.runs[(l, r)] = run
                o = self.seq.outputs(run, self.oi)
                outs.append(o[::-1] if r else o)
            seq = np.concatenate(outs, axis=2)
        self.n_h = outs[0].shape[2]
        return seq

    def backward(self, dout):
        bar, n = dout, len(self.cell.states)
        grads, init_bars = {}, {s: [None] * (self.layers * self.dirs) for s in self.cell.states}
        for l in reversed(range(self.layers)):
            below = None
            for r in range(self.dirs):
                part = bar[:, :, r * self.n_h:(r + 1) * self.n_h]
                ob = [(part[::-1] if r else part) if i == self.oi else None for i in range(n)]
                p0, xb, grads[(l, r)] = self.seq.backward_rows(self.runs[(l, r)], ob)
                xb = xb[::-1] if r else xb
                below = xb if below is None else below + xb
                for s, g in zip(self.cell.states, p0):
                    init_bars[s][l * self.dirs + r] = g
            bar = below
        return bar, {s: np.stack(v) for s, v in init_bars.items()}, grads


def bind_sizes(cell, arrays: dict, known: dict) -> dict:
    """Numeric sizes (n_x, n_h, ...) from the shapes of given parameter arrays."""
    sizes = dict(known)
    for name in cell.params:
        if name not in arrays:
            raise BpttError(f"weights file has no {name!r}; the cell needs {', '.join(cell.params)}")
        a = np.asarray(arrays[name])
        want = cell.shapes[name]
        if a.ndim == 1 and want[1] == "1":
            a = a.reshape(-1, 1)
        if a.ndim != 2:
            raise BpttError(f"{name} has shape {a.shape}; expected {want}")
        for d, n in zip(want, a.shape):
            _bind(sizes, d, n, name, want, a.shape)
    return sizes


def _bind(sizes, d, n, name, want, got):
    if d == "1":
        if n != 1:
            raise BpttError(f"{name} has shape {got}; expected {want}")
        return
    if "+" in d:
        parts = [p.strip() for p in d.split("+")]
        if all(p in sizes for p in parts) and sum(sizes[p] for p in parts) != n:
            raise BpttError(f"{name} has shape {got}; expected {want} = "
                            f"({'+'.join(str(sizes[p]) for p in parts)})")
        return
    if sizes.setdefault(d, n) != n:
        raise BpttError(f"{name} has shape {got}; expected {want} with {d} = {sizes[d]}")


def cell_grads(cell, arrays, X, inits=None, dout=None, engine="numpy", dtype=np.float64) -> dict:
    """Gradients for a (user) cell: L = sum(dout * output state), single layer.

    ``arrays`` maps parameter names to arrays (matrices as (rows, cols) for W @ x);
    ``inits`` maps state names to (B, n_h) arrays (zeros when absent).
    """
    extra = sorted(set(arrays) - set(cell.params))
    if extra:
        raise BpttError(f"weights file has unknown key {extra[0]!r}; the cell's parameters are {', '.join(cell.params)}")
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 3 or min(X.shape) < 1:
        raise BpttError(f"input has shape {X.shape}; expected (T, B, n_x) with T, B >= 1")
    sizes = bind_sizes(cell, arrays, {"n_x": X.shape[2]})
    sizes.setdefault("n_h", next((np.shape(v)[1] for v in (inits or {}).values()), None))
    if sizes["n_h"] is None:
        raise BpttError("cannot tell n_h from the weights; pass an initial state with --init")
    _finite("input", X)
    params = {k: np.asarray(arrays[k], dtype=dtype).reshape(_shape(cell, k, sizes)) for k in cell.params}
    for k, v in params.items():
        _finite(k, v)
    B, n_h = X.shape[1], sizes["n_h"]
    s0 = {s: _init((inits or {}).get(s, np.zeros((B, n_h)))[None], 1, B, n_h, s + "0", dtype)[0]
          for s in cell.states}
    unknown = sorted(set(inits or {}) - set(cell.states))
    if unknown:
        raise BpttError(f"--init names {unknown[0]!r}, which is not a state; states are {', '.join(cell.states)}")
    run = _Stack(make_sequence(cell, engine), cell, {(0, 0): params}, 1, 1)
    out = run.forward(X, s0_stack(cell, s0))
    dout = np.ones_like(out) if dout is None else _check_dout(dout, out.shape, dtype)
    x_bar, init_bars, grads = run.backward(dout)
    result = {"output": out, "input": x_bar,
              **{k: g.reshape(np.shape(arrays[k])) for k, g in grads[(0, 0)].items()}}
    result.update({s + "0": init_bars[s][0] for s in cell.states})
    return result


def s0_stack(cell, s0):
    return {s: v[None] for s, v in s0.items()}


def _shape(cell, k, sizes):
    from .shapes import concrete
    return concrete(cell.shapes[k], sizes)

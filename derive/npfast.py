"""A fast NumPy engine: each cell compiled to NumPy code for a whole sequence.

Pipeline (a small compiler; nothing here knows a particular cell):

1. :mod:`derive.npfast_ir` lowers the equations to a flat graph of primitives
   (A-normal form, CSE), classifies nodes as parameter-only / input-only /
   recurrent, regroups recurrent sums so ``W x + b`` is hoistable, and fuses
   matmuls sharing a right operand into one matmul with concatenated weights.
2. :mod:`derive.npfast_ad` turns it into a phased program and traces the adjoint
   program from the rule table (:data:`derive.rules.VJP`), one rule per primitive.
3. :mod:`derive.npfast_plan` plans memory: in-place writes over dying hoisted
   values, per-time-slot liveness so one buffer holds ``W x + b``, then the
   gates, then their adjoints, and recomputation of cheap values (``tanh(c)``)
   in the backward loop instead of storing them.
4. :mod:`derive.npfast_gen` emits Python/NumPy source: hoisted values for all
   T*B columns at once, a forward and a backward loop writing into
   preallocated buffers with ``out=``, and deferred parameter/input adjoints as
   single matrix products over all steps.

:class:`FastSequence` runs a whole sequence (the same results as
:func:`derive.sequence.run_forward` / ``run_backward`` with
:class:`derive.npstep.NumpyStep`); :class:`FastStep` offers the per-step
backend interface.  The generated code is available as ``.source(...)``.
No SymPy, no matplotlib.
"""
from __future__ import annotations

import linecache

import numpy as np

from .npops import NP
from .npfast_ad import build, check_batch
from .npfast_gen import Source
from .npfast_plan import Plan
from .npfast_ir import optimize


# ---- helpers the generated code calls (batch-major storage: features on the last axis) ----
def _sigmoid(a, out=None):
    """NumpyOps.sigmoid, 0.5 * (1 + tanh(a / 2)), without temporaries."""
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    np.multiply(out, 0.5, out=out)
    return np.add(out, 0.5, out=out)


def _softmax(a, out=None):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return np.divide(e, e.sum(axis=-1, keepdims=True), out=out)


def _outer_scale(y, d, out=None):
    return np.multiply(y, (y * d).sum(axis=-1, keepdims=True), out=out)


NAMESPACE = {"np": np, "NP": NP, "_sigmoid": _sigmoid, "_softmax": _softmax, "_outer_scale": _outer_scale}


class Compiled:
    """The program of one cell for given sizes and dtype; backward code per set of seeded states."""

    def __init__(self, cell, param_shapes, n_x, n_h):
        self.cell = cell
        g, cls, shp = optimize(cell, param_shapes, n_x, n_h)
        self.graph = g
        self.prog, vals, self.adj = build(g, cls, shp)
        check_batch(self.prog)
        states = [vals[g.states[s]] for s in cell.states]
        self.plan = Plan(self.prog, states, self.adj)
        self.n_x = n_x
        self._backward = {}
        self.forward = self._exec(Source(self.prog, self.plan, self.adj, n_x, ()).forward(), "forward")

    def backward(self, mask):
        mask = tuple(sorted(mask))
        if mask not in self._backward:
            src = Source(self.prog, self.plan, self.adj, self.n_x, mask).backward()
            self._backward[mask] = self._exec(src, "backward")
        return self._backward[mask]

    def source(self, mask=(0,)):
        """The generated Python source (forward, then backward with states ``mask`` seeded)."""
        fwd = Source(self.prog, self.plan, self.adj, self.n_x, ()).forward()
        return fwd + "\n\n" + Source(self.prog, self.plan, self.adj, self.n_x, tuple(mask)).backward()

    def _exec(self, src, name):
        ns, filename = dict(NAMESPACE), f"<npfast {self.cell.name} {name} {id(self):x}>"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)  # readable tracebacks
        exec(compile(src, filename, "exec"), ns)  # noqa: S102 (source generated above, no user text)
        ns[name].source = src
        return ns[name]


class Run:
    """What a forward pass leaves for the backward pass."""

    def __init__(self, compiled, ctx, T, B, dtype, params):
        self.compiled, self.ctx, self.T, self.B, self.dtype = compiled, ctx, T, B, dtype
        self.params = params

    def states(self, k):
        """(T+1, B, n_h) array of state ``k``; slot 0 is the initial state."""
        return self.ctx[f"H{k}"]


class FastSequence:
    """Compiled forward/backward of ``cell`` over whole sequences.

    Row-layout API (no copies, used by :mod:`derive.grad`): arrays are (T, B, n),
    one row per batch element.  Column API (``forward``/``backward``) mirrors
    :func:`derive.sequence.run_forward` / ``run_backward``.
    """

    def __init__(self, cell):
        self.cell = cell
        self._compiled = {}

    def compiled(self, params, n_x, n_h, dtype) -> Compiled:
        shapes = {k: tuple(np.shape(v)) for k, v in params.items()}
        key = (np.dtype(dtype).str, n_x, n_h, tuple(sorted(shapes.items())))
        if key not in self._compiled:
            self._compiled[key] = Compiled(self.cell, shapes, n_x, n_h)
        return self._compiled[key]

    def source(self, params, n_x, n_h, dtype=np.float64):
        return self.compiled(params, n_x, n_h, dtype).source()

    # ---- row layout --------------------------------------------------------
    def forward_rows(self, X, init, params) -> Run:
        """``X`` (T, B, n_x); ``init`` one (B, n_h) array per state; ``params`` as in the cell."""
        dtype = np.result_type(X, *init, *params.values())
        T, B, n_x = X.shape
        X2 = np.ascontiguousarray(X, dtype=dtype).reshape(T * B, n_x)
        init = [np.asarray(s, dtype=dtype) for s in init]
        params = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
        comp = self.compiled(params, n_x, init[0].shape[1], dtype)
        ctx = comp.forward(X2, init, params, T, B)
        return Run(comp, ctx, T, B, dtype, params)

    def outputs(self, run: Run, k: int):
        """(T, B, n_h) values of state ``k`` at t = 1..T."""
        return run.states(k)[1:]

    def backward_rows(self, run: Run, out_bars):
        """``out_bars``: per state, a (T, B, n_h) adjoint of its values or None.

        Returns ``(init_bars, x_bar, grads)``: per state (B, n_h); (T, B, n_x); and
        parameter gradients in the cell's (rows, cols) layout, summed over steps and batch.
        """
        mask = [k for k, ob in enumerate(out_bars) if ob is not None]
        obs = [None if ob is None else np.asarray(ob, dtype=run.dtype) for ob in out_bars]
        bwd = run.compiled.backward(mask)
        carries, xbar, grads = bwd(run.ctx, obs, run.T, run.B)
        out = {k: (grads[k].T if k in grads else np.zeros_like(v)) for k, v in run.params.items()}
        return carries, xbar.reshape(run.T, run.B, -1), out

    # ---- column layout (the derive.sequence contract) ----------------------
    def forward(self, xs, init, params):
        """``xs`` (T, n_x, B), ``init`` (n_h, B) arrays -> ``(outs, run)`` like ``run_forward``."""
        run = self.forward_rows(np.asarray(xs).transpose(0, 2, 1), [np.asarray(s).T for s in init], params)
        n = len(self.cell.states)
        outs = [[run.states(k)[t + 1].T for k in range(n)] for t in range(run.T)]
        return outs, run

    def backward(self, run, out_bars, params=None, shapes=None):
        """Like ``run_backward``: ``out_bars[t]`` lists (n_h, B) adjoints or None per state."""
        n = len(self.cell.states)
        obs = []
        for k in range(n):
            col = [ob[k] for ob in out_bars]
            if all(c is None for c in col):
                obs.append(None)
                continue
            like = run.states(k)[1]
            obs.append(np.stack([np.zeros_like(like) if c is None else np.asarray(c).T for c in col]))
        init_bars, xbar, grads = self.backward_rows(run, obs)
        return [b.T for b in init_bars], [xbar[t].T for t in range(run.T)], grads


class FastStep:
    """The per-step backend interface (``forward``/``backward`` on (n, B) arrays), compiled."""

    def __init__(self, cell):
        self.cell = cell
        self.seq = FastSequence(cell)

    def forward(self, x, prevs, params):
        run = self.seq.forward_rows(np.asarray(x).T[None], [np.asarray(p).T for p in prevs], params)
        return [run.states(k)[1].T for k in range(len(self.cell.states))], run

    def backward(self, run, state_bars):
        obs = [None if b is None else np.asarray(b).T[None] for b in state_bars]
        init_bars, xbar, grads = self.seq.backward_rows(run, obs)
        return [b.T for b in init_bars], xbar[0].T, grads

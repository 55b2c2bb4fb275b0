"""Run a cell over a sequence and backpropagate through time.

A *step backend* turns a cell into two functions (NumPy arrays of shape
(n, B), one column per batch element):

* ``forward(x, prevs, params) -> (states, cache)``
* ``backward(cache, state_bars) -> (prev_bars, x_bar, param_bars)``

``bptt`` here is the outer loop both engines share: forward over t = 1..T,
then the adjoint recursion backwards in time.  It imports no SymPy.
"""
from __future__ import annotations

import numpy as np


def unbroadcast(g, shape):
    """Sum a gradient over the batch columns it was broadcast along."""
    if g.shape == tuple(shape):
        return g
    return g.sum(axis=-1, keepdims=True)


def run_forward(step, xs, init, params):
    """Forward pass: ``xs`` is (T, n_x, B); ``init`` one (n_h, B) array per state."""
    prevs, caches, outs = list(init), [], []
    for x in xs:
        prevs, cache = step.forward(x, prevs, params)
        caches.append(cache)
        outs.append(prevs)
    return outs, caches


def run_backward(step, caches, out_bars, params, shapes):
    """Backward pass: ``out_bars[t]`` is a list of adjoints of the states at t (or None).

    Returns ``(init_bars, x_bars, param_grads)``.
    """
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    carry, x_bars = None, [None] * len(caches)
    for t in range(len(caches) - 1, -1, -1):
        bars = [_sum(a, b) for a, b in zip(out_bars[t], carry or [None] * len(out_bars[t]))]
        carry, x_bars[t], pbars = step.backward(caches[t], bars)
        for k, g in pbars.items():
            grads[k] += unbroadcast(g, shapes[k])
    return carry, x_bars, grads


def _sum(a, b):
    if a is None:
        return b
    return a if b is None else a + b

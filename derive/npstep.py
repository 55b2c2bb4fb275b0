"""The NumPy step backend: interpret a cell's equations with the rule table.

Forward evaluates each equation tree with :class:`NumpyOps`; backward is the
reverse walk of :func:`derive.autodiff.step_vjp` with the same ops, so every
derivative comes from the one rule table.  No SymPy here.
"""
from __future__ import annotations

import numpy as np

from .autodiff import evaluate, step_vjp
from .npops import NP


class NumpyStep:
    """Forward/backward of one time step of ``cell`` on (n, B) arrays."""

    def __init__(self, cell):
        self.cell = cell

    def forward(self, x, prevs, params):
        env = dict(params)
        env[self.cell.input] = x
        env.update(zip(self.cell.prev_names, prevs))
        for e in self.cell.eqns:
            env[e.name] = evaluate(e.expr, env, NP)
        return [env[s] for s in self.cell.states], env

    def backward(self, env, state_bars):
        seeds = {s: g for s, g in zip(self.cell.states, state_bars) if g is not None}
        adj = step_vjp(self.cell, env, seeds, NP)
        total = lambda n: adj.total(n, NP)
        prev_bars = [_or_zeros(total(p), env[p]) for p in self.cell.prev_names]
        params = {k: total(k) for k in self.cell.params}
        params = {k: g for k, g in params.items() if g is not None}
        return prev_bars, _or_zeros(total(self.cell.input), env[self.cell.input]), params


def _or_zeros(g, like):
    return np.zeros_like(like) if g is None else g

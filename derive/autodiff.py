"""Walks over equation trees, generic in the backend ``ops``.

* ``evaluate``: the primal value of a tree.
* ``jvp``: tangent propagation (forward mode); a zero tangent is ``None``.
* ``vjp``: adjoint propagation (reverse mode) into named leaves.
* ``step_vjp``: the reverse walk over a whole cell step, like
  ``eval_jaxpr_transposed``: equations in reverse, adjoints accumulated per name.

Every derivative comes from :mod:`derive.rules`; nothing here knows a cell.
"""
from __future__ import annotations

from .ir import Const, Var
from .rules import RuleRef, concat_jvp, jvp_rule, vjp_rule


def evaluate(expr, env, ops, memo=None):
    """Value of ``expr`` with leaf values from ``env``; ``memo`` maps id(node) -> value."""
    if isinstance(expr, Var):
        return env[expr.name]
    if isinstance(expr, Const):
        return ops.const(expr.value)
    if memo is not None and id(expr) in memo:
        return memo[id(expr)]
    args = [evaluate(a, env, ops, memo) for a in expr.args]
    value = getattr(ops, expr.prim)(*args)
    if memo is not None:
        memo[id(expr)] = value
    return value


def _add(ops, a, b):
    if a is None:
        return b
    return a if b is None else ops.add(a, b)


def jvp(expr, env, tangents, ops, trail=None, root=None):
    """Tangent of ``expr`` given tangents of leaves (missing or None = zero).

    Returns ``(value, tangent)``; rules used are appended to ``trail``.
    ``root``, when given, is the already-known value of ``expr`` itself
    (an equation's named output), used by rules written in terms of it.
    """
    if isinstance(expr, Var):
        return env[expr.name], tangents.get(expr.name)
    if isinstance(expr, Const):
        return ops.const(expr.value), None
    pairs = [jvp(a, env, tangents, ops, trail) for a in expr.args]
    args = [p[0] for p in pairs]
    ans = getattr(ops, expr.prim)(*args) if root is None else root
    out = None
    for i, (_, d) in enumerate(pairs):
        if d is None:
            continue
        if trail is not None:
            trail.append(RuleRef(expr.prim, i))
        if expr.prim == "concat":
            out = _add(ops, out, concat_jvp(ops, i, d, args))
        else:
            out = _add(ops, out, jvp_rule(expr.prim, i)(ops, d, ans, *args))
    return ans, out


def vjp(expr, env, g, ops, sink, trail=None, memo=None):
    """Push adjoint ``g`` of ``expr`` down to its leaves: ``sink(name, contribution)``."""
    if isinstance(expr, Var):
        sink(expr.name, g)
        return
    if isinstance(expr, Const):
        return
    memo = {} if memo is None else memo
    args = [evaluate(a, env, ops, memo) for a in expr.args]
    ans = evaluate(expr, env, ops, memo)
    for i, a in enumerate(expr.args):
        if isinstance(a, Const):
            continue
        if trail is not None:
            trail.append(RuleRef(expr.prim, i))
        rule = vjp_rule(expr.prim, len(args), i)
        vjp(a, env, rule(ops, g, ans, *args), ops, sink, trail, memo)


class Adjoints:
    """Accumulates adjoint contributions per name, in arrival order."""

    def __init__(self):
        self.parts = {}

    def __call__(self, name, contribution):
        self.parts.setdefault(name, []).append(contribution)

    def total(self, name, ops):
        out = None
        for p in self.parts.get(name, []):
            out = _add(ops, out, p)
        return out


def step_vjp(cell, env, seeds, ops, bar=None):
    """Reverse walk over one step of ``cell``.

    Parameters
    ----------
    env : dict
        Values of the input, the ``_prev`` states, parameters and every equation.
    seeds : dict
        Incoming adjoints of names (the states at t, from the future and the loss).
    bar : callable, optional
        ``bar(name, total)`` returns what to use as the adjoint of an equation's
        output: its total (default) or a fresh symbol standing for it.

    Returns
    -------
    Adjoints
        Contributions to every leaf: ``_prev`` states, input, parameters and equations.
    """
    adj = Adjoints()
    for name, g in seeds.items():
        adj(name, g)
    for eqn in reversed(cell.eqns):
        total = adj.total(eqn.name, ops)
        if total is None:
            continue
        g = bar(eqn.name, total) if bar else total
        memo = {id(eqn.expr): env[eqn.name]} if eqn.name in env else {}
        vjp(eqn.expr, env, g, ops, adj, memo=memo)
    return adj

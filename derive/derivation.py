"""Build a derivation: every formula comes from the cell's equations and the rule table.

A :class:`Derivation` is data (sections of steps, each ``lhs rel rhs`` with the
tags of the rules that justify it); :mod:`derive.render` turns it into LaTeX,
Markdown, text or JSON in English or Chinese.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy import Identity, MatrixSymbol
from sympy.matrices.expressions.diagonal import DiagMatrix

from .autodiff import evaluate, jvp
from .ir import App, free_vars, unique
from .notation import Chain, Norm, Partial, Power, Terms, Text, TimeProd, tsym
from .symops import MAT
from .symstep import symbols_of


@dataclass
class Step:
    """One line: ``lhs rel rhs``, justified by rule tags (``why``)."""

    lhs: object
    rhs: object
    why: tuple = ()
    rel: str = "="


@dataclass
class Section:
    """A titled group of steps; ``info`` holds facts the prose refers to."""

    key: str
    steps: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


@dataclass
class Derivation:
    """The whole derivation of one cell."""

    cell: object
    sections: list
    options: dict


def tags(trail, *extra) -> tuple:
    """Unique rule tags of a trail, chain rule first when several rules compose."""
    why = unique(r.why for r in trail)
    head = ("chain",) if len(trail) > 1 else ()
    return tuple(unique((*head, *why, *extra)))


class Frame:
    """Symbols of a cell at one time label (``now`` and the step ``before``)."""

    def __init__(self, cell, now="t", before="t-1", base=None):
        self.cell, self.now, self.before = cell, now, before
        self.base = base or symbols_of(cell)
        self.env = {n: self._at(n, s) for n, s in self.base.items()}

    def _at(self, name, s):
        c = self.cell
        if name in c.prev_names:
            return tsym(name[: -len("_prev")], self.before, s)
        if name in c.params or name in c.readout_params:
            return s
        return tsym(name, self.now, s)

    def __getitem__(self, name):
        return self.env[name]

    def bar(self, name, index=None):
        return tsym(f"{name}_bar", self.now if index is None else index, self.base[name])

    def identity(self, name):
        return Identity(self.base[name].shape[0])


def equations(cell, fr: Frame) -> Section:
    sec = Section("equations", info={"title": cell.title, "notes": cell.notes, "notes_zh": cell.notes_zh})
    for e in (*cell.eqns, *cell.readout):
        sec.steps.append(Step(fr[e.name], evaluate(e.expr, fr.env, MAT)))
    return sec


def local_jacobian(e, u, fr: Frame):
    """∂e/∂u holding every other name fixed, and the rules used."""
    trail = []
    _, d = jvp(e.expr, fr.env, {u: fr.identity(u)}, MAT, trail, root=fr[e.name])
    return d, trail


def local(cell, fr: Frame) -> Section:
    sec = Section("local")
    inner = set(cell.prev_names) | set(cell.eqn_names)
    for e in cell.eqns:
        for u in unique(n for n in free_vars(e.expr) if n in inner):
            d, trail = local_jacobian(e, u, fr)
            sec.steps.append(Step(Partial(fr[e.name], fr[u]), d, tags(trail)))
    return sec


def state_jacobians(cell, fr: Frame) -> dict:
    """Total ∂s_t/∂s'_{t-1} for every pair by forward chain rule over the equations."""
    out = {}
    for sp_ in cell.states:
        tang = {sp_ + "_prev": fr.identity(sp_ + "_prev")}
        for e in cell.eqns:
            tang[e.name] = jvp(e.expr, fr.env, tang, MAT, root=fr[e.name])[1]
        for s in cell.states:
            out[(s, sp_)] = tang[s]
    return out


def _chain_terms(cell, e, wrt, fr, live):
    inner = set(cell.prev_names) | set(cell.eqn_names)
    terms = []
    for u in unique(n for n in free_vars(e.expr) if n in inner and n in live):
        d_u = fr[u]
        terms.append(Partial(fr[e.name], d_u) if u == wrt else
                     Chain(Partial(fr[e.name], d_u), Partial(d_u, fr[wrt], True)))
    return terms


def state(cell, fr: Frame) -> Section:
    """Chain rule over the equation graph, equation by equation, then the totals."""
    sec = Section("state")
    totals = state_jacobians(cell, fr)
    for sp_ in cell.states:
        wrt, live = sp_ + "_prev", {sp_ + "_prev"}
        tang = {wrt: fr.identity(wrt)}
        for e in cell.eqns:
            tang[e.name] = jvp(e.expr, fr.env, tang, MAT, root=fr[e.name])[1]
            if tang[e.name] is None:
                continue
            terms = _chain_terms(cell, e, wrt, fr, live)
            live.add(e.name)
            if len(terms) > 1 or not isinstance(terms[0], Partial):
                sec.steps.append(Step(Partial(fr[e.name], fr[wrt], True), Terms(*terms), ("chain",)))
            total = e.name != wrt[: -len("_prev")] or len(terms) > 1
            sec.steps.append(Step(Partial(fr[e.name], fr[wrt], total), tang[e.name], ("substitute",)))
    sec.info["direct"] = direct_paths(cell, fr)
    sec.info["totals"] = totals
    if len(cell.states) > 1:
        blocks = [[totals[(s, q)] if totals[(s, q)] is not None else sp.ZeroMatrix(*fr.base[s].shape[:1] * 2)
                   for q in cell.states] for s in cell.states]
        sec.steps.append(Step(Partial(sp.Tuple(*(fr[s] for s in cell.states)),
                                      sp.Tuple(*(fr[s + "_prev"] for s in cell.states))),
                              sp.BlockMatrix(blocks), ("block",)))
    return sec


def direct_paths(cell, fr: Frame) -> dict:
    """For each state, ∂s_t/∂s_{t-1} through its own equation only (other names fixed)."""
    out = {}
    for s in cell.states:
        e = next(q for q in cell.eqns if q.name == s)
        if s + "_prev" in set(free_vars(e.expr)):
            out[s] = local_jacobian(e, s + "_prev", fr)[0]
    return out


def single_activation(cell):
    """(activation, recurrent weight) when s_t = act(... + W s_{t-1} ...), else None."""
    if len(cell.states) != 1:
        return None
    e = next(q for q in cell.eqns if q.name == cell.states[0])
    if not (isinstance(e.expr, App) and e.expr.prim in ("tanh", "sigmoid", "relu")):
        return None
    mats = [a for a in _walk(e.expr) if isinstance(a, App) and a.prim == "matmul"
            and getattr(a.args[1], "name", None) == cell.states[0] + "_prev"]
    return (e.expr.prim, mats[0].args[0].name) if len(mats) == 1 else None


def _has_param(expr, cell) -> bool:
    """True when a formula involves a parameter (a weight), not only gates and states."""
    return any(m.name in cell.params for m in expr.free_symbols if hasattr(m, "name"))


def _walk(expr):
    yield expr
    for a in getattr(expr, "args", ()):
        yield from _walk(a)


def product(cell, fr: Frame) -> Section:
    """∂s_t/∂s_k as a product of one-step Jacobians, and the norm bound."""
    from .bounds import gamma
    sec = Section("product")
    s = cell.output
    js = Frame(cell, "j", "j-1", fr.base)
    jac = state_jacobians(cell, js)
    one = jac[(s, s)] if len(cell.states) == 1 else Partial(
        sp.Tuple(*(js[q] for q in cell.states)), sp.Tuple(*(js[q + "_prev"] for q in cell.states)))
    k_sym = tsym(s, "k", fr.base[s])
    sec.steps.append(Step(Partial(fr[s] if len(cell.states) == 1 else sp.Tuple(*(fr[q] for q in cell.states)),
                                  k_sym if len(cell.states) == 1 else sp.Tuple(*(tsym(q, "k", fr.base[q]) for q in cell.states))),
                          TimeProd(one, "j", "k+1", "t"), ("chain", "product")))
    for q, d in direct_paths(cell, js).items():
        if len(cell.states) > 1 and d is not None and not _has_param(d, cell):
            sec.steps.append(Step(Partial(fr[q], tsym(q, "k", fr.base[q])), TimeProd(d, "j", "k+1", "t"),
                                  ("direct_path",)))
            sec.info.setdefault("direct", {})[q] = d
    act = single_activation(cell)
    if act:
        name, w = act
        g = gamma(name)
        W = fr.base[w]
        sec.info.update(activation=name, gamma=g, weight=w)
        sec.steps += [
            Step(Norm(DiagMatrix(MatrixSymbol(f"{name}'", *fr.base[s].shape))), g, ("gamma",), "≤"),
            Step(Norm(Partial(fr[s], k_sym)), Power(Chain(g, Norm(W)), "t-k"),
                 ("submultiplicative",), "≤"),
            Step(Text(r"\sigma_{\max}(%s) < 1/\gamma = %s" % (sp.latex(sp.Symbol(w)), sp.latex(1 / g)),
                      f"σmax({w}) < 1/γ = {1 / g}"),
                 Text(r"\text{vanishing}", "vanishing"), ("pascanu_vanish",), "⇒"),
            Step(Text(r"\sigma_{\max}(%s) > 1/\gamma = %s" % (sp.latex(sp.Symbol(w)), sp.latex(1 / g)),
                      f"σmax({w}) > 1/γ = {1 / g}"),
                 Text(r"\text{exploding possible}", "exploding possible"), ("pascanu_explode",), "⇐"),
        ]
    return sec

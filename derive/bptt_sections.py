"""Sections of a derivation about gradients: adjoint BPTT, forward mode, truncation, unrolling, 1-D.

All formulas come from the reverse walk (:func:`derive.autodiff.step_vjp`) or
the tangent walk (:func:`derive.autodiff.jvp`) over the cell's equations.
"""
from __future__ import annotations

import sympy as sp
from sympy import MatrixSymbol

from .autodiff import evaluate, jvp, step_vjp
from .derivation import Frame, Section, Step, single_activation, state_jacobians
from .notation import Chain, Partial, Terms, TimeProd, TimeSum, Transposed, tsym
from .symops import MAT, SCAL

INLINE_MAX_T = 4  # beyond this, substituted adjoints grow quadratically; name them δ_k instead


def delta(fr: Frame, s: str, index=None):
    """δ^s at a time index: the adjoint of state s arriving at that step."""
    return tsym(f"delta_{s}", fr.now if index is None else index, fr.base[s])


def _loss_term(cell, s, index, fr):
    return [Partial(tsym("L", index, MatrixSymbol("L", 1, 1)), tsym(s, index, fr.base[s]))] if s == cell.output else []


def adjoint(cell, fr: Frame) -> Section:
    """δ recursion backwards in time, the reverse walk of one step, parameter sums."""
    sec = Section("adjoint")
    nxt = Frame(cell, "t+1", "t", fr.base)
    jac = state_jacobians(cell, nxt) if single_activation(cell) else {
        (q, s): Partial(nxt[q], fr[s]) for q in cell.states for s in cell.states}
    for s in cell.states:
        terms = _loss_term(cell, s, "t", fr)
        terms += [Chain(sp.Transpose(jac[(q, s)]), delta(fr, q, "t+1")) for q in cell.states if jac[(q, s)] is not None]
        sec.steps.append(Step(delta(fr, s), Terms(*terms), ("adjoint_recursion",)))
    walk = _Recorder(cell, fr)
    adj = step_vjp(cell, fr.env, {s: delta(fr, s) for s in cell.states}, MAT, bar=walk)
    sec.steps += walk.steps
    for p in cell.prev_names:
        total = adj.total(p, MAT)
        if total is not None:
            s = p[: -len("_prev")]
            sec.steps.append(Step(delta(fr, s, "t-1"), Terms(*_loss_term(cell, s, "t-1", fr), total), ("adjoint_carry",)))
    for p in [cell.input, *cell.params]:
        total = adj.total(p, MAT)
        if total is not None:
            lhs = Partial(MatrixSymbol("L", 1, 1), fr[p])
            rhs = total if p == cell.input else TimeSum(total, "t", "1", "T")
            sec.steps.append(Step(lhs, rhs, ("param_sum",) if p != cell.input else ("input_adjoint",)))
    return sec


class _Recorder:
    """``bar`` callback of the reverse walk: records \\bar{e}_t = total, returns its symbol."""

    def __init__(self, cell, fr):
        self.cell, self.fr, self.steps = cell, fr, []

    def __call__(self, name, total):
        if name in self.cell.states and total == delta(self.fr, name):
            return total
        sym = self.fr.bar(name)
        self.steps.append(Step(sym, total, ("reverse_walk",)))
        return sym


def forward_mode(cell, fr: Frame) -> Section:
    """ṡ_t = (∂s_t/∂s_{t-1}) ṡ_{t-1} + (∂s_t/∂θ) θ̇ for a recurrent weight θ."""
    sec = Section("forward_mode")
    theta = _recurrent_weight(cell)
    if theta is None:
        return sec
    tang = {p: tsym(p[:-5] + "_dot", "t-1", fr.base[p]) for p in cell.prev_names}
    tang[theta] = MatrixSymbol(theta + "_dot", *fr.base[theta].shape)
    for e in cell.eqns:
        tang[e.name] = jvp(e.expr, fr.env, tang, MAT, root=fr[e.name])[1]
    sec.info["theta"] = theta
    for s in cell.states:
        sec.steps.append(Step(tsym(s + "_dot", "t", fr.base[s]), tang[s], ("forward_mode",)))
    return sec


def _recurrent_weight(cell):
    sq = [p for p in cell.params if cell.shapes[p] == ("n_h", "n_h")]
    return sq[0] if sq else None


def truncated(cell, fr: Frame, K: int) -> Section:
    """Truncated BPTT: only the last K one-step Jacobians carry the gradient back.

    Written in the gradient (column) form of the adjoint section; for cells with
    several states the product is over the joint state Jacobians.
    """
    sec = Section("truncated", info={"K": K})
    theta = _recurrent_weight(cell) or cell.params[0]
    js = Frame(cell, "j", "j-1", fr.base)
    if single_activation(cell):
        s = cell.output
        J, now, at_k = state_jacobians(cell, js)[(s, s)], fr[s], tsym(s, "k", fr.base[s])
    else:
        tup = lambda f, suffix="": sp.Tuple(*(f(q) for q in cell.states))
        J = Partial(tup(lambda q: js[q]), tup(lambda q: js[q + "_prev"]))
        now, at_k = tup(lambda q: fr[q]), tup(lambda q: tsym(q, "k", fr.base[q]))
    L = tsym("L", "t", MatrixSymbol("L", 1, 1))
    term = Chain(Transposed(Partial(at_k, fr.base[theta])), Transposed(TimeProd(J, "j", "k+1", "t")), Partial(L, now))
    dL = Partial(MatrixSymbol("L", 1, 1), fr.base[theta])
    sec.steps += [Step(dL, TimeSum(TimeSum(term, "k", "1", "t"), "t", "1", "T"), ("bptt_sum",)),
                  Step(dL, TimeSum(TimeSum(term, "k", f"t-{K - 1}", "t"), "t", "1", "T"), ("truncate",), "≈")]
    return sec


def unrolled(cell, T: int) -> Section:
    """Gradients of L_T written out over T concrete steps (adjoints substituted)."""
    sec = Section("unrolled", info={"T": T})
    frames = [Frame(cell, str(t), str(t - 1)) for t in range(1, T + 1)]
    last = frames[-1]
    seeds = _loss_seeds(cell, last, sec)
    grads, inline = {}, bool(single_activation(cell)) and T <= INLINE_MAX_T
    for fr in reversed(frames):
        if not inline and fr is not last:
            seeds = {s: delta(fr, s) for s in seeds}
        adj = step_vjp(cell, fr.env, seeds, MAT)
        for p in cell.params:
            g = adj.total(p, MAT)
            if g is not None:
                grads.setdefault(p, []).insert(0, g)
        seeds = {s: adj.total(s + "_prev", MAT) for s in cell.states}
        seeds = {s: g for s, g in seeds.items() if g is not None}
        if not inline and fr.before != "0":
            for s, g in seeds.items():
                sec.steps.append(Step(delta(fr, s, fr.before), g, ("adjoint_carry",)))
    LT = MatrixSymbol(f"L[{T}]", 1, 1)
    for p, parts in grads.items():
        sec.steps.append(Step(Partial(LT, last.base[p]), Terms(*parts), ("unrolled",)))
    return sec


def _loss_seeds(cell, fr, sec):
    """Adjoint of the output state at the last step: through the readout when the cell has one."""
    s = cell.output
    if not cell.readout:
        return {s: delta(fr, s)}
    env = dict(fr.env)
    for e in cell.readout:
        env[e.name] = fr[e.name]
    one = sp.S.One
    seeds = {}
    adj = _readout_vjp(cell, env, one)
    for p in cell.readout_params:
        g = adj.total(p, MAT)
        if g is not None:
            sec.steps.append(Step(Partial(MatrixSymbol(f"L[{fr.now}]", 1, 1), fr.base[p]), g, ("readout",)))
    seeds[s] = adj.total(s, MAT)
    sec.steps.insert(0, Step(Partial(MatrixSymbol(f"L[{fr.now}]", 1, 1), fr[s]), seeds[s], ("readout", "xent")))
    return seeds


def _readout_vjp(cell, env, one):
    from .autodiff import Adjoints, vjp
    adj = Adjoints()
    adj(cell.readout[-1].name, one)
    for e in reversed(cell.readout):
        total = adj.total(e.name, MAT)
        if total is not None:
            vjp(e.expr, env, total, MAT, adj, memo={id(e.expr): env[e.name]})
    return adj


def scalar(cell) -> Section:
    """The 1-D case: every size is 1, so Jacobians are numbers."""
    sec = Section("scalar")
    if any(a.prim in ("concat", "softmax", "xent") for e in cell.eqns for a in _apps(e.expr)):
        return sec
    sym = {n: sp.Symbol(_scalar_name(cell, n)) for n in cell.shapes}
    env = dict(sym)
    for e in cell.eqns:
        sec.steps.append(Step(sym[e.name], evaluate(e.expr, env, SCAL), ()))
    s = cell.output
    tang = {s + "_prev": sp.Integer(1)}
    for e in cell.eqns:
        tang[e.name] = jvp(e.expr, env, tang, SCAL, root=sym[e.name])[1]
    J = tang[s] if len(cell.states) == 1 else None
    if J is not None:
        sec.steps.append(Step(Partial(sym[s], sym[s + "_prev"]), J, ("chain",)))
        theta = _recurrent_weight(cell)
        if theta:
            _scalar_forward(cell, env, sym, theta, sec)
    return sec


def _scalar_forward(cell, env, sym, theta, sec):
    s = cell.output
    dprev = sp.Symbol(f"d{s}_prev/d{theta}")
    tang = {s + "_prev": dprev, theta: sp.Integer(1)}
    for e in cell.eqns:
        tang[e.name] = jvp(e.expr, env, tang, SCAL, root=sym[e.name])[1]
    sec.info["theta"] = theta
    sec.steps.append(Step(Partial(sym[s], sym[theta], True), tang[s], ("forward_mode",)))


def _scalar_name(cell, n):
    if n in cell.prev_names:
        return f"{n[:-5]}[t-1]"
    if n in cell.params:
        return n
    return f"{n}[t]"


def _apps(expr):
    if hasattr(expr, "prim"):
        yield expr
        for a in expr.args:
            yield from _apps(a)


def bidirectional(cell) -> Section:
    """The backward direction of a bidirectional layer and how the two directions combine."""
    from .compose import reverse_direction
    sec = Section("bidirectional")
    bw = reverse_direction(cell)
    fw_fr, fr = Frame(cell), Frame(bw, "t", "t+1")
    top = tsym("out", "t", MatrixSymbol("out", 1, 1))
    sec.steps.append(Step(top, sp.BlockMatrix([[fw_fr[cell.output]], [fr[bw.output]]]), ("concat_out",)))
    for e in bw.eqns:
        sec.steps.append(Step(fr[e.name], evaluate(e.expr, fr.env, MAT), ("reverse_time",)))
    adj = step_vjp(bw, fr.env, {s: delta(fr, s) for s in bw.states}, MAT)
    for p in bw.prev_names:
        total = adj.total(p, MAT)
        if total is not None:
            s = p[: -len("_prev")]
            sec.steps.append(Step(delta(fr, s, "t+1"), Terms(*_loss_term(bw, s, "t+1", fr), total), ("adjoint_forward",)))
    fw = step_vjp(cell, fw_fr.env, {s: delta(fw_fr, s) for s in cell.states}, MAT).total(cell.input, MAT)
    back = adj.total(bw.input, MAT)
    parts = [g for g in (fw, back) if g is not None]
    sec.steps.append(Step(Partial(MatrixSymbol("L", 1, 1), fr[bw.input]), Terms(*parts), ("input_sum",)))
    return sec

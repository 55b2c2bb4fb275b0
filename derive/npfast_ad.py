"""Middle end of the fast NumPy engine: forward and adjoint programs from the rule table.

The optimised graph (:mod:`derive.npfast_ir`) becomes a flat *program* of
instructions, each tagged with the phase it runs in:

====== =============================================================
const  once, parameters only (e.g. concatenated gate weights)
pre    once, on the whole sequence stacked as T*B columns (hoisted)
fwd    inside the forward time loop, one step
bwd    inside the backward time loop, one step (the adjoint recursion)
post   once after the loop, stacked over all T*B columns
final  once, parameter-sized (reductions, parameter-only nodes)
====== =============================================================

The adjoint program is *traced*: every primitive's adjoint rule from
:data:`derive.rules.VJP` is called with :class:`Tracer`, an ``ops`` object that
records instructions instead of computing.  The phase of a contribution
follows from what it feeds: adjoints of recurrent nodes are needed by the
recursion (``bwd``); contributions to non-recurrent nodes, the input and the
parameters are deferred to ``post``, where they run for all time steps at once,
so ``sum_t a_bar_t h_{t-1}^T`` is one matrix product over T*B columns.
"""
from __future__ import annotations

from dataclasses import dataclass

from .npfast_ir import BATCH, LEAVES, Q, R, S, op_shape
from .rules import vjp_rule

STEP = ("fwd", "bwd")
STACKED = ("pre", "post")
ORDER = {p: k for k, p in enumerate(("const", "pre", "fwd", "bwd", "post", "final"))}
VIEWS = ("T", "rows")
FWD_PHASE = {S: "const", Q: "pre", R: "fwd"}
ADJ_PHASE = {S: "final", Q: "post", R: "bwd"}


class Val:
    """A reference to the result of instruction ``id``."""

    __slots__ = ("id",)

    def __init__(self, i):
        self.id = i

    def __repr__(self):
        return f"v{self.id}"


@dataclass
class Ins:
    op: str
    args: tuple
    shape: tuple    # logical (rows, cols), cols may be BATCH
    phase: str
    attr: object = None


class Program:
    """Instructions in creation order; traced ops are hash-consed per phase."""

    def __init__(self):
        self.ins, self.memo = [], {}

    def emit(self, op, args, phase, shape=None, attr=None, fresh=False) -> Val:
        args = tuple(args)
        key = (op, tuple(a.id if isinstance(a, Val) else ("c", a) for a in args), phase, attr)
        if not fresh and key in self.memo:
            return self.memo[key]
        if shape is None:
            shape = op_shape(op, [self.shape(a) for a in args if a is not None], attr)
        self.ins.append(Ins(op, args, shape, phase, attr))
        v = Val(len(self.ins) - 1)
        if not fresh:
            self.memo[key] = v
        return v

    def shape(self, a):
        return self.ins[a.id].shape if isinstance(a, Val) else None

    def __getitem__(self, v):
        return self.ins[v.id]


class Tracer:
    """The ``ops`` interface of :mod:`derive.rules`, recording into a program."""

    def __init__(self, prog):
        self.prog, self.phase = prog, None

    def _op(self, name, *args, attr=None):
        return self.prog.emit(name, args, self.phase, attr=attr)

    def __getattr__(self, name):
        if name in ("tanh", "sigmoid", "relu", "exp", "log", "softplus", "softmax", "step",
                    "recip", "neg", "colsum"):
            return lambda a: self._op(name, a)
        if name in ("add", "sub", "mul", "scale", "matmul", "outer_scale"):
            return lambda a, b: self._op(name, a, b)
        raise AttributeError(name)

    def T(self, a):
        return self._op("T", a)

    def concat(self, *parts):
        return self._op("concat", *parts)

    def rows(self, g, start, stop):
        return self._op("rows", g, attr=(int(start), int(stop)))

    def nrows(self, a):
        return self.prog.shape(a)[0]

    @staticmethod
    def const(value, dtype=None):
        return float(value)


def forward_program(g, cls, shp, prog) -> list:
    """One instruction per graph node (constants stay Python floats); returns node -> Val/float."""
    vals = []
    for i, n in enumerate(g.nodes):
        if n.op == "const":
            vals.append(n.attr)
            continue
        op, attr = ("rows", n.attr) if n.op == "split" else (n.op, n.attr)
        vals.append(prog.emit(op, [vals[a] for a in n.args], FWD_PHASE[cls[i]], shp[i], attr, fresh=True))
    return vals


@dataclass
class Adjoint:
    """Outputs of the adjoint program."""

    seeds: list      # per state: the bwd-phase seed instruction
    carries: list    # per state: adjoint of its _prev leaf (bwd), or None
    x_bar: object    # post-phase adjoint of the input, or None
    params: dict     # name -> final-phase adjoint, or None


def _contrib_phase(node_cls, arg_cls):
    if arg_cls == S and node_cls != S:
        return "post"
    return ADJ_PHASE[arg_cls]


class _Acc:
    """Contributions per node; totals are sums emitted in the node's adjoint phase."""

    def __init__(self, prog, g, cls, shp):
        self.prog, self.g, self.cls, self.shp = prog, g, cls, shp
        self.parts, self.pieces = {}, {}
        self.splits = {}
        for i, n in enumerate(g.nodes):
            if n.op == "split":
                self.splits.setdefault(n.args[0], []).append(i)

    def add(self, i, c):
        self.parts.setdefault(i, []).append(c)

    def total(self, i):
        phase = ADJ_PHASE[self.cls[i]]
        out = None
        if i in self.splits:
            pieces = [self.pieces.get(k) for k in self.splits[i]]
            if any(p is not None for p in pieces):
                ranges = tuple(self.g.nodes[k].attr for k in self.splits[i])
                out = self.prog.emit("assemble", pieces, phase, self.shp[i], ranges, fresh=True)
        for c in self.parts.get(i, []):
            out = c if out is None else self.prog.emit("add", (out, c), phase)
        return out


def adjoint_program(g, cls, shp, vals, prog) -> Adjoint:
    """Reverse walk over the graph, every contribution traced from the rule table."""
    acc, tracer = _Acc(prog, g, cls, shp), Tracer(prog)
    states = list(g.states.items())
    seeds = [prog.emit("seed", (), "bwd", shp[i], k, fresh=True) for k, (_, i) in enumerate(states)]
    for seed, (_, i) in zip(seeds, states):
        acc.add(i, seed)
    for i in reversed(range(len(g.nodes))):
        n = g.nodes[i]
        if n.op in LEAVES:
            continue
        gbar = acc.total(i)
        if gbar is None:
            continue
        if n.op == "split":
            acc.pieces[i] = gbar
            continue
        args = [vals[a] for a in n.args]
        for k, a in enumerate(n.args):
            if g.nodes[a].op == "const":
                continue
            tracer.phase = _contrib_phase(cls[i], cls[a])
            c = vjp_rule(n.op, len(args), k)(tracer, gbar, vals[i], *args)
            if tracer.phase == "post" and cls[a] == S:
                c = prog.emit("sum_to", (c,), "final", shp[a])
            acc.add(a, c)
    leaves = {n.op: [] for n in g.nodes}
    for i, n in enumerate(g.nodes):
        leaves.setdefault(n.op, []).append(i)
    prev = {g.nodes[i].attr: i for i in leaves.get("prev", [])}
    carries = [acc.total(prev[k]) if k in prev else None for k in range(len(states))]
    x_bar = next((acc.total(i) for i in leaves.get("x", [])), None)
    params = {g.nodes[i].attr: acc.total(i) for i in leaves.get("param", [])}
    return Adjoint(seeds, carries, x_bar, params)


def build(g, cls, shp):
    """The whole program: forward instructions, then the traced adjoint."""
    prog = Program()
    vals = forward_program(g, cls, shp, prog)
    adj = adjoint_program(g, cls, shp, vals, prog)
    return prog, vals, adj


def check_batch(prog):
    """Every per-step value must have batch columns (one column per example)."""
    for ins in prog.ins:
        if ins.phase in STEP and ins.op not in VIEWS and (ins.shape is None or ins.shape[1] != BATCH):
            raise ValueError(f"per-step value {ins.op} has shape {ins.shape}; expected batch columns")

"""Memory plan of the fast NumPy engine: where every value of a program lives.

Storage is *batch-major*: a logical (n, B) value is held as its transpose, a
C-contiguous (B, n) array, so a whole sequence is one (T*B, n) array whose step
t is the contiguous block ``[t]`` of its (T, B, n) view.

* Hoisted (``pre``) and deferred (``post``) instructions allocate, or write in
  place over an argument that dies there (``inplace``); a result's *region* is
  the allocation and column range it lives in.
* A value computed inside a time loop and read by another phase needs one slot
  per step.  Slots are coloured by liveness *per time slot*: step t of a value
  is written at one instruction of loop iteration t and last read at a later
  instruction (of the same or a later phase), so a value may take the columns of
  an older one whose slot-t reads are all over by then.  Forward gate values
  thus overwrite their own hoisted pre-activations, and adjoints overwrite the
  forward values they no longer need: one (T, B, 4 n_h) array serves the LSTM
  from ``W x + b`` to the gate adjoints that feed ``dW``, ``dU`` and ``dx``.
* States live in (T+1, B, n) arrays (slot 0 is the initial state).
* A forward value that is one elementwise op of values the backward loop has
  anyway (``tanh(c_t)`` of the stored state) is recomputed there, not stored.
* A piece of an ``assemble`` (the adjoint of a fused matmul) is written straight
  into its columns of the assembled buffer; other in-loop values get a (B, n)
  scratch buffer allocated once per call.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .npfast_ad import ORDER, STACKED, STEP, VIEWS, Val
from .npfast_ir import BATCH

UFUNC = ("tanh", "exp", "log", "neg", "add", "sub", "mul", "scale", "relu", "step", "recip",
         "softplus", "sigmoid")
ALLOCATING = UFUNC + ("softmax", "outer_scale", "colsum", "matmul", "concat")


@dataclass
class Loc:
    """Slots of a value: ``arr[t + off]`` (a (B, width) block), columns ``cols`` of it."""

    arr: str
    off: int
    width: int
    flat: str              # the (T*B, width) expression of all T slots
    cols: tuple = None
    pre_root: int = None   # id of the hoisted allocation it lives in, if any

    def sub(self, c0, c1):
        base = self.cols[0] if self.cols else 0
        if base + c0 == 0 and c1 - c0 == self.width:
            return Loc(self.arr, self.off, self.width, self.flat, None, self.pre_root)
        return Loc(self.arr, self.off, self.width, self.flat, (base + c0, base + c1), self.pre_root)


@dataclass
class Root:
    loc: Loc
    phase: str                      # where it is allocated: pre (hoisted), fwd or bwd
    occupants: list = field(default_factory=list)   # (c0, c1, last read position)
    zeros: bool = False             # allocate zero-filled (an assemble with missing pieces)
    hosts: bool = False             # holds slots of in-loop values


class Plan:
    """Uses, in-place decisions, slots and scratch buffers of every value of a program."""

    def __init__(self, prog, states, adj):
        self.prog, self.states, self.adj = prog, states, adj
        self.state_of = {v.id: k for k, v in enumerate(states)}
        self.last, self.phases, self._views = {}, {}, {}
        self._uses()
        self.remat = set()
        self._rematerialize()
        self.inplace, self.region = {}, {}
        self._inplace()
        self.loc, self.slot, self.piece_of, self.roots, self.zero_fill = {}, {}, {}, [], {}
        self._storage()

    # ---- uses --------------------------------------------------------------
    def pos(self, i):
        return (ORDER[self.prog.ins[i].phase], i)

    def _use(self, v, phase, pos):
        while True:
            self.phases.setdefault(v.id, set()).add(phase)
            self.last[v.id] = max(self.last.get(v.id, pos), pos)
            if self.prog[v].op not in VIEWS:
                return
            v = self.prog[v].args[0]

    def _uses(self):
        for i, ins in enumerate(self.prog.ins):
            for a in ins.args:
                if isinstance(a, Val):
                    self._views.setdefault(a.id, set()).add(i)
                    if ins.op not in VIEWS:
                        self._use(a, ins.phase, (ORDER[ins.phase], i))
        end = len(self.prog.ins)
        outs = [(v, "fwd") for v in self.states] + [(v, "bwd") for v in self.adj.carries if v]
        outs += [(self.adj.x_bar, "post")] + [(v, "final") for v in self.adj.params.values()]
        for v, phase in outs:
            if v is not None:
                self._use(v, phase, (ORDER[phase], end))

    def crosses(self, i):
        ins = self.prog.ins[i]
        return ins.phase in STEP and i not in self.remat and bool(self.phases.get(i, set()) - {ins.phase})

    def _rematerialize(self):
        """Forward values that are one elementwise op of values the backward loop has anyway
        (states, stored values, parameters) are recomputed there instead of stored: ``tanh(c_t)``."""
        for i, ins in enumerate(self.prog.ins):
            if ins.phase == "fwd" and ins.op in UFUNC and i not in self.state_of and \
                    self.phases.get(i, set()) == {"fwd", "bwd"} and all(self._free_in_bwd(a) for a in ins.args):
                self.remat.add(i)
                for a in ins.args:          # read first thing in each backward step
                    if isinstance(a, Val):
                        self._use(a, "bwd", (ORDER["bwd"], -1))

    def _free_in_bwd(self, a):
        if not isinstance(a, Val):
            return True
        ins = self.prog[a]
        return (a.id in self.state_of or ins.op == "prev" or ins.phase == "const"
                or (ins.phase == "fwd" and ins.op not in VIEWS and self.crosses(a.id)))

    # ---- hoisted / deferred: allocate or overwrite a dying argument --------
    def _inplace(self):
        for i, ins in enumerate(self.prog.ins):
            if ins.phase not in STACKED or ins.op not in ALLOCATING:
                continue
            target = self._target(i, ins) if ins.op in UFUNC else None
            if target is not None:
                self.inplace[i] = target
                self.region[i] = self.region_of(target)
            else:
                self.region[i] = (i, 0, ins.shape[0])

    def region_of(self, v):
        ins = self.prog[v]
        if ins.op == "rows":
            r, c0, _ = self.region_of(ins.args[0])
            return (r, c0 + ins.attr[0], c0 + ins.attr[1])
        if ins.op == "T":
            return self.region_of(ins.args[0])
        return self.region[v.id]

    def _target(self, i, ins):
        for a in ins.args:
            if not isinstance(a, Val) or self.last.get(a.id) != self.pos(i) or self.prog[a].shape != ins.shape:
                continue
            src = self.prog[a]
            if src.phase != ins.phase:
                continue
            if a.id in self.region:
                return a
            if src.op == "rows" and src.args[0].id in self.region and self._disjoint_views(src.args[0].id):
                return a
        return None

    def _disjoint_views(self, z):
        """Is ``z`` read only through pairwise disjoint row views (pieces of a fused matmul)?"""
        users = [self.prog.ins[u] for u in self._views.get(z, ())]
        if any(u.op != "rows" for u in users):
            return False
        spans = sorted(u.attr for u in users)
        return all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))

    # ---- per-step values ----------------------------------------------------
    def _storage(self):
        for i, ins in enumerate(self.prog.ins):
            k = self.state_of.get(i, ins.attr if ins.op == "prev" else None)
            if i in self.state_of or ins.op == "prev":
                n, off = ins.shape[0], 1 if i in self.state_of else 0
                self.loc[i] = Loc(f"H{k}", off, n, f"H{k}[{off}:{off} + T].reshape(T * B, {n})")
        self._pre_roots()
        items = []
        for i, ins in enumerate(self.prog.ins):
            if ins.op == "assemble" and ins.phase == "bwd":
                items += self._assemble(i, ins)
        for i, ins in enumerate(self.prog.ins):
            if i not in self.loc and i not in self.slot and i not in self.piece_of and \
                    ins.op not in VIEWS + ("assemble",) and self.crosses(i):
                items.append((self.pos(i), i, [(0, ins.shape[0], self.pos(i), ins.op in UFUNC)]))
        for _, i, subs in sorted(items):
            self._place(i, subs)

    def _pre_roots(self):
        for i, (r, c0, c1) in self.region.items():
            ins = self.prog.ins[r]
            if ins.phase != "pre" or ins.shape[1] != BATCH:
                continue
            if not any(root.loc.pre_root == r for root in self.roots):
                w = ins.shape[0]
                self.roots.append(Root(Loc(f"p{r}", 0, w, f"v{r}", None, r), "pre"))
            root = next(root for root in self.roots if root.loc.pre_root == r)
            root.occupants.append((c0, c1, self.last.get(i, self.pos(i))))

    def _homeable(self, p, phase):
        ins = self.prog[p]
        return (ins.phase == phase and ins.op in UFUNC and p.id not in self.loc
                and p.id not in self.slot and p.id not in self.piece_of and p.id not in self.state_of)

    def _assemble(self, i, ins):
        """Pieces written into their columns; a stored assemble becomes one slot item."""
        pieces = []
        for k, (p, r) in enumerate(zip(ins.args, ins.attr)):
            if p is not None and self._homeable(p, ins.phase):
                pieces.append((k, p, r))
                self.piece_of[p.id] = (i, k)     # a value used as two pieces is homed at the first
        if not (self.crosses(i) or any(self.crosses(p.id) for _, p, _ in pieces)):
            for _, p, r in pieces:
                del self.piece_of[p.id]
                self.slot[p.id] = (i, r)
            return []
        subs = [(s, e, self.pos(p.id), True) if self.homed(p, i, k) else (s, e, self.pos(i), False)
                for k, (p, (s, e)) in enumerate(zip(ins.args, ins.attr))]
        return [(min(sub[2] for sub in subs), i, subs)]

    def homed(self, p, i, k):
        """Is piece ``k`` of assemble ``i`` computed in place (no copy)?"""
        return p is not None and (self.piece_of.get(p.id) == (i, k) or
                                  self.slot.get(p.id) == (i, self.prog.ins[i].attr[k]))

    def _place(self, i, subs):
        ins = self.prog.ins[i]
        width = ins.shape[0]
        pieces = [p for k, p in enumerate(ins.args) if ins.op == "assemble" and self.homed(p, i, k)]
        last = max([self.last.get(i, self.pos(i))] + [self.last.get(p.id, self.pos(p.id)) for p in pieces])
        for root in self.roots:
            for b in sorted({0} | {o[0] for o in root.occupants}):
                if b + width <= root.loc.width and self._free(root, b, subs):
                    self._claim(i, ins, root, b, width, last)
                    return
        phase = ins.phase
        self.roots.append(Root(Loc(f"S{i}", 0, width, f"S{i}.reshape(T * B, {width})"), phase))
        self._claim(i, ins, self.roots[-1], 0, width, last, fresh=True)

    @staticmethod
    def _free(root, b, subs):
        for c0, c1, wpos, same_ok in subs:
            for o0, o1, olast in root.occupants:
                if o0 < b + c1 and b + c0 < o1 and not (olast < wpos or (same_ok and olast == wpos)):
                    return False
        return True

    def _claim(self, i, ins, root, b, width, last, fresh=False):
        root.occupants.append((b, b + width, last))
        root.hosts = True
        self.loc[i] = root.loc.sub(b, b + width)
        if ins.op != "assemble":
            return
        for k, (p, (s, e)) in enumerate(zip(ins.args, ins.attr)):
            if p is None and not fresh:
                self.zero_fill.setdefault(i, []).append((s, e))
            elif self.homed(p, i, k):
                self.loc[p.id] = self.loc[i].sub(s, e)
        if fresh and None in ins.args:
            root.zeros = True

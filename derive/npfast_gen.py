"""Back end of the fast NumPy engine: Python/NumPy source for a planned program.

Values are batch-major (see :mod:`derive.npfast_plan`): a logical (n, B) value
is stored as a (B, n) array, parameters are used through their transposes
(views), and a logical ``A @ v`` is emitted as ``v_s @ A_s``, so a product over
the whole sequence is one GEMM on (T*B, n) arrays.  In-loop instructions write
with ``out=`` into their planned slot or scratch buffer; nothing is allocated
inside a time loop.  The emitted code calls NumPy (ufuncs with the semantics of
:class:`derive.npops.NumpyOps`) and falls back to ``NumpyOps`` itself for any
other elementwise operation.
"""
from __future__ import annotations

from .npfast_ad import STACKED, STEP, VIEWS, Val

TEMPLATES = {"tanh": "np.tanh({0}{o})", "exp": "np.exp({0}{o})", "log": "np.log({0}{o})",
             "neg": "np.negative({0}{o})", "add": "np.add({0}, {1}{o})", "sub": "np.subtract({0}, {1}{o})",
             "mul": "np.multiply({0}, {1}{o})", "scale": "np.multiply({0}, {1}{o})",
             "relu": "np.maximum({0}, 0.0{o})", "step": "np.heaviside({0}, 0.0{o})",
             "recip": "np.divide(1.0, {0}{o})", "softplus": "np.logaddexp(0.0, {0}{o})",
             "sigmoid": "_sigmoid({0}{o})", "softmax": "_softmax({0}{o})",
             "outer_scale": "_outer_scale({0}, {1}{o})", "colsum": "np.sum({0}, axis=-1, keepdims=True{o})",
             "matmul": "np.matmul({1}, {0}{o})"}
CONTIGUOUS_OUT = ("matmul", "colsum", "softmax", "outer_scale")


def base(prog, v):
    while prog[v].op in VIEWS:
        v = prog[v].args[0]
    return v


def _cols(loc):
    return f"[:, {loc.cols[0]}:{loc.cols[1]}]" if loc.cols else ""


class Emitter:
    """Statements and references; ``bind`` collects per-function/per-iteration names."""

    def __init__(self, prog, plan, obar_mask):
        self.prog, self.plan, self.obar = prog, plan, set(obar_mask)
        self.bind = {k: {} for k in ("fwd", "bwd", "post", "pre_fwd", "pre_bwd")}

    def ref(self, a, phase):
        if not isinstance(a, Val):
            return repr(float(a))
        ins = self.prog[a]
        if ins.op == "T":
            return f"{self.ref(ins.args[0], phase)}.T"
        if ins.op == "rows":
            s, e = ins.attr
            return f"{self.ref(ins.args[0], phase)}[:, {s}:{e}]"
        if ins.phase == phase or ins.phase == "const" or (ins.phase in STACKED and phase not in STEP):
            return f"v{a.id}"
        if ins.phase == "pre":                      # a hoisted value, one step of it
            self.bind[phase].setdefault(f"u{a.id}", f"p{a.id}[t]")
            self.bind["pre_" + phase].setdefault(f"p{a.id}", f"v{a.id}.reshape(T, B, -1)")
            return f"u{a.id}"
        if phase == "bwd" and a.id in self.plan.remat:   # recomputed at the top of the step
            if f"w{a.id}" not in self.bind["bwd"]:
                args = [self.ref(b, "bwd") for b in ins.args]
                self.bind["bwd"][f"w{a.id}"] = self.call(ins, args, f"r{a.id}")
            return f"w{a.id}"
        if phase == "bwd":                          # a forward value, read back from its slot
            self.bind["bwd"].setdefault(f"w{a.id}", self.step_view(a.id, "bwd"))
            return f"w{a.id}"
        self.bind["post"].setdefault(f"q{a.id}", self.stacked_view(a.id))   # all steps at once
        return f"q{a.id}"

    def step_view(self, i, fn):
        loc = self.plan.loc[i]
        if loc.pre_root is not None:
            self.bind["pre_" + fn].setdefault(loc.arr, f"v{loc.pre_root}.reshape(T, B, {loc.width})")
        return f"{loc.arr}[t{' + 1' if loc.off else ''}]" + _cols(loc)

    def stacked_view(self, i):
        loc = self.plan.loc[i]
        return loc.flat + _cols(loc)

    def home(self, i, fn):
        if i in self.plan.loc:
            return self.step_view(i, fn)
        if i in self.plan.slot:
            a, (s, e) = self.plan.slot[i]
            return f"v{a}[:, {s}:{e}]"
        return f"t{i}"

    def call(self, ins, args, out):
        o = f", out={out}" if out else ""
        if ins.op in TEMPLATES:
            return TEMPLATES[ins.op].format(*args, o=o)
        if ins.op == "concat":
            return f"np.concatenate(({', '.join(args)},), axis=-1{o})"
        if ins.op == "sum_to":
            return self.sum_to(ins, args[0])
        return f"NP.{ins.op}({', '.join(args)})"     # NumpyOps, for anything elementwise

    def sum_to(self, ins, src):
        arg = self.prog[ins.args[0]].shape
        if arg[1] != ins.shape[1]:
            src = f"np.sum({src}, axis=0, keepdims=True)"
        if arg[0] != ins.shape[0]:
            src = f"np.sum({src}, axis=-1, keepdims=True)"
        return src

    def step_stmt(self, i, ins, phase):
        args = [self.ref(a, phase) for a in ins.args]
        home = self.home(i, phase)
        if ins.op == "seed":
            k = ins.attr
            if k in self.obar:
                return [f"v{i} = np.add(OB{k}[t], carry{k}, out={home})"]
            return [f"v{i} = {home}", f"np.copyto(v{i}, carry{k})"]
        if ins.op == "assemble":
            return self.assemble_step(i, ins, args)
        sliced = i in self.plan.slot or (i in self.plan.loc and self.plan.loc[i].cols)
        if ins.op in TEMPLATES and not (ins.op in CONTIGUOUS_OUT and sliced):
            return [f"v{i} = {self.call(ins, args, home)}"]
        return [f"v{i} = {home}", f"np.copyto(v{i}, {self.call(ins, args, None)})"]

    def assemble_step(self, i, ins, args):
        lines = [f"v{i}[:, {s}:{e}] = 0.0" for s, e in self.plan.zero_fill.get(i, [])]
        for k, (p, src, (s, e)) in enumerate(zip(ins.args, args, ins.attr)):
            if p is not None and not self.plan.homed(p, i, k):
                lines.append(f"np.copyto(v{i}[:, {s}:{e}], {src})")
        return lines

    def stacked_stmt(self, i, ins, phase):
        if ins.op == "x":
            return [f"v{i} = X2"]
        if ins.op == "param":
            return [f"v{i} = P[{ins.attr!r}].T"]
        args = [self.ref(a, phase) for a in ins.args]
        if ins.op == "assemble":
            return [f"v{i} = {self.assemble_stacked(ins, args)}"]
        target = self.plan.inplace.get(i)
        return [f"v{i} = {self.call(ins, args, self.ref(target, phase) if target else None)}"]

    def assemble_stacked(self, ins, args):
        """The adjoint of a hoisted fused matmul: a view when its pieces sit side by side in one slot array."""
        locs = [self.plan.loc.get(p.id) if p is not None else None for p in ins.args]
        if None not in locs and len({(loc.arr, loc.off) for loc in locs}) == 1 and all(loc.cols for loc in locs):
            c0 = locs[0].cols[0]
            if all(loc.cols == (c0 + s, c0 + e) for loc, (s, e) in zip(locs, ins.attr)):
                full = c0 == 0 and ins.shape[0] == locs[0].width
                return locs[0].flat + ("" if full else f"[:, {c0}:{c0 + ins.shape[0]}]")
        parts = [src if p is not None else f"np.zeros((T * B, {e - s}), dt)"
                 for p, src, (s, e) in zip(ins.args, args, ins.attr)]
        return f"np.concatenate(({', '.join(parts)},), axis=1)"


class Source:
    """The two generated functions; ``exports`` are what forward hands to backward."""

    def __init__(self, prog, plan, adj, n_x, obar_mask):
        self.prog, self.plan, self.adj, self.n_x = prog, plan, adj, n_x
        self.em = Emitter(prog, plan, obar_mask)

    def _phase(self, phase):
        lines = []
        for i, ins in enumerate(self.prog.ins):
            if ins.phase != phase or ins.op in VIEWS:
                continue
            if ins.op == "prev":
                lines.append(f"v{i} = H{ins.attr}[t]")
            elif phase in STEP:
                lines += self.em.step_stmt(i, ins, phase)
            else:
                lines += self.em.stacked_stmt(i, ins, phase)
        return lines

    def _buffers(self, phase):
        lines = [f"{r.loc.arr} = np.{'zeros' if r.zeros else 'empty'}((T, B, {r.loc.width}), dt)"
                 for r in self.plan.roots if r.phase == phase]
        if phase == "bwd":
            lines += [f"r{i} = np.empty((B, {self.prog.ins[i].shape[0]}), dt)" for i in sorted(self.plan.remat)]
        for i, ins in enumerate(self.prog.ins):
            if ins.phase == phase and ins.op not in VIEWS + ("prev",) and \
                    i not in self.plan.loc and i not in self.plan.slot:
                fill = "zeros" if ins.op == "assemble" and None in ins.args else "empty"
                lines.append(f"t{i} = np.{fill}((B, {ins.shape[0]}), dt)")
        return lines

    def exports(self):
        names = [f"H{k}" for k in range(len(self.plan.states))]
        names += [r.loc.arr for r in self.plan.roots if r.phase == "fwd"]
        names += [f"v{r.loc.pre_root}" for r in self.plan.roots if r.phase == "pre" and r.hosts]
        for i, ins in enumerate(self.prog.ins):
            later = self.plan.phases.get(i, set()) & {"bwd", "post", "final"}
            if ins.phase in ("const", "pre") and later and ins.op not in VIEWS:
                names.append(f"v{i}")
        return list(dict.fromkeys(names))

    def forward(self):
        head = self._phase("const") + self._phase("pre")
        body = self._phase("fwd")
        lines = ["def forward(X2, INIT, P, T, B):", "    dt = X2.dtype"] + _indent(head, 1)
        for k, v in enumerate(self.plan.states):
            lines += [f"    H{k} = np.empty((T + 1, B, {self.prog[v].shape[0]}), dt)", f"    H{k}[0] = INIT[{k}]"]
        lines += _indent(self._buffers("fwd") + _assign(self.em.bind["pre_fwd"]), 1)
        lines.append("    for t in range(T):")
        lines += _indent(_assign(self.em.bind["fwd"]) + body, 2)
        lines.append("    return {" + ", ".join(f"{n!r}: {n}" for n in self.exports()) + "}")
        return "\n".join(lines) + "\n"

    def backward(self):
        body, tail = self._phase("bwd"), self._carries()
        post = self._phase("post") + self._phase("final")
        results = self._results()
        lines = ["def backward(C, OB, T, B):", "    dt = C['H0'].dtype"]
        lines += [f"    {n} = C[{n!r}]" for n in self.exports()]
        lines += _indent(self._buffers("bwd"), 1)
        for k, v in enumerate(self.plan.states):
            n = self.prog[v].shape[0]
            lines += [f"    carry{k} = np.zeros((B, {n}), dt)", f"    cb{k} = np.empty((B, {n}), dt)"]
            lines += [f"    OB{k} = OB[{k}]"] if k in self.em.obar else []
        top = {}
        for i, ins in enumerate(self.prog.ins):
            if ins.op == "assemble" and ins.phase == "bwd":
                if i in self.plan.loc:
                    top[f"v{i}"] = self.em.step_view(i, "bwd")
                else:
                    lines.append(f"    v{i} = t{i}")
        lines += _indent(_assign(self.em.bind["pre_bwd"]), 1)
        lines.append("    for t in range(T - 1, -1, -1):")
        lines += _indent(_assign({**top, **self.em.bind["bwd"]}) + body + tail, 2)
        lines += _indent(_assign(self.em.bind["post"]) + post, 1)
        lines.append("    return " + results)
        return "\n".join(lines) + "\n"

    def _carries(self):
        lines = []
        for k, v in enumerate(self.adj.carries):
            if v is None:
                continue
            src = self.em.ref(v, "bwd")
            if self.prog[base(self.prog, v)].op == "seed":   # its buffer is rewritten first thing next step
                lines += [f"np.copyto(cb{k}, {src})", f"carry{k} = cb{k}"]
            else:
                lines.append(f"carry{k} = {src}")
        return lines

    def _results(self):
        carries = "[" + ", ".join(f"carry{k}" for k in range(len(self.plan.states))) + "]"
        xb = self.adj.x_bar
        xbar = self.em.ref(xb, "post") if xb is not None else f"np.zeros((T * B, {self.n_x}), dt)"
        grads = [f"{name!r}: {self.em.ref(v, 'final')}" for name, v in self.adj.params.items() if v is not None]
        return f"{carries}, {xbar}, {{{', '.join(grads)}}}"


def _assign(bindings):
    return [f"{k} = {e}" for k, e in bindings.items()]


def _indent(lines, level):
    return ["    " * level + ln for ln in lines]

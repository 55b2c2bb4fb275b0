"""Shape inference for cells: every name gets (rows, cols) in symbolic sizes.

Sizes are strings: ``"n_x"``, ``"n_h"``, ``"1"``, or a sum such as ``"n_h + n_x"``
(from concatenation).  Unification is a small union-find over size variables.
"""
from __future__ import annotations

import itertools

from .ir import Const, Var, CellError, UNARY, prev


class _Dims:
    """Union-find over size names; a root may be bound to a sum of roots."""

    def __init__(self):
        self.parent, self.sums, self.fresh = {}, {}, itertools.count()

    def new(self) -> str:
        return f"?{next(self.fresh)}"

    def find(self, d: str) -> str:
        while self.parent.get(d, d) != d:
            d = self.parent[d]
        return d

    def unify(self, a: str, b: str, where: str) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if not a.startswith("?") and not b.startswith("?"):
            raise CellError(f"size mismatch in {where}: {self.show(a)} vs {self.show(b)}")
        if not a.startswith("?"):
            a, b = b, a
        if a in self._parts(b) or b in self._parts(a) or (a in self.sums and not b.startswith("?")):
            raise CellError(f"size mismatch in {where}: a concatenation's size {self.show(a)} cannot equal {b}")
        self.parent[a] = b
        if a in self.sums:
            self.sums.setdefault(b, self.sums[a])

    def _parts(self, d: str) -> set:
        """Every root a (possibly summed) size is built from."""
        d = self.find(d)
        out = {d}
        for p in self.sums.get(d, ()):
            out |= self._parts(p)
        return out

    def show(self, d: str) -> str:
        d = self.find(d)
        if d in self.sums:
            return " + ".join(self.show(p) for p in self.sums[d])
        return d


def _shape(expr, env, dims, where):
    """Shape of an expression tree; None means scalar constant."""
    if isinstance(expr, Const):
        return None
    if isinstance(expr, Var):
        if expr.name not in env:
            env[expr.name] = (dims.new(), dims.new())
        return env[expr.name]
    args = [_shape(a, env, dims, where) for a in expr.args]
    if expr.prim == "matmul" and _data_dependent(expr.args[0], env):
        raise CellError(f"{where}: the left side of '@' depends on data; '@' multiplies a weight matrix (left) "
                        "by a vector (right), e.g. W @ x")
    return _RULES[expr.prim](args, dims, where)


def _data_dependent(expr, env) -> bool:
    """True when ``expr`` involves the input, a state or an equation (not only parameters)."""
    from .ir import free_vars
    return any(n in env.get("__data__", ()) for n in free_vars(expr))


def _same(args, dims, where):
    shapes = [s for s in args if s is not None]
    if not shapes:
        raise CellError(f"{where}: an equation needs at least one vector, not only numbers")
    for s in shapes[1:]:
        dims.unify(shapes[0][0], s[0], where)
        dims.unify(shapes[0][1], s[1], where)
    return shapes[0]


def _matmul(args, dims, where):
    a, b = args[:2]
    if a is None or b is None:
        raise CellError(f"{where}: '@' needs matrices on both sides; use '*' to scale by a number")
    dims.unify(a[1], b[0], where)
    return (a[0], b[1])


def _concat(args, dims, where):
    if any(a is None for a in args):
        raise CellError(f"{where}: concat takes vectors, not numbers")
    for a in args[1:]:
        dims.unify(args[0][1], a[1], where)
    total = dims.new()
    dims.sums[total] = [a[0] for a in args]
    return (total, args[0][1])


def _xent(args, dims, where):
    _same(args, dims, where)
    return ("1", "1")


_RULES = {"xent": _xent, **{u: _same for u in UNARY}, "add": _same, "sub": _same, "mul": _same,
          "neg": _same, "softmax": _same, "matmul": _matmul, "concat": _concat}


def infer_shapes(cell) -> dict:
    """Infer the symbolic shape of every name in ``cell``.

    Returns
    -------
    dict
        name -> (rows, cols) as size strings, e.g. ``{"W_f": ("n_h", "n_x")}``.

    Raises
    ------
    CellError
        When sizes conflict or a size cannot be determined.
    """
    dims = _Dims()
    env = {cell.input: ("n_x", "1")}
    if cell.readout:
        env[cell.target] = ("n_y", "1")
    for s in cell.states:
        env[s] = env[prev(s)] = ("n_h", "1")
    env["__data__"] = {cell.input, *cell.states, *(prev(s) for s in cell.states),
                       *(e.name for e in (*cell.eqns, *cell.readout))}
    for e in (*cell.eqns, *cell.readout):
        shape = _shape(e.expr, env, dims, f"equation {e.name!r}")
        if shape is None:
            raise CellError(f"equation {e.name!r} is a plain number; it must involve a vector")
        if e.name in env:
            _same([env[e.name], shape], dims, f"equation {e.name!r}")
        env[e.name] = shape
    env.pop("__data__")
    readout_out = {dims.find(env[e.name][0]) for e in cell.readout}
    out = {}
    for name, (r, c) in env.items():
        r, c = dims.show(r), dims.show(c)
        if r in readout_out or dims.find(r) in readout_out:
            r = "n_y" if r.startswith("?") else r
        out[name] = (r, c)
    _bind_unknowns(out, cell)
    return out


def _bind_unknowns(out, cell):
    """Readout sizes default to n_y; anything else still unknown is an error."""
    ro = {e.name for e in cell.readout}
    unknown_y = {d for n, s in out.items() if n in ro for d in s if d.startswith("?")}
    for n, (r, c) in out.items():
        r = "n_y" if r in unknown_y else r
        c = "n_y" if c in unknown_y else c
        if r.startswith("?") or c.startswith("?"):
            raise CellError(f"cannot infer the size of {n!r}; use it with x, a state, or a sized parameter")
        out[n] = (r, c)


def size_value(dim: str, sizes: dict) -> int:
    """Evaluate a size string such as ``"n_h + n_x"`` with numeric ``sizes``."""
    return sum(1 if p == "1" else int(sizes[p]) for p in (t.strip() for t in dim.split("+")))


def concrete(shape, sizes: dict) -> tuple:
    """Numeric (rows, cols) of a symbolic shape."""
    return tuple(size_value(d, sizes) for d in shape)

"""Compiler front end of the fast NumPy engine: a cell as a flat op graph, and its passes.

``lower`` turns a cell's equation trees into a hash-consed graph in A-normal
form (one primitive per node, shared subexpressions merged).  Every node gets a
*class*: ``S`` (parameters only), ``Q`` (input, no ``_prev`` state: the whole
sequence can be computed at once) or ``R`` (recurrent: needs the loop).

Passes (each returns a new graph, order kept topological):

* ``reassociate`` regroups a recurrent sum ``W x + U h_prev + b`` as
  ``(W x + b) + U h_prev`` so the non-recurrent part can be hoisted.
* ``fuse_matmuls`` replaces matmuls with a parameter-only left operand that share
  a right operand (``U_i h_prev``, ``U_f h_prev``, ...) by one matmul with the
  row-concatenated left operands and ``split`` row views of its result.
* ``dead_code`` drops nodes no state needs.

No SymPy here, and nothing knows a cell: only primitives and classes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .ir import App, Const, Var

S, Q, R = 0, 1, 2
LEAVES = ("x", "prev", "param", "const")
BATCH = "B"
_FOLD = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
         "neg": lambda a: -a, "tanh": math.tanh, "exp": math.exp, "log": math.log,
         "sigmoid": lambda a: 0.5 * (1.0 + math.tanh(0.5 * a)), "relu": lambda a: max(a, 0.0)}


@dataclass(frozen=True)
class Node:
    op: str             # an IR primitive, a leaf kind, or "split"
    args: tuple = ()    # indices of argument nodes
    attr: object = None  # leaf name, state index, constant value, or (start, stop) of a split


class Graph:
    """Nodes in topological order; ``states`` maps each state to the node defining it."""

    def __init__(self):
        self.nodes, self.memo, self.states = [], {}, {}

    def add(self, op, args=(), attr=None, fresh=False) -> int:
        args = tuple(args)
        if op in _FOLD and args and all(self.nodes[a].op == "const" for a in args):
            try:
                return self.add("const", attr=float(_FOLD[op](*(self.nodes[a].attr for a in args))))
            except (ValueError, OverflowError):
                pass  # leave it to NumPy (nan/inf semantics)
        key = (op, args, attr)
        if not fresh and key in self.memo:
            return self.memo[key]
        self.nodes.append(Node(op, args, attr))
        self.memo.setdefault(key, len(self.nodes) - 1)
        return len(self.nodes) - 1

    def uses(self) -> list:
        count = [0] * len(self.nodes)
        for n in self.nodes:
            for a in n.args:
                count[a] += 1
        for i in self.states.values():
            count[i] += 1
        return count


def lower(cell) -> Graph:
    """A-normal form of the cell's step: one node per primitive application, CSE by hash-consing."""
    g, env = Graph(), {}
    env[cell.input] = g.add("x", attr=cell.input)
    for k, p in enumerate(cell.prev_names):
        env[p] = g.add("prev", attr=k)

    def walk(e):
        if isinstance(e, Var):
            return env[e.name] if e.name in env else g.add("param", attr=e.name)
        if isinstance(e, Const):
            return g.add("const", attr=float(e.value))
        assert isinstance(e, App)
        return g.add(e.prim, [walk(a) for a in e.args])

    for eq in cell.eqns:
        env[eq.name] = walk(eq.expr)
    _bind_states(g, cell.states, env)
    return g


def _bind_states(g, states, env):
    """Each state gets a node of its own, computed in the loop (a copy if it is a leaf or shared)."""
    taken = set()
    for s in states:
        i = env[s]
        if g.nodes[i].op in LEAVES or i in taken:
            i = g.add("add", (i, g.add("const", attr=0.0)), fresh=True)
        taken.add(i)
        g.states[s] = i


def classify(g) -> list:
    """S, Q or R for every node; states are always R (they live in the loop)."""
    cls, state_nodes = [], set(g.states.values())
    for i, n in enumerate(g.nodes):
        if n.op == "x":
            c = Q
        elif n.op == "prev" or i in state_nodes:
            c = R
        elif n.op in ("param", "const"):
            c = S
        else:
            c = max(cls[a] for a in n.args)
        cls.append(c)
    return cls


def _rebuild(g, old, fn, order=None) -> Graph:
    """Copy ``old`` into ``g`` node by node; ``fn(i, node, m)`` may return a replacement index."""
    m = {}
    for i in (range(len(old.nodes)) if order is None else order):
        n = old.nodes[i]
        j = fn(i, n, m)
        m[i] = j if j is not None else g.add(n.op, [m[a] for a in n.args], n.attr,
                                             fresh=i in old.states.values())
    g.states = {s: m[i] for s, i in old.states.items()}
    return g


def _terms(g, i, uses, states, sign=1, root=True):
    """Signed summands of an add/sub/neg tree, expanding single-use inner sums."""
    n = g.nodes[i]
    if n.op not in ("add", "sub", "neg") or (not root and (uses[i] != 1 or i in states)):
        return [(sign, i)]
    if n.op == "neg":
        return _terms(g, n.args[0], uses, states, -sign, False)
    a, b = n.args
    flip = -sign if n.op == "sub" else sign
    return _terms(g, a, uses, states, sign, False) + _terms(g, b, uses, states, flip, False)


def _sum(g, terms) -> int:
    (s0, acc), rest = terms[0], terms[1:]
    acc = acc if s0 > 0 else g.add("neg", (acc,))
    for s, t in rest:
        acc = g.add("add" if s > 0 else "sub", (acc, t))
    return acc


def reassociate(old: Graph) -> Graph:
    """Group the non-recurrent summands of each recurrent sum so they can be hoisted."""
    cls, uses, states = classify(old), old.uses(), set(old.states.values())

    def fn(i, n, m):
        if n.op not in ("add", "sub") or cls[i] != R or i in states:
            return None
        terms = _terms(old, i, uses, states)
        hoist = [(s, m[t]) for s, t in terms if cls[t] < R]
        if len(hoist) < 2 or len(hoist) == len(terms):
            return None
        rec = [(s, m[t]) for s, t in terms if cls[t] == R]
        return _sum(g, [(1, _sum(g, hoist))] + rec)

    g = Graph()
    return dead_code(_rebuild(g, old, fn))


def dead_code(old: Graph) -> Graph:
    """Keep only nodes some state depends on."""
    live, stack = set(), list(old.states.values())
    while stack:
        i = stack.pop()
        if i not in live:
            live.add(i)
            stack.extend(old.nodes[i].args)
    order = [i for i in range(len(old.nodes)) if i in live]
    return _rebuild(Graph(), old, lambda i, n, m: None, order)


def shapes(g, param_shapes: dict, n_x: int, n_h: int) -> list:
    """Logical (rows, cols) of every node; cols is ``BATCH`` for per-example columns, None for constants."""
    out = []
    for n in g.nodes:
        if n.op == "x":
            s = (n_x, BATCH)
        elif n.op == "prev":
            s = (n_h, BATCH)
        elif n.op == "param":
            s = tuple(param_shapes[n.attr])
        elif n.op == "const":
            s = None
        else:
            s = op_shape(n.op, [out[a] for a in n.args], n.attr)
        out.append(s)
    return out


def broadcast(*shapes):
    shapes = [s for s in shapes if s is not None]
    if not shapes:
        return None
    rows = max(s[0] for s in shapes)
    cols = BATCH if any(s[1] == BATCH for s in shapes) else max(s[1] for s in shapes)
    return (rows, cols)


def op_shape(op, args, attr=None):
    """Shape rule of a primitive (also used for the ops the rule table emits)."""
    if op == "matmul":
        return (args[0][0], args[1][1])
    if op == "T":
        return (args[0][1], args[0][0])
    if op == "concat":
        return (sum(a[0] for a in args), args[0][1])
    if op in ("split", "rows"):
        return (attr[1] - attr[0], args[0][1])
    if op == "colsum":
        return (1, args[0][1])
    return broadcast(*args)


def fuse_matmuls(old: Graph, shp: list) -> Graph:
    """One matmul per right operand: ``A_k @ v`` for parameter-only ``A_k`` become row views of
    ``concat(A_1, ..., A_K) @ v``.  Nodes are scheduled S, then Q, then R."""
    cls, states = classify(old), set(old.states.values())
    groups = {}
    for i, n in enumerate(old.nodes):
        if n.op == "matmul" and cls[n.args[0]] == S and cls[n.args[1]] > S and i not in states:
            groups.setdefault(n.args[1], []).append(i)
    groups = {v: members for v, members in groups.items() if len(members) > 1}
    first = {members[0]: members for members in groups.values()}

    def fn(i, n, m):
        if i in first:
            members = first[i]
            cat = g.add("concat", [m[old.nodes[k].args[0]] for k in members])
            z = g.add("matmul", (cat, m[n.args[1]]))
            start = 0
            for k in members:
                rows = shp[k][0]
                m[k] = g.add("split", (z,), (start, start + rows))
                start += rows
            return m[i]
        if n.op == "matmul" and any(i in members for members in groups.values()):
            return m[i]
        return None

    g = Graph()
    order = sorted(range(len(old.nodes)), key=lambda i: (cls[i], i))
    # Left operands of later members are S nodes, scheduled before every Q/R node.
    return _rebuild(g, old, fn, order)


def optimize(cell, param_shapes: dict, n_x: int, n_h: int):
    """The pass pipeline; returns ``(graph, classes, shapes)``."""
    g = reassociate(lower(cell))
    g = fuse_matmuls(g, shapes(g, param_shapes, n_x, n_h))
    g = dead_code(g)
    return g, classify(g), shapes(g, param_shapes, n_x, n_h)

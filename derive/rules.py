"""The one rule table: every primitive's derivative, once, for every backend.

Rules are written against an ``ops`` object (NumPy arrays, SymPy matrix
expressions, or SymPy scalars all implement the same small interface), in the
manner of HIPS/autograd's ``defvjp``.  Layout is numerator layout: for
``y = f(a)``, the tangent rule maps ``a_dot`` to ``y_dot = (dy/da) a_dot`` and the
adjoint rule maps ``y_bar`` to ``a_bar = (dy/da)^T y_bar``.

Each rule also carries a ``why`` tag naming the calculus fact it uses; the
derivation text looks it up (``derive.text``) in English or Chinese.
"""
from __future__ import annotations

from dataclasses import dataclass

VJP, JVP, WHY = {}, {}, {}


def defvjp(prim, *rules):
    """Register adjoint rules ``rule(ops, g, ans, *args) -> arg_bar``, one per argument."""
    VJP[prim] = rules


def defjvp(prim, *rules):
    """Register tangent rules ``rule(ops, d, ans, *args) -> ans_dot``, one per argument."""
    JVP[prim] = rules


# Derivatives of elementwise functions, written in terms of input x and output y.
DERIV = {
    "tanh":     lambda ops, x, y: ops.sub(1, ops.mul(y, y)),
    "sigmoid":  lambda ops, x, y: ops.mul(y, ops.sub(1, y)),
    "relu":     lambda ops, x, y: ops.step(x),
    "exp":      lambda ops, x, y: y,
    "log":      lambda ops, x, y: ops.recip(x),
    "softplus": lambda ops, x, y: ops.sigmoid(x),
}

for _f in DERIV:
    defvjp(_f, lambda ops, g, y, x, _f=_f: ops.mul(g, DERIV[_f](ops, x, y)))
    defjvp(_f, lambda ops, d, y, x, _f=_f: ops.scale(DERIV[_f](ops, x, y), d))
    WHY[_f] = f"d_{_f}"

defvjp("add",    lambda ops, g, y, a, b: g,                      lambda ops, g, y, a, b: g)
defvjp("sub",    lambda ops, g, y, a, b: g,                      lambda ops, g, y, a, b: ops.neg(g))
defvjp("neg",    lambda ops, g, y, a: ops.neg(g))
defvjp("mul",    lambda ops, g, y, a, b: ops.mul(g, b),          lambda ops, g, y, a, b: ops.mul(g, a))
defvjp("matmul", lambda ops, g, y, A, B: ops.matmul(g, ops.T(B)), lambda ops, g, y, A, B: ops.matmul(ops.T(A), g))
defvjp("softmax", lambda ops, g, y, a: ops.mul(y, ops.sub(g, ops.colsum(ops.mul(y, g)))))
# Cross-entropy of softmax(o) against a target distribution t (PyTorch's cross_entropy rule).
defvjp("xent",   lambda ops, g, L, o, t: ops.mul(g, ops.sub(ops.softmax(o), t)),
                 lambda ops, g, L, o, t: ops.mul(g, ops.neg(ops.log(ops.softmax(o)))))

defjvp("add",    lambda ops, d, y, a, b: d,                      lambda ops, d, y, a, b: d)
defjvp("sub",    lambda ops, d, y, a, b: d,                      lambda ops, d, y, a, b: ops.neg(d))
defjvp("neg",    lambda ops, d, y, a: ops.neg(d))
defjvp("mul",    lambda ops, d, y, a, b: ops.scale(b, d),        lambda ops, d, y, a, b: ops.scale(a, d))
defjvp("matmul", lambda ops, d, y, A, B: ops.matmul(d, B),       lambda ops, d, y, A, B: ops.matmul(A, d))
defjvp("softmax", lambda ops, d, y, a: ops.sub(ops.scale(y, d), ops.outer_scale(y, d)))
defjvp("xent",   lambda ops, d, L, o, t: ops.matmul(ops.T(ops.sub(ops.softmax(o), t)), d),
                 lambda ops, d, L, o, t: ops.matmul(ops.T(ops.neg(ops.log(ops.softmax(o)))), d))

WHY.update(add="sum", sub="difference", neg="negation", mul="hadamard", matmul="linear",
           softmax="softmax", concat="concat", xent="xent")


# concat is n-ary: its rules split or stack along rows.
def _concat_vjp(i):
    return lambda ops, g, y, *args: ops.rows(g, *_span(ops, args, i))


def _span(ops, args, i):
    start = sum(ops.nrows(a) for a in args[:i])
    return start, start + ops.nrows(args[i])


def concat_vjp(n):
    """Adjoint rules of an n-way concatenation (one per piece)."""
    return tuple(_concat_vjp(i) for i in range(n))


def concat_jvp(ops, i, d, args):
    """Tangent of an n-way concatenation when only piece ``i`` moves."""
    return ops.stack_rows([d if j == i else ops.zeros_like_rows(a, d) for j, a in enumerate(args)])


@dataclass(frozen=True)
class RuleRef:
    """Which rule produced a step of a derivation (for the justification line)."""

    prim: str
    arg: int

    @property
    def why(self) -> str:
        return WHY[self.prim]


def vjp_rule(prim: str, nargs: int, i: int):
    """The adjoint rule of argument ``i`` of ``prim``."""
    if prim == "concat":
        return concat_vjp(nargs)[i]
    return VJP[prim][i]


def jvp_rule(prim: str, i: int):
    """The tangent rule of argument ``i`` of ``prim`` (not for concat: see ``concat_jvp``)."""
    return JVP[prim][i]

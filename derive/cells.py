"""The registry of built-in cells, each a short list of equations.

Conventions are stated once, here, and printed with every derivation:
column vectors, numerator layout, ``⊙`` elementwise; ``rnn`` uses the
U (input), W (recurrent), V (output) names of the classic textbook model;
gated cells use ``W_*`` for input weights and ``U_*`` for recurrent weights.
"""
from __future__ import annotations

from .ir import App, Cell, CellError, Const, Eqn, Var


class E:
    """Builder sugar: ``@`` matmul, ``*`` elementwise, ``+ -`` as usual."""

    def __init__(self, node):
        self.node = node

    def _bin(self, prim, other, swap=False):
        o = other.node if isinstance(other, E) else Const(float(other))
        args = (o, self.node) if swap else (self.node, o)
        return E(App(prim, args))

    __add__ = lambda s, o: s._bin("add", o)
    __radd__ = lambda s, o: s._bin("add", o, True)
    __sub__ = lambda s, o: s._bin("sub", o)
    __rsub__ = lambda s, o: s._bin("sub", o, True)
    __mul__ = lambda s, o: s._bin("mul", o)
    __rmul__ = lambda s, o: s._bin("mul", o, True)
    __matmul__ = lambda s, o: s._bin("matmul", o)
    __neg__ = lambda s: E(App("neg", (s.node,)))


def v(name: str) -> E:
    return E(Var(name))


def fn(prim: str, arg: E) -> E:
    return E(App(prim, (arg.node,)))


def eqns(**defs) -> tuple:
    """Equations in keyword order: ``eqns(f=..., h=...)``."""
    return tuple(Eqn(k, e.node) for k, e in defs.items())


sigma = lambda a: fn("sigmoid", a)
tanh = lambda a: fn("tanh", a)
x, h_prev, c_prev = v("x"), v("h_prev"), v("c_prev")


def affine(gate: str, extra=None) -> E:
    """W_g x + U_g h_prev + b_g (+ extra)."""
    a = v(f"W_{gate}") @ x + v(f"U_{gate}") @ h_prev
    a = a + extra if extra is not None else a
    return a + v(f"b_{gate}")


def rnn(activation: str = "tanh") -> Cell:
    if activation not in ("tanh", "relu", "sigmoid"):
        raise CellError(f"unknown activation {activation!r}; use tanh, relu or sigmoid")
    return Cell("rnn", "x", ("h",), "h",
                eqns(h=fn(activation, v("U") @ x + v("W") @ h_prev + v("b"))),
                title=f"Elman RNN ({activation})", convention=activation,
                readout=eqns(o=v("V") @ v("h") + v("c"), y=fn("softmax", v("o")),
                             L=E(App("xent", (Var("o"), Var("ybar"))))),
                notes="U: input weights, W: recurrent weights, V: output weights; "
                      "y_t = softmax(V h_t + c) with cross-entropy loss L_t = -sum_k ybar_k log y_k.",
                notes_zh="U 为输入权重，W 为循环权重，V 为输出权重；输出 y_t = softmax(V h_t + c)，"
                         "损失为交叉熵 L_t = -Σ_k ȳ_k log y_k。")


def lstm(peephole: bool = False) -> Cell:
    p = (lambda g, s: v(f"p_{g}") * s) if peephole else (lambda g, s: None)
    i, f, g, o, c = (v(n) for n in "ifgoc")
    defs = dict(i=sigma(affine("i", p("i", c_prev))), f=sigma(affine("f", p("f", c_prev))),
                g=tanh(affine("g")))
    if peephole:
        defs.update(c=f * c_prev + i * g, o=sigma(affine("o", p("o", c))))
    else:
        defs.update(o=sigma(affine("o")), c=f * c_prev + i * g)
    defs["h"] = o * tanh(c)
    name = "lstm-peephole" if peephole else "lstm"
    return Cell(name, "x", ("h", "c"), "h", eqns(**defs),
                title="LSTM with peephole connections" if peephole else "LSTM (with forget gate)",
                convention="peephole" if peephole else "standard",
                notes=("Gates i, f, o and candidate g; the cell path c_t = f_t * c_{t-1} + i_t * g_t "
                       "is the standard one (not f_t * tanh(c_{t-1})). Gate order i, f, g, o as in PyTorch."
                       + (" Diagonal peepholes p_i, p_f read c_{t-1}; p_o reads c_t." if peephole else "")),
                notes_zh=("输入门 i、遗忘门 f、输出门 o 与候选值 g；细胞状态更新为标准形式 "
                          "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t（不是 f_t ⊙ tanh(c_{t-1})）。门的顺序与 PyTorch 一致：i, f, g, o。"
                          + ("窥视孔连接 p_i、p_f 读取 c_{t-1}，p_o 读取 c_t。" if peephole else "")))


GRU_NOTES = {
    "cho": ("Cho et al. (2014): the reset gate multiplies h_{t-1} before the matmul; "
            "h_t = z*h_{t-1} + (1-z)*h~_t, so z near 1 keeps the old state.",
            "Cho 等 (2014) 的写法：重置门先作用于 h_{t-1} 再做矩阵乘法；h_t = z⊙h_{t-1} + (1−z)⊙h̃_t，z 接近 1 时保留旧状态。"),
    "pytorch": ("PyTorch nn.GRU: the reset gate multiplies (U_n h_{t-1} + b_hn) after the matmul; "
                "h_t = (1-z)*n_t + z*h_{t-1}; gate order r, z, n.",
                "PyTorch nn.GRU 的写法：重置门作用在矩阵乘法之后的 (U_n h_{t-1} + b_hn) 上；"
                "h_t = (1−z)⊙n_t + z⊙h_{t-1}；门的顺序为 r, z, n。"),
    "swapped": ("Swapped update (used by many tutorials): h_t = (1-z)*h_{t-1} + z*h~_t, "
                "so z near 1 writes the new candidate; the reset is applied as in Cho.",
                "交换更新门的写法（许多教程采用）：h_t = (1−z)⊙h_{t-1} + z⊙h̃_t，z 接近 1 时写入新候选值；重置门用法同 Cho。"),
}


def gru(convention: str = "pytorch") -> Cell:
    if convention not in GRU_NOTES:
        raise CellError(f"unknown GRU convention {convention!r}; use cho, pytorch or swapped")
    r, z = v("r"), v("z")
    defs = dict(r=sigma(affine("r")), z=sigma(affine("z")))
    if convention == "pytorch":
        defs["n"] = tanh(v("W_n") @ x + v("b_in") + r * (v("U_n") @ h_prev + v("b_hn")))
        defs["h"] = (1 - z) * v("n") + z * h_prev
    else:
        defs["h_tilde"] = tanh(v("W_h") @ x + v("U_h") @ (r * h_prev) + v("b_h"))
        old, new = (z, 1 - z) if convention == "cho" else (1 - z, z)
        defs["h"] = old * h_prev + new * v("h_tilde")
    en, zh = GRU_NOTES[convention]
    return Cell("gru", "x", ("h",), "h", eqns(**defs), title=f"GRU ({convention} convention)",
                convention=convention, notes=en, notes_zh=zh)


BUILDERS = {"rnn": rnn, "lstm": lstm, "lstm-peephole": lambda: lstm(True), "gru": gru}
VARIANTS = {"rnn": ("tanh", "relu", "sigmoid"), "gru": ("pytorch", "cho", "swapped")}


def get_cell(name: str, variant: str | None = None) -> Cell:
    """Build a registered cell.

    Parameters
    ----------
    name : str
        ``rnn``, ``lstm``, ``lstm-peephole`` or ``gru``; ``gru:cho`` and
        ``rnn:relu`` name a variant inline.
    variant : str, optional
        RNN activation or GRU convention.
    """
    if ":" in name:
        name, variant = name.split(":", 1)
    if name not in BUILDERS:
        raise CellError(f"unknown cell {name!r}; choose one of {', '.join(BUILDERS)} or pass --cell-file")
    if variant is None:
        return BUILDERS[name]()
    if name not in VARIANTS:
        raise CellError(f"cell {name!r} has no variants; drop {variant!r}")
    return BUILDERS[name](variant)

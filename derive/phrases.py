"""The phrasebook: section titles, introductions and one-line justifications, in English and Chinese.

Phrases are *markup*: prose with inline LaTeX between ``$...$`` (ready for
LaTeX and Markdown; :func:`tex_to_text` turns them into Unicode for the
terminal).  Introductions may hold placeholders ``⟨name⟩`` that the renderer
fills with formulas printed by the printer of the output format.
"""
from __future__ import annotations

import sympy as sp
from sympy import MatrixSymbol

from .markup import tex_to_text  # noqa: F401  (re-exported: it lives apart so the quiz needs no SymPy)
from .notation import Partial, TimeProd

LANGS = ("en", "zh")

TITLES = {
    "equations": ("Forward equations", "前向计算"),
    "local": ("Local Jacobians", "局部雅可比矩阵"),
    "state": ("One-step state Jacobian", "单步状态雅可比矩阵"),
    "product": ("Products of Jacobians across time", "跨时间的雅可比矩阵连乘"),
    "adjoint": ("Backpropagation through time", "随时间反向传播（BPTT）"),
    "forward_mode": ("Forward mode (real-time recurrent learning)", "前向模式（实时循环学习 RTRL）"),
    "truncated": ("Truncated BPTT", "截断的 BPTT"),
    "unrolled": ("Unrolled example", "展开的具体例子"),
    "scalar": ("The one-dimensional case", "一维情形"),
    "bidirectional": ("Bidirectional: the backward direction", "双向网络：反向的那一个方向"),
}

LABELS = {
    "doc": ("BPTT derivation", "BPTT 推导"),
    "conventions": ("Conventions", "记号约定"),
    "why": ("Why", "依据"),
    "cell": ("Cell", "单元"),
}

# One-line justifications of rule and section tags: (English, Chinese).
WHY = {
    # calculus rules of the rule table
    "d_tanh": ("derivative of tanh, written with the output: $\\tanh'(a) = 1 - \\tanh^2(a)$",
               "tanh 的导数用输出表示：$\\tanh'(a) = 1 - \\tanh^2(a)$"),
    "d_sigmoid": ("derivative of the sigmoid, written with the output: $\\sigma'(a) = \\sigma(a)(1 - \\sigma(a))$",
                  "sigmoid 的导数同样用输出表示：$\\sigma'(a) = \\sigma(a)(1 - \\sigma(a))$"),
    "d_relu": ("derivative of relu: $\\mathbb{1}[a > 0]$ (taken as 0 at $a = 0$, as PyTorch does)",
               "relu 的导数是指示函数 $\\mathbb{1}[a > 0]$（在 $a = 0$ 处取 0，与 PyTorch 相同）"),
    "d_exp": ("derivative of exp: $(e^a)' = e^a$", "指数函数的导数是它本身：$(e^a)' = e^a$"),
    "d_log": ("derivative of log: $(\\log a)' = 1/a$, elementwise", "对数的导数：$(\\log a)' = 1/a$（逐元素）"),
    "d_softplus": ("the derivative of softplus is the sigmoid", "softplus 的导数正是 sigmoid"),
    "sum": ("sum rule: the derivative of a sum is the sum of the derivatives", "加法法则：和的导数等于导数之和"),
    "difference": ("difference rule", "减法法则：差的导数等于导数之差"),
    "negation": ("a minus sign carries through the derivative", "负号直接提到导数外面"),
    "hadamard": ("product rule for $\\odot$: $\\partial(a \\odot b)/\\partial a = \\operatorname{diag}(b)$",
                 "哈达玛积（逐元素乘积）的乘积法则：$\\partial(a \\odot b)/\\partial a = \\operatorname{diag}(b)$"),
    "linear": ("a linear map is its own Jacobian: $\\partial (W a)/\\partial a = W$",
               "线性映射的雅可比矩阵就是矩阵本身：$\\partial (W a)/\\partial a = W$"),
    "softmax": ("Jacobian of softmax: $\\operatorname{diag}(y) - y y^{\\top}$",
                "softmax 的雅可比矩阵：$\\operatorname{diag}(y) - y y^{\\top}$"),
    "concat": ("concatenation: the Jacobian picks out the matching block", "拼接：雅可比矩阵只取出对应的那一块"),
    "xent": ("softmax followed by cross-entropy: $\\partial L/\\partial o = \\operatorname{softmax}(o) - \\bar{y}$",
             "softmax 接交叉熵，合起来求导最简单：$\\partial L/\\partial o = \\operatorname{softmax}(o) - \\bar{y}$"),
    # steps of the derivation
    "chain": ("chain rule: multiply the Jacobians along the path", "链式法则：沿计算路径把雅可比矩阵依次相乘"),
    "substitute": ("substitute the local Jacobians found above", "代入前面求出的局部雅可比矩阵"),
    "block": ("the state Jacobians, arranged as one block matrix", "把各状态之间的雅可比矩阵排成一个分块矩阵"),
    "product": ("chain rule across time: one Jacobian per step, later steps on the left",
                "跨时间的链式法则：每一步乘一个雅可比矩阵，越晚的时刻越靠左"),
    "direct_path": ("follow only the state's own path from step to step",
                    "只沿着该状态自身逐步传递的那条路径"),
    "gamma": ("the slope of the activation is at most $\\gamma$ ($1$ for tanh and relu, $1/4$ for the sigmoid)",
              "激活函数的斜率不超过 $\\gamma$（tanh、relu 为 $1$，sigmoid 为 $1/4$）"),
    "submultiplicative": ("$\\lVert A B \\rVert \\le \\lVert A \\rVert \\lVert B \\rVert$, used once per step",
                          "利用 $\\lVert A B \\rVert \\le \\lVert A \\rVert \\lVert B \\rVert$，每一步用一次"),
    "pascanu_vanish": ("a sufficient condition for vanishing gradients (Pascanu et al., 2013)",
                       "梯度消失的充分条件（Pascanu 等，2013）"),
    "pascanu_explode": ("a necessary condition for exploding gradients (Pascanu et al., 2013)",
                        "梯度爆炸的必要条件（Pascanu 等，2013）"),
    "adjoint_recursion": ("the loss reaches this state directly and through every state of the next step",
                          "损失既直接依赖这个状态，也通过下一时刻的各个状态间接依赖它"),
    "reverse_walk": ("walk the step's equations backwards, adding up the gradient of each intermediate",
                     "把这一步的式子倒过来走一遍，逐个累加中间量的梯度"),
    "adjoint_carry": ("the gradient handed to the previous step (plus that step's own loss term)",
                      "传给上一时刻的梯度（再加上该时刻自己的损失项）"),
    "param_sum": ("the weights are shared by all steps, so their gradients add up over time",
                  "各时间步共享同一组权重，所以权重的梯度要对所有时间步求和"),
    "input_adjoint": ("each input $x_t$ is used at one step only, so there is no sum",
                      "每个输入 $x_t$ 只在一个时间步用到，不需要求和"),
    "forward_mode": ("forward-mode chain rule: the tangent moves forward with the state",
                     "前向模式的链式法则：切向量随状态一起向前传播"),
    "bptt_sum": ("every earlier step $k \\le t$ contributes through a product of Jacobians",
                 "每个更早的时刻 $k \\le t$ 都通过雅可比矩阵的连乘作出贡献"),
    "truncate": ("keep only the last $K$ steps of the inner sum", "内层求和只保留最近的 $K$ 步"),
    "unrolled": ("one term per time step, with the adjoints substituted", "每个时间步一项，伴随量已代入"),
    "readout": ("gradient through the output layer", "经过输出层求梯度"),
    "reverse_time": ("the same cell with its own weights, reading the sequence from the end",
                     "同一种单元、另一组权重，从序列末尾往前读"),
    "adjoint_forward": ("this direction's gradient flows forward in time, to step t+1",
                        "这个方向的梯度沿时间向前传，交给第 t+1 步"),
    "input_sum": ("both directions read $x_t$, so their input gradients add", "两个方向都读取 $x_t$，输入梯度相加"),
    "concat_out": ("the output stacks both directions", "输出把两个方向的状态拼接起来"),
}

# Shorter forms, used when several tags justify one step.
SHORT = {
    "chain": ("chain rule", "链式法则"),
    "sum": ("sum rule", "加法法则"),
    "difference": ("difference rule", "减法法则"),
    "negation": ("sign rule", "负号提出"),
    "linear": ("$\\partial (W a)/\\partial a = W$", "$\\partial (W a)/\\partial a = W$"),
    "hadamard": ("$\\partial (a \\odot b)/\\partial a = \\operatorname{diag}(b)$",
                 "$\\partial (a \\odot b)/\\partial a = \\operatorname{diag}(b)$"),
    "d_tanh": ("$\\tanh' = 1 - \\tanh^2$", "$\\tanh' = 1 - \\tanh^2$"),
    "d_sigmoid": ("$\\sigma' = \\sigma(1 - \\sigma)$", "$\\sigma' = \\sigma(1 - \\sigma)$"),
    "d_relu": ("$\\operatorname{relu}'(a) = \\mathbb{1}[a > 0]$", "$\\operatorname{relu}'(a) = \\mathbb{1}[a > 0]$"),
    "d_exp": ("$(e^a)' = e^a$", "$(e^a)' = e^a$"),
    "d_log": ("$(\\log a)' = 1/a$", "$(\\log a)' = 1/a$"),
    "d_softplus": ("$\\operatorname{softplus}' = \\sigma$", "$\\operatorname{softplus}' = \\sigma$"),
    "softmax": ("softmax Jacobian", "softmax 的雅可比矩阵"),
    "concat": ("concatenation", "拼接"),
    "xent": ("$\\partial L/\\partial o = \\operatorname{softmax}(o) - \\bar{y}$",
             "$\\partial L/\\partial o = \\operatorname{softmax}(o) - \\bar{y}$"),
    "product": ("one Jacobian per step, later steps on the left", "每步一个雅可比矩阵，越晚越靠左"),
    "readout": ("through the output layer", "经过输出层"),
}

# Words that appear inside formulas (Text objects), by language.
WORDS = {"vanishing": ("vanishing", "梯度消失"), "exploding possible": ("exploding possible", "可能梯度爆炸")}


def _pick(pair, lang):
    return pair[LANGS.index(lang)]


def title(key: str, lang: str) -> str:
    return _pick(TITLES.get(key, (key, key)), lang)


def label(key: str, lang: str) -> str:
    return _pick(LABELS[key], lang)


def word(plain: str, lang: str) -> str:
    return _pick(WORDS[plain], lang) if plain in WORDS else plain


def justification(tags, lang: str) -> str:
    """The justification line of a step: its tags' phrases, joined."""
    sep = "; " if lang == "en" else "；"
    table = [SHORT, WHY] if len(tags) > 1 else [WHY]
    return sep.join(next((_pick(d[t], lang) for d in table if t in d), t) for t in tags)


def conventions(cell, lang: str) -> list:
    """Paragraphs of the conventions block (markup)."""
    zh = lang == "zh"
    out = [
        "向量一律是列向量。雅可比矩阵采用分子布局：$\\partial h_t/\\partial h_{t-1}$ 是 $n_h \\times n_h$ 矩阵，"
        "第 $i$ 行是 $h_{t,i}$ 对 $h_{t-1}$ 各分量的偏导。" if zh else
        "Vectors are columns. Jacobians use the numerator layout: $\\partial h_t/\\partial h_{t-1}$ is "
        "$n_h \\times n_h$ and row $i$ holds the derivatives of $h_{t,i}$.",
        "对标量损失，$\\partial L/\\partial v$ 表示梯度，形状与 $v$ 相同（向量为列向量，权重为矩阵），"
        "所以反向公式里出现的是转置的雅可比矩阵。" if zh else
        "For the scalar loss, $\\partial L/\\partial v$ is the gradient and has the shape of $v$ (a column for "
        "a vector, a matrix for a weight); this is why transposed Jacobians appear in the backward formulas.",
        "$\\odot$ 是哈达玛积（逐元素乘积），$a^{\\odot 2} = a \\odot a$；$\\operatorname{diag}(v)$ 是以 $v$ 为对角线的"
        "对角矩阵，$\\mathbf{1}$ 是全 1 向量；$\\tanh$、$\\sigma$ 等函数都逐元素作用。" if zh else
        "$\\odot$ is the elementwise (Hadamard) product and $a^{\\odot 2} = a \\odot a$; $\\operatorname{diag}(v)$ "
        "is the diagonal matrix with $v$ on its diagonal and $\\mathbf{1}$ a vector of ones; $\\tanh$, $\\sigma$ "
        "and the other functions act elementwise.",
        "总损失 $L = \\sum_{t=1}^{T} L_t$；$\\delta^{h}_{t} = \\partial L/\\partial h_t$ 是传到状态上的梯度，"
        "$\\bar{a}_t$ 是 $L$ 对中间量 $a_t$ 的梯度，$\\dot{a}_t$ 是前向模式中的切向量。" if zh else
        "The total loss is $L = \\sum_{t=1}^{T} L_t$; $\\delta^{h}_{t} = \\partial L/\\partial h_t$ is the gradient "
        "reaching the state, $\\bar{a}_t$ the gradient of $L$ with respect to an intermediate $a_t$, and "
        "$\\dot{a}_t$ a forward-mode tangent.",
    ]
    return out


def cell_note(cell, lang: str) -> str:
    """The cell's own notes (plain text written by the cell's author, not markup)."""
    notes = (cell.notes_zh or cell.notes) if lang == "zh" else cell.notes
    return f"{cell.title}. {notes}".strip() if lang == "en" else f"{cell.title}。{notes}".strip()


# ---- section introductions -----------------------------------------------------
def intro(section, cell, lang: str):
    """(markup, {placeholder: expression}) introducing a section."""
    fn = globals().get(f"_intro_{section.key}")
    return fn(section, cell, lang == "zh") if fn else ("", {})


def _state_tuple(cell, index="t"):
    syms = [MatrixSymbol(f"{s}[{index}]", 1, 1) for s in cell.states]
    return syms[0] if len(syms) == 1 else sp.Tuple(*syms)


def _intro_equations(sec, cell, zh):
    m = {"state": _state_tuple(cell), "x": MatrixSymbol(f"{cell.input}[t]", 1, 1)}
    if zh:
        s = "一步计算由输入 ⟨x⟩ 和上一时刻的状态得到新的状态 ⟨state⟩。下文的所有导数都只从这几个式子推出。"
        if cell.readout:
            s += "最后几行是输出层和第 $t$ 步的损失 $L_t$，总损失为 $L = \\sum_t L_t$。"
        return s, m
    s = ("One step maps the input ⟨x⟩ and the previous state to the new state ⟨state⟩. "
         "Every derivative below is obtained from these equations and nothing else.")
    if cell.readout:
        s += " The last lines are the output layer and the loss $L_t$ of step $t$; the total loss is $L = \\sum_t L_t$."
    return s, m


def _intro_local(sec, cell, zh):
    if zh:
        return ("先对每个式子只求它直接用到的量的偏导，其余量都看作常数。逐元素运算给出对角矩阵，"
                "矩阵乘法的导数就是那个矩阵。"), {}
    return ("First differentiate each equation with respect to each quantity it uses directly, holding "
            "everything else fixed. Elementwise operations give diagonal matrices; a matrix product gives "
            "the matrix itself."), {}


def _weightless(expr, cell) -> bool:
    names = {s.name for s in expr.free_symbols if hasattr(s, "name")}
    return not names & set(cell.params)


def _intro_state(sec, cell, zh):
    s = cell.output
    m = {"J": Partial(MatrixSymbol(f"{s}[t]", 1, 1), MatrixSymbol(f"{s}[t-1]", 1, 1))}
    text = ("再沿着从上一时刻状态到新状态的每一条路径，用链式法则把局部雅可比矩阵串起来，得到 ⟨J⟩。"
            "反向传播每回退一步，就要乘一次这个矩阵。" if zh else
            "Now chain the local Jacobians along every path from the previous state to the new one. The "
            "result ⟨J⟩ is the matrix that backpropagation multiplies by once for every step back in time.")
    direct = sec.info.get("direct", {})
    gated = {q: d for q, d in direct.items() if d is not None and _weightless(d, cell)}
    if gated:
        q, d = next(iter(gated.items()))
        m.update(path=Partial(MatrixSymbol(f"{q}[t]", 1, 1), MatrixSymbol(f"{q}[t-1]", 1, 1)), d=d)
        exact = len(cell.states) > 1
        text += _gated_sentence(exact, zh)
    elif s in direct and direct[s] is not None:
        m["d"] = direct[s]
        text += ("普通 RNN 只有一条路径：⟨d⟩，每回退一步都要乘一次权重矩阵和激活函数的导数。" if zh else
                 " A plain RNN has a single path, ⟨d⟩: every step back multiplies by the weight matrix "
                 "and by the derivative of the activation.")
    if len(cell.states) > 1:
        text += ("状态有多个分量，所以完整的雅可比矩阵是一个分块矩阵。" if zh else
                 " With several states the full Jacobian is a block matrix.")
    return text, m


def _gated_sentence(exact, zh):
    if zh:
        head = "注意直接路径 ⟨path⟩ = ⟨d⟩" if exact else "注意 ⟨path⟩ 中有一项 ⟨d⟩"
        return (head + "：其中没有权重矩阵，也没有激活函数的导数，只有一个门。门接近 1 时状态被原样复制，"
                "梯度也几乎不衰减地传回去，这正是门控单元（如 LSTM 的细胞状态）缓解梯度消失的原因。")
    head = " Note the direct path ⟨path⟩ = ⟨d⟩" if exact else " Note the term ⟨d⟩ inside ⟨path⟩"
    return (head + ": no weight matrix and no squashing derivative, only a gate. While the gate is close to 1 "
            "the state is copied forward and the gradient flows back almost undamped; this is how gated "
            "cells such as the LSTM's cell state ease the vanishing-gradient problem.")


def _intro_product(sec, cell, zh):
    info, m = sec.info, {}
    text = ("从第 $t$ 步回到第 $k$ 步的梯度要连乘 $t-k$ 个单步雅可比矩阵，所以它的大小像幂一样随距离 $t-k$ "
            "按指数增长或衰减。" if zh else
            "The gradient from step $t$ back to step $k$ multiplies $t-k$ one-step Jacobians, so its size "
            "behaves like a power: it grows or shrinks geometrically with the distance $t-k$.")
    if "gamma" in info:
        m.update(W=MatrixSymbol(info["weight"], 1, 1), g=info["gamma"], ginv=1 / info["gamma"])
        act = info["activation"]
        text += (f"{act} 的斜率不超过 $\\gamma = ⟨g⟩$，于是范数不超过 $(\\gamma \\lVert ⟨W⟩ \\rVert_2)^{{t-k}}$："
                 "若 ⟨W⟩ 的最大奇异值小于 $1/\\gamma = ⟨ginv⟩$，梯度必然按指数消失；只有大于它时才可能爆炸。" if zh else
                 f" Since the slope of {act} is at most $\\gamma = ⟨g⟩$, the norm is at most "
                 "$(\\gamma \\lVert ⟨W⟩ \\rVert_2)^{t-k}$: if the largest singular value of ⟨W⟩ is below "
                 "$1/\\gamma = ⟨ginv⟩$ the gradient must vanish exponentially; only above it can it explode.")
    for q, d in info.get("direct", {}).items():
        m["prod"] = TimeProd(d, "j", "k+1", "t")
        text += ("只看细胞状态这条路径，乘积是 ⟨prod⟩：若干个遗忘门的逐元素乘积，里面没有权重矩阵。"
                 "只要遗忘门保持接近 1，梯度就能跨越很多步。" if zh and q == "c" else
                 "沿这条直接路径，乘积是 ⟨prod⟩，其中没有权重矩阵。" if zh else
                 " Along the cell path alone the product is ⟨prod⟩, an elementwise product of forget gates "
                 "with no weight matrix: as long as the forget gates stay close to 1, the gradient survives "
                 "many steps." if q == "c" else
                 " Along the direct path alone the product is ⟨prod⟩, with no weight matrix in it.")
        break
    return text, m


def _intro_adjoint(sec, cell, zh):
    m = {"delta": MatrixSymbol(f"delta_{cell.output}[t]", 1, 1)}
    if zh:
        text = ("记 ⟨delta⟩ 为总损失对状态的梯度。它由两部分组成：第 $t$ 步损失的直接贡献，以及从第 $t+1$ 步"
                "传回来的部分。所以从 $t = T$ 倒着扫到 $t = 1$ 一遍，就得到所有时刻的梯度，这就是随时间反向传播。"
                "步内中间量 $a_t$ 的梯度记作 $\\bar{a}_t$。权重被所有时间步共享，所以它们的梯度是对 $t$ 求和。")
    else:
        text = ("Write ⟨delta⟩ for the gradient of the total loss with respect to the state. It collects the "
                "loss of step $t$ and everything that flows back from step $t+1$, so a single sweep from "
                "$t = T$ down to $t = 1$ yields all of them: this is backpropagation through time. Inside a "
                "step, $\\bar{a}_t$ is the gradient with respect to an intermediate $a_t$. The weights are "
                "shared by all steps, so their gradients are sums over $t$.")
    return text, m


def _intro_forward_mode(sec, cell, zh):
    theta = sec.info.get("theta", "W")
    m = {"hdot": MatrixSymbol(f"{cell.output}_dot[t]", 1, 1), "theta": MatrixSymbol(theta, 1, 1),
         "tdot": MatrixSymbol(f"{theta}_dot", 1, 1)}
    if zh:
        return ("除了倒着扫，也可以让导数跟着状态一起向前走。设 ⟨hdot⟩ 是权重 ⟨theta⟩ 沿方向 ⟨tdot⟩ 变化时"
                "状态的变化率（初值为 0），它满足一个沿时间正向的递推，不需要保存历史。代价是完整的梯度"
                "需要对每个权重分量各跑一次，这就是实时循环学习（RTRL）在大网络中很少使用的原因。"), m
    return ("Instead of sweeping backwards, the derivative can travel forward together with the state. Let "
            "⟨hdot⟩ be the rate of change of the state when the weight ⟨theta⟩ moves in the direction ⟨tdot⟩ "
            "(starting from 0). It obeys a recursion forward in time and needs no stored history, but a full "
            "gradient needs one such recursion per weight entry, which is why this real-time recurrent "
            "learning (RTRL) is rarely used for large networks."), m


def _intro_bidirectional(sec, cell, zh):
    if zh:
        return ("双向 RNN 再加一个方向：同一种单元，参数完全独立（上标为左箭头），从 $t = T$ 往回读序列，"
                "所以它的“上一时刻”是 $t+1$。两个方向互不影响，只在输出处拼接、在输入处共享。因此反向方向的梯度"
                "沿时间向前传递，而 $x_t$ 的梯度是两个方向之和。"), {}
    return ("A bidirectional RNN adds a second direction: the same cell with its own, independent weights "
            "(marked with a left arrow), reading the sequence from $t = T$ back to 1, so its previous step is $t+1$. "
            "The two directions never interact inside the recurrence; they meet only at the output, which "
            "concatenates them, and at the input, which both read. Hence the backward direction's gradient "
            "travels forward in time, and the gradient of $x_t$ is the sum of both directions' parts."), {}


def _intro_truncated(sec, cell, zh):
    m = {"K": sp.Integer(sec.info.get("K", 1))}
    if zh:
        return ("完整的 BPTT 中，每个更早的时刻 $k \\le t$ 都通过 $t-k$ 个雅可比矩阵的连乘对 $L_t$ 的梯度"
                "有贡献。截断的 BPTT 只保留最近的 $K = ⟨K⟩$ 步：每次更新的计算量和内存有了上界，代价是"
                "跨度超过 $K$ 步的依赖完全得不到梯度，梯度估计是有偏的。"), m
    return ("In full BPTT every earlier step $k \\le t$ contributes to the gradient of $L_t$ through a product "
            "of $t-k$ Jacobians. Truncated BPTT keeps only the last $K = ⟨K⟩$ steps. This bounds the time and "
            "memory of an update, but dependencies longer than $K$ steps receive no gradient at all, so the "
            "estimate is biased."), m


def _intro_unrolled(sec, cell, zh):
    T = sec.info.get("T", 3)
    m = {"T": sp.Integer(T), "LT": MatrixSymbol(f"L[{T}]", 1, 1)}
    named = any(st.why == ("adjoint_carry",) for st in sec.steps)
    if zh:
        text = ("取 $T = ⟨T⟩$ 步，只看最后的损失 ⟨LT⟩，把伴随量一步步代入。每个参数的梯度变成每个时间步"
                "一项的和；越早的时间步，项里的雅可比矩阵连乘越长。")
        return text + ("为了便于阅读，中间时刻的 $\\delta$ 保留为名字，先列出。" if named else ""), m
    text = ("To watch the recursion at work, take $T = ⟨T⟩$ steps and only the last loss ⟨LT⟩, and substitute "
            "the adjoints step by step. Each parameter gradient becomes a sum with one term per time step; "
            "the earlier the step, the longer its product of Jacobians.")
    return text + (" To keep the formulas readable, the adjoints $\\delta$ of the intermediate steps keep "
                   "their names and are listed first." if named else ""), m


def _intro_scalar(sec, cell, zh):
    if zh:
        return ("所有尺寸都取 1 时，矩阵都变成数，雅可比矩阵就是普通的导数。这是手算验证上面公式最快的办法。"
                + ("最后一行是前向模式的递推。" if "theta" in sec.info else "")), {}
    return ("With every size equal to 1 the matrices become numbers and the Jacobian is an ordinary "
            "derivative: the quickest way to check the formulas above by hand."
            + (" The last line is the forward-mode recursion." if "theta" in sec.info else "")), {}

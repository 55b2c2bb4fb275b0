"""Golden strings of the textbook LaTeX printer and the Unicode text printer."""
import unicodedata

import pytest
import sympy as sp
from sympy import HadamardPower, HadamardProduct, Identity, MatrixSymbol, OneMatrix
from sympy.matrices.expressions.diagonal import DiagMatrix

from derive.notation import Chain, Norm, Partial, Power, Terms, Text, TimeProd, TimeSum
from derive.printing import DerivLatexPrinter, latex, parse_name
from derive.symops import apply
from derive.textprint import tex_width, text, text_width

n = 3
h, h1, x = (MatrixSymbol(s, n, 1) for s in ("h[t]", "h[t-1]", "x[t]"))
W, U, b = MatrixSymbol("W", n, n), MatrixSymbol("U", n, n), MatrixSymbol("b", n, 1)
f, c1, g, i = (MatrixSymbol(s, n, 1) for s in ("f[t]", "c[t-1]", "g[t]", "i[t]"))
one = OneMatrix(n, 1)
RNN = {"param_order": ("U", "W", "b")}


@pytest.mark.parametrize("name, tex, txt", [
    ("h[t-1]", "h_{t-1}", "h_{t-1}"),
    ("h[t]", "h_{t}", "h_t"),
    ("x[t]", "x_{t}", "x_t"),
    ("L[t]", "L_{t}", "L_t"),
    ("h_tilde[t]", r"\tilde{h}_{t}", "h\u0303_t"),
    ("f_bar[t]", r"\bar{f}_{t}", "f\u0304_t"),
    ("ybar[3]", r"\bar{y}_{3}", "y\u0304_3"),
    ("delta_c[t+1]", r"\delta^{c}_{t+1}", "δ^c_{t+1}"),
    ("delta_h[t]", r"\delta^{h}_{t}", "δ^h_t"),
    ("h_dot[t-1]", r"\dot{h}_{t-1}", "h\u0307_{t-1}"),
    ("W_dot", r"\dot{W}", "W\u0307"),
    ("U_i_dot", r"\dot{U}_{i}", "U\u0307_i"),
    ("W_f", "W_{f}", "W_f"),
    ("b_in", "b_{in}", "b_in"),
    ("h_tilde_bar[t]", r"\bar{\tilde{h}}_{t}", "h\u0303\u0304_t"),
    ("c_tilde[2]", r"\tilde{c}_{2}", "c\u0303_2"),
    ("alpha", r"\alpha", "α"),
])
def test_names(name, tex, txt):
    s = MatrixSymbol(name, n, 1)
    assert latex(s) == tex
    assert text(s) == unicodedata.normalize("NFC", txt)


def test_parse_name():
    p = parse_name("delta_h_tilde[t+1]")
    assert p.delta_of.head == "h" and p.delta_of.accents == ("tilde",) and p.index == "t+1"
    assert parse_name("bar").accents == ()          # a name that is only an accent word stays a name


def test_affine_tanh_and_order():
    e = apply("tanh", U * x + W * h1 + b)
    assert latex(e, **RNN) == r"\tanh(U x_{t} + W h_{t-1} + b)"
    assert text(e, **RNN) == "tanh(U x_t + W h_{t-1} + b)"
    lstm = {"param_order": ("W_i", "U_i", "b_i")}
    gate = apply("sigmoid", MatrixSymbol("U_i", n, n) * h1 + MatrixSymbol("W_i", n, n) * x + MatrixSymbol("b_i", n, 1))
    assert latex(gate, **lstm) == r"\sigma(W_{i} x_{t} + U_{i} h_{t-1} + b_{i})"


@pytest.mark.parametrize("fn, tex, txt", [
    ("sigmoid", r"\sigma(x_{t})", "σ(x_t)"),
    ("relu", r"\operatorname{relu}(x_{t})", "relu(x_t)"),
    ("softmax", r"\operatorname{softmax}(x_{t})", "softmax(x_t)"),
    ("step", r"\mathbb{1}[x_{t} > 0]", "1[x_t > 0]"),
    ("exp", r"\exp(x_{t})", "exp(x_t)"),
])
def test_elementwise_functions(fn, tex, txt):
    assert latex(apply(fn, x)) == tex
    assert text(apply(fn, x)) == txt


def test_log_softmax_nests():
    d = sp.Dummy("d")
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    from derive.functions import softmax
    e = -MatrixSymbol("ybar[t]", n, 1).T * ElementwiseApplyFunction(sp.Lambda(d, sp.log(softmax(d))), x)
    assert latex(e) == r"-\bar{y}_{t}^{\top} \log \operatorname{softmax}(x_{t})"
    assert text(e) == "−ȳ_tᵀ log softmax(x_t)"


def test_local_jacobian_of_rnn():
    e = DiagMatrix(one - HadamardPower(h, 2)) * W
    assert latex(e) == r"\operatorname{diag}(\mathbf{1} - h_{t}^{\odot 2}) W"
    assert text(e) == "diag(1 − h_t ⊙ h_t) W"


def test_ones_first_negatives_last():
    assert latex(-f + one) == r"\mathbf{1} - f_{t}"
    assert text(-f + one) == "1 − f_t"


def test_hadamard_order_and_parentheses():
    names = {"name_order": ("i", "f", "g", "o", "c", "h")}
    assert latex(HadamardProduct(c1, f), **names) == r"f_{t} \odot c_{t-1}"
    assert text(HadamardProduct(g, i), **names) == "i_t ⊙ g_t"
    fbar = MatrixSymbol("f_bar[t]", n, 1)
    e = HadamardProduct(one - f, f, fbar)           # the sigmoid derivative pattern f ⊙ (1 - f)
    assert latex(e, **names) == r"\bar{f}_{t} \odot f_{t} \odot (\mathbf{1} - f_{t})"
    assert text(W.T * HadamardProduct(one - f, f), **names) == "Wᵀ (f_t ⊙ (1 − f_t))"
    assert text(HadamardProduct(h1.T, x.T)) == "(h_{t-1} ⊙ x_t)ᵀ"


def test_transpose_identity_diag():
    assert latex(sp.Transpose(DiagMatrix(f) * W)) == r"(\operatorname{diag}(f_{t}) W)^{\top}"
    assert latex(Identity(n)) == "I"
    assert text(W.T * h1) == "Wᵀ h_{t-1}"


def test_partials():
    p = Partial(h, h1)
    assert latex(p) == r"\frac{\partial h_{t}}{\partial h_{t-1}}"
    assert text(p) == "∂h_t/∂h_{t-1}"
    c = MatrixSymbol("c[t]", n, 1)
    tup = Partial(sp.Tuple(h, c), sp.Tuple(h1, c1))
    assert latex(tup) == r"\frac{\partial (h_{t}, c_{t})}{\partial (h_{t-1}, c_{t-1})}"
    assert text(tup) == "∂(h_t, c_t)/∂(h_{t-1}, c_{t-1})"
    assert latex(Partial(h, W, True)) == r"\frac{\mathrm{d} h_{t}}{\mathrm{d} W}"
    assert DerivLatexPrinter({"inline": True}).doprint(p) == r"\partial h_{t}/\partial h_{t-1}"


def test_sums_products_norms():
    jac = DiagMatrix(one - HadamardPower(MatrixSymbol("h[j]", n, 1), 2)) * W
    assert latex(TimeProd(jac, "j", "k+1", "t")) == (
        r"\prod_{j=k+1}^{t} (\operatorname{diag}(\mathbf{1} - h_{j}^{\odot 2}) W)")
    assert text(TimeProd(jac, "j", "k+1", "t")) == "∏_{j=k+1}^{t} (diag(1 − h_j ⊙ h_j) W)"
    assert latex(TimeSum(x, "t", "1", "T")) == r"\sum_{t=1}^{T} x_{t}"
    assert text(TimeSum(x, "t", "1", "T")) == "Σ_{t=1}^{T} x_t"
    assert latex(Norm(W)) == r"\lVert W \rVert_{2}"
    assert text(Norm(W)) == "‖W‖₂"
    assert latex(Power(Chain(sp.S.One, Norm(W)), "t-k")) == r"\lVert W \rVert_{2}^{t-k}"
    quarter = Power(Chain(sp.Rational(1, 4), Norm(W)), "t-k")
    assert latex(quarter) == r"\left(\frac{1}{4} \lVert W \rVert_{2}\right)^{t-k}"
    assert latex(Norm(Partial(h, h1))) == (
        r"\left\lVert \frac{\partial h_{t}}{\partial h_{t-1}} \right\rVert_{2}")


def test_chain_terms_text():
    back = Chain(sp.Transpose(Partial(h, h1)), MatrixSymbol("delta_h[t+1]", n, 1))
    e = Terms(Partial(MatrixSymbol("L[t]", 1, 1), h), back)
    assert latex(e) == (r"\frac{\partial L_{t}}{\partial h_{t}} + \left(\frac{\partial h_{t}}{\partial h_{t-1}}"
                        r"\right)^{\top} \delta^{h}_{t+1}")
    assert text(e) == "∂L_t/∂h_t + (∂h_t/∂h_{t-1})ᵀ δ^h_{t+1}"
    assert latex(Text(r"\text{vanishing}", "vanishing")) == r"\text{vanishing}"
    assert text(Text(r"\text{vanishing}", "vanishing")) == "vanishing"


def test_block_matrix():
    blk = sp.BlockMatrix([[DiagMatrix(f), W], [W, DiagMatrix(f)]])
    assert latex(blk) == (r"\begin{bmatrix} \operatorname{diag}(f_{t}) & W \\ W & "
                          r"\operatorname{diag}(f_{t}) \end{bmatrix}")
    assert text(blk) == "[diag(f_t), W; W, diag(f_t)]"


def test_scalar_case():
    hs, h1s, Ws = sp.Symbol("h[t]"), sp.Symbol("h[t-1]"), sp.Symbol("W")
    assert latex(Ws * (1 - hs ** 2)) == r"W (1 - h_{t}^{2})"
    assert text(Ws * (1 - hs ** 2)) == "W (1 − h_t²)"
    assert text(sp.Symbol("dh_prev/dW") * Ws + h1s) == "W (dh_{t-1}/dW) + h_{t-1}"
    assert latex(sp.tanh(Ws * h1s)) == r"\tanh(W h_{t-1})"


def test_widths():
    assert text_width("h\u0303_t") == 3                 # combining marks take no column
    assert text_width("雅可比") == 6
    assert tex_width(r"\frac{\partial h_{t}}{\partial h_{t-1}}") < tex_width(r"\partial h_{t} / \partial h_{t-1}")


def test_cell_latex():
    from derive.api import load
    assert load("rnn")._repr_latex_() == (
        r"$$\begin{aligned} h_{t} &= \tanh(U x_{t} + W h_{t-1} + b) \\ o_{t} &= V h_{t} + c \\ "
        r"y_{t} &= \operatorname{softmax}(o_{t}) \\ L_{t} &= -\bar{y}_{t}^{\top} \log \operatorname{softmax}(o_{t}) "
        r"\end{aligned}$$")

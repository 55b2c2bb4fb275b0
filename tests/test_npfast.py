"""The compiled NumPy engine (derive.npfast) against the interpreter and PyTorch."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import random

from derive.cells import get_cell
from derive.cellfile import parse_cell
from derive.ir import App, Cell, Const, Eqn, Var
from derive.npfast import FastSequence, FastStep
from derive.npstep import NumpyStep
from derive.sequence import run_backward, run_forward
from derive.shapes import concrete

BUILTINS = ["rnn", "rnn:relu", "rnn:sigmoid", "lstm", "lstm-peephole", "gru", "gru:cho", "gru:swapped"]
RTOL = 1e-12


def problem(cell, T, B, n_x=3, n_h=4, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    sizes = {"n_x": n_x, "n_h": n_h}
    params = {k: rng.normal(0, 0.5, concrete(cell.shapes[k], sizes)).astype(dtype) for k in cell.params}
    xs = rng.normal(size=(T, n_x, B)).astype(dtype)
    init = [rng.normal(0, 0.5, (n_h, B)).astype(dtype) for _ in cell.states]
    # every state seeded at odd steps, the first state at every step, some steps unseeded
    bars = [[rng.normal(size=(n_h, B)).astype(dtype) if (k == 0 or t % 2) else None
             for k in range(len(cell.states))] for t in range(T)]
    return params, xs, init, bars


def reference(cell, params, xs, init, bars):
    outs, caches = run_forward(NumpyStep(cell), xs, init, params)
    shapes = {k: v.shape for k, v in params.items()}
    return outs, run_backward(NumpyStep(cell), caches, bars, params, shapes)


def close(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    # rtol 1e-12 elementwise; the tiny atol only covers entries that cancel to ~0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-14 * max(1.0, np.abs(want).max()))


def assert_same(cell, fast, ref):
    (outs, (p0, xb, grads)), (routs, (rp0, rxb, rgrads)) = fast, ref
    for ot, rt in zip(outs, routs):
        for a, b in zip(ot, rt):
            close(a, b)
    for a, b in zip(p0, rp0):
        close(a, b)
    for a, b in zip(xb, rxb):
        close(a, b)
    assert set(grads) == set(rgrads) == set(cell.params)
    for k in rgrads:
        close(grads[k], rgrads[k])


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("T", [1, 7])
@pytest.mark.parametrize("B", [1, 3])
def test_fast_sequence_matches_numpy_step(name, T, B):
    cell = get_cell(name)
    params, xs, init, bars = problem(cell, T, B)
    seq = FastSequence(cell)
    outs, run = seq.forward(xs, init, params)
    fast = (outs, seq.backward(run, bars, params))
    assert_same(cell, fast, reference(cell, params, xs, init, bars))


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("T", [1, 7])
@pytest.mark.parametrize("B", [1, 3])
def test_fast_step_matches_numpy_step(name, T, B):
    cell = get_cell(name)
    params, xs, init, bars = problem(cell, T, B, seed=1)
    step = FastStep(cell)
    outs, caches = run_forward(step, xs, init, params)
    fast = (outs, run_backward(step, caches, bars, params, {k: v.shape for k, v in params.items()}))
    assert_same(cell, fast, reference(cell, params, xs, init, bars))


USER_CELLS = {
    "colah": """
name: colah
states: [h, c]
equations:
  - f = sigmoid(W_f @ concat(h_prev, x) + b_f)
  - i = sigmoid(W_i @ concat(h_prev, x) + b_i)
  - g = tanh(W_g @ concat(h_prev, x) + b_g)
  - c = f * c_prev + i * g
  - h = sigmoid(W_o @ concat(h_prev, x) + b_o) * tanh(c)
""",
    "zoo": """
name: zoo
states: [h, c]
equations:
  - a = softplus(W_a @ x) - exp(-(U_a @ h_prev)) * 0.5
  - b = log(1 + exp(U_b @ c_prev)) + relu(W_b @ x + b_b)
  - h = tanh(a - b) * 2
  - c = -(c_prev * sigmoid(b)) + W_c @ concat(h_prev, x)
""",
    "input-only": """
name: input-only
states: [h, c]
equations:
  - h = tanh(W @ x + b)
  - c = U @ h_prev + h
""",
}


@pytest.mark.parametrize("name", sorted(USER_CELLS))
def test_user_cells(name):
    cell = parse_cell(USER_CELLS[name])
    params, xs, init, bars = problem(cell, 5, 2, seed=2)
    seq = FastSequence(cell)
    outs, run = seq.forward(xs, init, params)
    fast = (outs, seq.backward(run, bars, params))
    assert_same(cell, fast, reference(cell, params, xs, init, bars))


def random_cell(seed):
    """A random cell over x and 1-3 states: sums, products, activations, matmuls, concat, constants."""
    rnd = random.Random(seed)
    states = ["h", "c", "d"][:1 + seed % 3]
    pool, shapes, count = [Var("x")] + [Var(s + "_prev") for s in states], {}, [0]

    def param(shape):
        count[0] += 1
        name = f"{'W' if shape[1] > 1 else 'b'}{count[0]}"
        shapes[name] = shape
        return Var(name)

    def vec(depth):
        r = rnd.random()
        if depth <= 0 or r < 0.25:
            v = rnd.choice(pool)
            return App("matmul", (param((4, 4)), v)) if v.name == "x" or rnd.random() < 0.6 else v
        if r < 0.45:
            return App(rnd.choice(["tanh", "sigmoid", "relu", "softplus", "neg"]), (vec(depth - 1),))
        if r < 0.8:
            return App(rnd.choice(["add", "sub", "mul"]), (vec(depth - 1), vec(depth - 1)))
        if r < 0.88:
            return App("add", (vec(depth - 1), param((4, 1))))
        if r < 0.94:
            return App("mul", (Const(rnd.choice([0.5, 2.0, -1.0])), vec(depth - 1)))
        return App("matmul", (param((4, 8)), App("concat", (vec(depth - 1), vec(depth - 1)))))

    eqs = []
    for name in [f"e{j}" for j in range(5)] + states:
        eqs.append(Eqn(name, App("tanh", (vec(3),))))
        pool.append(Var(name))
    return Cell(f"random{seed}", "x", tuple(states), states[0], tuple(eqs), shapes=shapes)


@pytest.mark.parametrize("seed", range(60))
def test_random_cells(seed):
    cell = random_cell(seed)
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(0, 0.5, cell.shapes[k]) for k in cell.params}
    T, B = 1 + seed % 5, 1 + seed % 3
    xs, init = rng.normal(size=(T, 4, B)), [rng.normal(size=(4, B)) for _ in cell.states]
    bars = [[rng.normal(size=(4, B)) if rng.random() < 0.7 else None for _ in cell.states] for _ in range(T)]
    seq = FastSequence(cell)
    outs, run = seq.forward(xs, init, params)
    fast = (outs, seq.backward(run, bars, params))
    assert_same(cell, fast, reference(cell, params, xs, init, bars))


def _sections(fn_src):
    """(before the loop, loop body, after the loop) of a generated function."""
    lines = fn_src.splitlines()
    k = next(n for n, ln in enumerate(lines) if ln.startswith("    for t in"))
    end = next((n for n in range(k + 1, len(lines)) if not lines[n].startswith("        ")), len(lines))
    return "\n".join(lines[:k]), "\n".join(lines[k + 1:end]), "\n".join(lines[end:])


def test_generated_lstm_is_hoisted_fused_and_deferred():
    cell = get_cell("lstm")
    params, *_ = problem(cell, 1, 1)
    src = FastSequence(cell).source(params, 3, 4)
    fwd, bwd = src.split("def backward")
    pre, loop, _ = _sections(fwd)
    assert pre.count("np.matmul") == 1      # W_i..W_o @ x for all steps: one product
    assert loop.count("np.matmul") == 1     # U_i..U_o @ h_prev: one product per step
    start, loop, post = _sections(bwd)
    assert loop.count("np.matmul") == 1     # the h_prev adjoint: one product per step
    assert post.count("np.matmul") == 3     # dU, dW and the input adjoint over all T*B columns
    # one (T, B, 4 n_h) array carries W x + b, then the gates, then the gate adjoints
    assert "np.empty((T, B" not in start and "np.concatenate" not in post


@pytest.mark.parametrize("name", BUILTINS)
def test_float32_stays_float32(name):
    cell = get_cell(name)
    params, xs, init, bars = problem(cell, 4, 2, dtype=np.float32)
    seq = FastSequence(cell)
    run = seq.forward_rows(xs.transpose(0, 2, 1), [s.T for s in init], params)
    obs = [np.ones((4, 2, 4), np.float32)] + [None] * (len(cell.states) - 1)
    p0, xb, grads = seq.backward_rows(run, obs)
    arrays = list(run.ctx.values()) + list(p0) + [xb] + list(grads.values())
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}


def test_no_sympy_or_matplotlib():
    code = ("import sys, numpy as np\n"
            "from derive.grad import torch_grads\n"
            "rng = np.random.default_rng(0)\n"
            "sd = {'weight_ih_l0': rng.normal(size=(8, 3)), 'weight_hh_l0': rng.normal(size=(8, 2)),\n"
            "      'bias_ih_l0': rng.normal(size=8), 'bias_hh_l0': rng.normal(size=8)}\n"
            "torch_grads('lstm', sd, rng.normal(size=(5, 2, 3)), engine='numpy')\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'matplotlib'))\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# ---- against PyTorch autograd (float64) ------------------------------------------------

def torch_reference(kind, sd, X, h0, c0, dout, nonlinearity="tanh"):
    torch = pytest.importorskip("torch")
    n_x, n_h = sd["weight_ih_l0"].shape[1], sd["weight_hh_l0"].shape[1]
    layers = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in sd)
    bidir = any(k.endswith("_reverse") for k in sd)
    kw = dict(num_layers=layers, bidirectional=bidir)
    if kind == "rnn":
        m = torch.nn.RNN(n_x, n_h, nonlinearity=nonlinearity, **kw)
    else:
        m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](n_x, n_h, **kw)
    m = m.double()
    m.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    x = torch.tensor(X, requires_grad=True)
    h = torch.tensor(h0, requires_grad=True)
    c = torch.tensor(c0, requires_grad=True) if kind == "lstm" else None
    out, _ = m(x, (h, c) if kind == "lstm" else h)
    (torch.tensor(dout) * out).sum().backward()
    res = {"output": out.detach().numpy(), "input": x.grad.numpy(), "h0": h.grad.numpy()}
    if c is not None:
        res["c0"] = c.grad.numpy()
    res.update({k: p.grad.numpy() for k, p in m.named_parameters()})
    return res


def random_model(kind, n_x, n_h, layers, bidir, T, B, seed=0):
    rng = np.random.default_rng(seed)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    dirs = 2 if bidir else 1
    sd = {}
    for l in range(layers):
        n_in = n_x if l == 0 else dirs * n_h
        for sfx in ([""] + (["_reverse"] if bidir else [])):
            sd[f"weight_ih_l{l}{sfx}"] = rng.normal(0, 0.4, (gates * n_h, n_in))
            sd[f"weight_hh_l{l}{sfx}"] = rng.normal(0, 0.4, (gates * n_h, n_h))
            sd[f"bias_ih_l{l}{sfx}"] = rng.normal(0, 0.4, gates * n_h)
            sd[f"bias_hh_l{l}{sfx}"] = rng.normal(0, 0.4, gates * n_h)
    X = rng.normal(size=(T, B, n_x))
    h0 = rng.normal(0, 0.5, (layers * dirs, B, n_h))
    c0 = rng.normal(0, 0.5, (layers * dirs, B, n_h))
    dout = rng.normal(size=(T, B, dirs * n_h))
    return sd, X, h0, c0, dout


def rel_err(a, b):
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


@pytest.mark.parametrize("kind, act, layers, bidir, T", [
    ("rnn", "tanh", 1, False, 9),
    ("rnn", "relu", 1, False, 9),
    ("lstm", "tanh", 1, False, 9),
    ("gru", "tanh", 1, False, 9),
    ("lstm", "tanh", 2, False, 6),
    ("gru", "tanh", 1, True, 6),
    ("lstm", "tanh", 1, False, 40),
])
def test_torch_grads_match_pytorch(kind, act, layers, bidir, T):
    from derive.grad import torch_grads
    sd, X, h0, c0, dout = random_model(kind, 5, 4, layers, bidir, T, 3)
    want = torch_reference(kind, sd, X, h0, c0, dout, act)
    got = torch_grads(kind, sd, X, h0, c0 if kind == "lstm" else None, dout, act, engine="numpy")
    assert set(want) <= set(got)
    for k, w in want.items():
        assert got[k].shape == w.shape, k
        assert rel_err(got[k], w) <= 1e-10, (k, rel_err(got[k], w))

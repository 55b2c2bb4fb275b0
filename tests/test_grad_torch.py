"""`bptt grad` (both engines) against PyTorch autograd, float64: the contract's must-show cases."""
import numpy as np
import pytest

from derive.api import load
from derive.grad import cell_grads, torch_grads

torch = pytest.importorskip("torch")
torch.set_default_dtype(torch.float64)

CASES = [  # kind, layers, bidirectional, nonlinearity, T
    ("rnn", 1, False, "tanh", 6), ("rnn", 1, False, "relu", 6), ("lstm", 1, False, "tanh", 6),
    ("gru", 1, False, "tanh", 6), ("lstm", 2, False, "tanh", 5), ("gru", 1, True, "tanh", 5),
    ("lstm", 1, False, "tanh", 40),
]
TOL = {"symbolic": 1e-9, "numpy": 1e-10}


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def reference(kind, layers, bi, nl, T, seed=0, B=3, n_x=4, n_h=5):
    rng = np.random.default_rng(seed)
    kw = {"nonlinearity": nl} if kind == "rnn" else {}
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    m = mod(n_x, n_h, num_layers=layers, bidirectional=bi, **kw)
    D = 2 if bi else 1
    X = torch.tensor(rng.normal(size=(T, B, n_x)), requires_grad=True)
    h0 = torch.tensor(rng.normal(size=(layers * D, B, n_h)), requires_grad=True)
    c0 = torch.tensor(rng.normal(size=(layers * D, B, n_h)), requires_grad=True)
    dout = rng.normal(size=(T, B, D * n_h))
    out, _ = m(X, (h0, c0) if kind == "lstm" else h0)
    (out * torch.tensor(dout)).sum().backward()
    ref = {k: p.grad.numpy() for k, p in m.named_parameters()}
    ref.update(input=X.grad.numpy(), h0=h0.grad.numpy(), output=out.detach().numpy())
    if kind == "lstm":
        ref["c0"] = c0.grad.numpy()
    sd = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    args = (X.detach().numpy(), h0.detach().numpy(), c0.detach().numpy() if kind == "lstm" else None, dout)
    return ref, sd, args


@pytest.mark.parametrize("engine", ["symbolic", "numpy"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-L{c[1]}-{'bi' if c[2] else 'uni'}-{c[3]}-T{c[4]}")
def test_grad_matches_torch(case, engine):
    kind, layers, bi, nl, T = case
    ref, sd, (X, h0, c0, dout) = reference(kind, layers, bi, nl, T)
    got = torch_grads(kind, sd, X, h0, c0, dout, nl, engine=engine)
    assert set(got) == set(ref)
    for k in ref:
        assert rel(got[k], ref[k]) <= TOL[engine], k


def colah_params(m, n_h):
    """Torch LSTM weights written as colah's concatenated matrices [U_g | W_g]."""
    W, U = m.weight_ih_l0.detach().numpy(), m.weight_hh_l0.detach().numpy()
    b = (m.bias_ih_l0 + m.bias_hh_l0).detach().numpy()
    out = {}
    for k, g in enumerate(["i", "f", "C", "o"]):
        rows = slice(k * n_h, (k + 1) * n_h)
        out[f"W_{g}"] = np.hstack([U[rows], W[rows]])
        out[f"b_{g}"] = b[rows].reshape(-1, 1)
    return out


@pytest.mark.parametrize("engine", ["symbolic", "numpy"])
def test_user_cell_file_matches_torch(engine):
    """A cell written in a YAML file (concatenation form) equals nn.LSTM, gradients included."""
    ref, sd, (X, h0, c0, dout) = reference("lstm", 1, False, "tanh", 7)
    m = torch.nn.LSTM(4, 5)
    m.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    cell = load(cell_file="derive/examples/colah_lstm.yaml")
    got = cell_grads(cell, colah_params(m, 5), X, {"h": h0[0], "c": c0[0]}, dout, engine=engine)
    assert rel(got["output"], ref["output"]) <= 1e-12
    assert rel(got["input"], ref["input"]) <= TOL[engine]
    assert rel(got["h0"], ref["h0"][0]) <= TOL[engine] and rel(got["c0"], ref["c0"][0]) <= TOL[engine]
    n_h = 5
    for k, g in enumerate(["i", "f", "C", "o"]):
        rows = slice(k * n_h, (k + 1) * n_h)
        want = np.hstack([ref["weight_hh_l0"][rows], ref["weight_ih_l0"][rows]])
        assert rel(got[f"W_{g}"], want) <= TOL[engine], g
        assert rel(got[f"b_{g}"].ravel(), ref["bias_ih_l0"][rows]) <= TOL[engine], g


def test_float32_engine_agrees_loosely():
    ref, sd, (X, h0, c0, dout) = reference("gru", 1, False, "tanh", 6)
    got = torch_grads("gru", sd, X, h0, None, dout, engine="symbolic", dtype=np.float32)
    assert got["weight_hh_l0"].dtype == np.float32
    assert rel(got["weight_hh_l0"].astype(float), ref["weight_hh_l0"]) <= 1e-4

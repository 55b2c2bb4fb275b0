"""Sanity tests of the independent oracles (tests/oracles) against each other.

* element-level SymPy: total Jacobian of the unrolled net == product of the local
  step Jacobians (chain rule), for every cell;
* element-level SymPy vs torch.nn: same forward, and dL/dh0 (dL/dc0) from torch ==
  dout_T^T times the SymPy total Jacobian;
* torch_grads vs central finite differences.
"""

import numpy as np
import pytest

try:  # works whether or not tests/ is a package / on sys.path
    from tests.oracles import torch_ref, unrolled
except ImportError:  # pragma: no cover
    from oracles import torch_ref, unrolled


T = 2
N = 2


def _seed(key: str) -> int:
    return sum(map(ord, key))  # deterministic, differs per cell


# --------------------------------------------------------------------------- SymPy chain rule
@pytest.mark.parametrize("key", unrolled.CELL_KEYS)
def test_total_jacobian_is_product_of_step_jacobians(key):
    u = unrolled.build(key, T, n_x=N, n_h=N)
    assert len(u.states) == T + 1 and u.states[0] == u.init and len(u.intermediates) == T
    point = unrolled.numeric_point(u, np.random.default_rng(_seed(key)))
    names = u.state_names
    n = N * len(names)

    def block(J_of):  # stack the per-state-pair blocks into one (n, n) matrix
        M = np.zeros((n, n))
        for a, o in enumerate(names):
            for b, w in enumerate(names):
                M[a * N:(a + 1) * N, b * N:(b + 1) * N] = J_of(o, w)
        return M

    prod = np.eye(n)
    for t in range(1, T + 1):
        step = block(
            lambda o, w: unrolled.evaluate(
                unrolled.substitute_previous(u, t, unrolled.step_jacobian(u, t, o, w)), point
            )
        )
        prod = step @ prod
    total = block(lambda o, w: unrolled.evaluate(unrolled.total_jacobian(u, o, w), point))
    assert np.any(np.abs(total) > 1e-3), "degenerate test point"
    np.testing.assert_allclose(total, prod, rtol=1e-12, atol=1e-14)


def test_step_jacobian_uses_fresh_previous_state_symbols():
    u = unrolled.build("lstm", T)
    J = unrolled.step_jacobian(u, 2, "c", "h")
    prev = unrolled.previous_state_symbols(u, 2)
    assert set(prev["h"]) & J.free_symbols
    assert not set(u.init["h"]) & J.free_symbols  # not expressed through h0
    # c_t depends on c_prev only through f * c_prev (no peephole): diag(f)
    Jcc = unrolled.step_jacobian(u, 1, "c", "c")
    assert Jcc[0, 1] == 0 and Jcc[1, 0] == 0


def test_cell_equations_spot_checks():
    # relu really is Max(0, a), sigmoid really is 1/(1+exp(-a)): evaluate by hand
    u = unrolled.build("rnn-relu", 1, n_x=1, n_h=1)
    s = unrolled.symbol
    pt = {s("U_0_0"): 1.0, s("W_0_0"): 2.0, s("b_0"): -5.0, s("x1_0"): 1.0, s("h0_0"): 1.0}
    assert unrolled.evaluate(u.states[1]["h"], pt)[0, 0] == 0.0
    pt[s("b_0")] = 0.5
    assert unrolled.evaluate(u.states[1]["h"], pt)[0, 0] == pytest.approx(3.5)
    g = unrolled.build("gru-swapped", 1, n_x=1, n_h=1)
    pt = {sym: 0.0 for sym in g.leaf_symbols()}
    pt[s("h0_0")] = 1.0  # z = 1/2, h_tilde = tanh(0) = 0 -> h = (1 - z) * 1
    assert unrolled.evaluate(g.states[1]["h"], pt)[0, 0] == pytest.approx(0.5, rel=1e-15)
    pt[s("b_z_0")] = 1.0  # z = sigmoid(1)
    z = 1 / (1 + np.exp(-1.0))
    assert unrolled.evaluate(g.states[1]["h"], pt)[0, 0] == pytest.approx(1 - z, rel=1e-14)
    c = unrolled.build("gru-cho", 1, n_x=1, n_h=1)
    assert unrolled.evaluate(c.states[1]["h"], pt)[0, 0] == pytest.approx(z, rel=1e-14)


# --------------------------------------------------------------------------- SymPy vs torch
@pytest.mark.parametrize("key", ["rnn-tanh", "rnn-relu", "lstm", "gru-pytorch"])
def test_unrolled_matches_torch(key):
    pytest.importorskip("torch")
    u = unrolled.build(key, T, n_x=N, n_h=N)
    rng = np.random.default_rng(_seed(key) + 1)
    point = unrolled.numeric_point(u, rng)
    params = {k: unrolled.evaluate(m, point) for k, m in u.params.items()}
    kind, sd, act = torch_ref.from_cell_params(key, params)
    X = np.stack([unrolled.evaluate(x, point).reshape(1, N) for x in u.xs])  # (T, 1, n_x)
    h0 = unrolled.evaluate(u.init["h"], point).reshape(1, 1, N)
    c0 = unrolled.evaluate(u.init["c"], point).reshape(1, 1, N) if "c" in u.init else None
    dout = np.zeros((T, 1, N))
    dout[-1] = rng.standard_normal((1, N))  # loss on h_T only
    res = torch_ref.torch_grads(kind, sd, X, h0=h0, c0=c0, dout=dout, nonlinearity=act)

    for t in range(1, T + 1):
        h_t = unrolled.evaluate(u.states[t]["h"], point).reshape(N)
        np.testing.assert_allclose(res["output"][t - 1, 0], h_t, rtol=1e-12, atol=1e-14)

    for s in u.state_names:  # dL/ds0 = dout_T^T dh_T/ds0
        J = unrolled.evaluate(unrolled.total_jacobian(u, "h", s), point)
        np.testing.assert_allclose(res[f"{s}0"][0, 0], dout[-1, 0] @ J, rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------- torch vs FD
def _loss(kind, sd, X, h0, c0, dout, act):
    out = torch_ref.torch_grads(kind, sd, X, h0=h0, c0=c0, dout=dout, nonlinearity=act)["output"]
    return float(np.sum(dout * out))


@pytest.mark.parametrize(
    "kind,act,layers,bidir",
    [("rnn", "tanh", 1, False), ("rnn", "relu", 2, True), ("lstm", "tanh", 2, True), ("gru", "tanh", 2, True)],
)
def test_torch_grads_finite_differences(kind, act, layers, bidir):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    n_x, n_h, Tn, B = 3, 2, 3, 2
    D = 2 if bidir else 1
    sd = torch_ref.random_state_dict(kind, n_x, n_h, layers, bidir, rng=rng)

    # keys, order and shapes are PyTorch's own
    ctor = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    ref = ctor(n_x, n_h, num_layers=layers, bidirectional=bidir)
    assert list(sd) == list(ref.state_dict())
    assert all(sd[k].shape == tuple(v.shape) for k, v in ref.state_dict().items())

    X = rng.standard_normal((Tn, B, n_x))
    h0 = rng.standard_normal((layers * D, B, n_h))
    c0 = rng.standard_normal((layers * D, B, n_h)) if kind == "lstm" else None
    dout = rng.standard_normal((Tn, B, D * n_h))
    res = torch_ref.torch_grads(kind, sd, X, h0=h0, c0=c0, dout=dout, nonlinearity=act)

    assert res["output"].shape == (Tn, B, D * n_h)
    expected = set(sd) | {"input", "h0", "output"} | ({"c0"} if kind == "lstm" else set())
    assert set(res) == expected
    for k in sd:
        assert res[k].shape == sd[k].shape

    arrays = dict(sd, input=X, h0=h0, **({"c0": c0} if c0 is not None else {}))
    eps = 1e-6
    for name in arrays:
        for _ in range(2):
            idx = tuple(rng.integers(0, s) for s in arrays[name].shape)

            def shifted(delta):
                a = {k: np.array(v, copy=True) for k, v in arrays.items()}
                a[name][idx] += delta
                X_, h0_, c0_ = a.pop("input"), a.pop("h0"), a.pop("c0", None)
                return _loss(kind, a, X_, h0_, c0_, dout, act)

            fd = (shifted(eps) - shifted(-eps)) / (2 * eps)
            assert res[name][idx] == pytest.approx(fd, rel=1e-6, abs=1e-8), (name, idx)


def test_torch_grads_defaults():
    pytest.importorskip("torch")
    sd = torch_ref.random_state_dict("lstm", 2, 3, rng=np.random.default_rng(1))
    X = np.random.default_rng(2).standard_normal((4, 1, 2))
    res = torch_ref.torch_grads("lstm", sd, X)
    assert res["h0"].shape == res["c0"].shape == (1, 1, 3)
    # default dout is ones: L = sum(output), so dL/d(bias_ih) == dL/d(bias_hh)
    np.testing.assert_allclose(res["bias_ih_l0"], res["bias_hh_l0"], rtol=1e-12)
    assert torch_ref.HAVE_TORCH

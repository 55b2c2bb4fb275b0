"""Gradient-flow experiments: numbers against theory, determinism, figures, ``bptt flow``."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from derive import flow
from derive.cli import cli
from derive.errors import BpttError
from derive.npstep import NumpyStep

os.environ.setdefault("MPLBACKEND", "Agg")


def run_bptt(*args, cwd=None):
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; main(sys.argv[1:])",
                        *args], capture_output=True, text=True, cwd=cwd, env=env)
    return p.returncode, p.stdout, p.stderr


def flow_json(*args):
    r = CliRunner().invoke(cli, ["flow", *args, "--json"])
    assert r.exit_code == 0, (r.output, r.exception)
    return r.stdout


# ----------------------------------------------------------------------------- Jacobians


def fd_jacobian(cell, params, x, prevs, eps=1e-6):
    """Central differences of the forward step (NumpyStep) in every state entry."""
    step = NumpyStep(cell)
    sizes = [p.shape[0] for p in prevs]
    v0 = np.concatenate(prevs)
    split = lambda v: np.split(v, np.cumsum(sizes)[:-1])
    cols = []
    for j in range(v0.shape[0]):
        e = np.zeros_like(v0)
        e[j] = eps
        up = np.concatenate(step.forward(x, split(v0 + e), params)[0])
        down = np.concatenate(step.forward(x, split(v0 - e), params)[0])
        cols.append((up - down)[:, 0] / (2 * eps))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("spec", ["rnn:tanh", "rnn:sigmoid", "lstm", "gru"])
@pytest.mark.parametrize("scheme", ["xavier", "pytorch"])
def test_step_jacobian_matches_finite_differences(spec, scheme):
    kind, _, cell = flow.parse_cell(spec)
    rng = np.random.default_rng(42)
    n_x, n_h = 3, 5
    params = flow.make_params(kind, cell, n_x, n_h, scheme, rng, gain=1.3, gate_bias=1.0)
    x = rng.standard_normal((n_x, 1))
    prevs = [0.5 * rng.standard_normal((n_h, 1)) for _ in cell.states]
    states, J = flow.step_jacobian(cell, params, x, prevs)
    assert J.shape == (n_h * len(cell.states),) * 2
    np.testing.assert_allclose(J, fd_jacobian(cell, params, x, prevs), rtol=1e-6, atol=1e-9)
    forward = NumpyStep(cell).forward(x, prevs, params)[0]
    for a, b in zip(states, forward):
        np.testing.assert_array_equal(a, b)


def test_lstm_cell_block_is_diag_forget_gate():
    kind, _, cell = flow.parse_cell("lstm")
    rng = np.random.default_rng(0)
    params = flow.make_params(kind, cell, 2, 4, "xavier", rng, gate_bias=3.0)
    x, prevs = rng.standard_normal((2, 1)), [rng.standard_normal((4, 1)) for _ in range(2)]
    _, J = flow.step_jacobian(cell, params, x, prevs)
    env = NumpyStep(cell).forward(x, prevs, params)[1]
    np.testing.assert_allclose(J[4:, 4:], np.diag(env["f"][:, 0]), rtol=1e-14, atol=0)


def test_relu_rnn_jacobian():
    kind, _, cell = flow.parse_cell("rnn:relu")
    rng = np.random.default_rng(1)
    params = flow.make_params(kind, cell, 2, 6, "xavier", rng)
    x, h = rng.standard_normal((2, 1)), rng.standard_normal((6, 1))
    _, J = flow.step_jacobian(cell, params, x, [h])
    a = params["U"] @ x + params["W"] @ h + params["b"]
    np.testing.assert_allclose(J, np.diag((a[:, 0] > 0).astype(float)) @ params["W"], rtol=1e-14)


def test_log_product_norms_is_the_spectral_norm_of_the_product():
    rng = np.random.default_rng(3)
    Js = [rng.standard_normal((4, 4)) * 0.3 for _ in range(6)]
    logs = flow.log_product_norms(Js)
    for tk in range(1, 7):
        P = np.eye(4)
        for J in Js[::-1][:tk]:  # J_T ... J_{k+1}
            P = P @ J
        assert np.isclose(np.exp(logs[tk - 1]), np.linalg.norm(P, 2), rtol=1e-12)
    tiny = flow.log_product_norms([np.eye(3) * 1e-200] * 5)  # no underflow: 1e-1000 in logs
    np.testing.assert_allclose(tiny, np.log(1e-200) * np.arange(1, 6), rtol=1e-12)


def test_activation_gamma():
    assert flow.activation_gamma("sigmoid") == 0.25
    assert flow.activation_gamma("tanh") == 1.0
    assert flow.activation_gamma("relu") == 1.0


# ----------------------------------------------------------------------------- numbers vs theory


@pytest.mark.parametrize("curve", [flow.Curve("rnn:tanh", "small"), flow.Curve("rnn:sigmoid", "xavier"),
                                   flow.Curve("rnn:relu", "orthogonal", gain=2.0)])
def test_rnn_below_pascanu_bound_every_seed(curve):
    """‖∂h_T/∂h_k‖ ≤ (γ‖W‖)^{T−k} for every seed and every T−k (relative slack 1e-12)."""
    runs = flow.curve_runs(curve, steps=60, hidden=16, n_x=4, seeds=4, seed=0)
    gamma = flow.activation_gamma(runs["variant"])
    tk = np.arange(1, 61)
    for logs, log_w in zip(runs["logs"], runs["log_wnorm"]):
        assert np.all(logs <= tk * (np.log(gamma) + log_w) + 1e-12)


def test_rnn_small_decays_at_least_as_fast_as_bound():
    out = flow.decay([flow.Curve("rnn:tanh", "small")], steps=80, hidden=16, seeds=5, seed=1)
    c = out["curves"][0]
    mean, bound = np.array(c["mean"]), np.array(c["bound"])
    assert c["t_minus_k"] == list(range(1, 81))
    assert np.all(mean <= bound * (1 + 1e-12))
    assert np.all(np.array(c["lo"]) <= mean) and np.all(mean <= np.array(c["hi"]))
    # the per-step decay ratio of the curve is no slower than the bound's
    assert np.all(np.diff(np.log(mean)) <= np.log(c["gamma"] * c["w_norm"]) + 1e-9)
    assert mean[-1] < 1e-60


def test_lstm_cell_path_with_forget_bias_decays_much_slower_than_rnn():
    curves = [flow.Curve("rnn:tanh", "small"), flow.Curve("lstm", "small", gate_bias=3.0, path="cell"),
              flow.Curve("lstm", "small", gate_bias=0.0, path="cell")]
    out = flow.decay(curves, steps=60, hidden=16, seeds=3, seed=0)
    rnn, lstm3, lstm0 = (np.array(c["mean"]) for c in out["curves"])
    assert lstm3[-1] > 1e-3          # ≈ σ(3)^60 ≈ 0.055
    assert rnn[-1] < 1e-40
    assert np.all(lstm3[9:] > 1e10 * rnn[9:])
    assert np.all(lstm3 > lstm0)     # a larger forget bias keeps more
    np.testing.assert_allclose(lstm3[-1], (1 / (1 + np.exp(-3))) ** 60, rtol=0.3)


def test_exploding_scenario_grows():
    title, curves, _ = flow.SCENARIOS["exploding"]
    out = flow.decay(curves, steps=60, hidden=32, seeds=3, seed=0)
    for c in out["curves"]:
        assert c["mean"][-1] > 1e2
        assert np.all(np.array(c["mean"]) <= np.array(c["bound"]) * (1 + 1e-12))


def test_overflowing_forward_pass_is_a_clear_error():
    with pytest.raises(BpttError, match="overflowed at step .*smaller --gain"):
        flow.decay([flow.Curve("rnn:relu", "orthogonal", gain=10.0)], steps=600, hidden=16, seeds=1)


def test_huge_norms_become_null_not_inf():
    out = flow.decay([flow.Curve("rnn:tanh", "orthogonal", gain=3.0)], steps=700, hidden=8, seeds=1)
    c = out["curves"][0]
    assert None in c["bound"] and None not in c["mean"]  # 3^700 > 1e308
    json.dumps(out, allow_nan=False)


def test_curves_do_not_depend_on_their_neighbours():
    a = flow.decay([flow.Curve("gru", "xavier")], steps=20, hidden=8, seeds=2, seed=5)["curves"][0]
    b = flow.decay([flow.Curve("rnn", "small"), flow.Curve("gru", "xavier")], steps=20, hidden=8,
                   seeds=2, seed=5)["curves"][1]
    assert a == b


# ----------------------------------------------------------------------------- clipping


def test_sum_task_gradient_matches_finite_differences():
    kind, _, cell = flow.parse_cell("rnn:tanh")
    rng = np.random.default_rng(0)
    p = flow.make_params(kind, cell, 1, 4, "orthogonal", rng, gain=1.2)
    p["V"], p["c"] = rng.standard_normal((1, 4)), np.array([[0.1]])
    xs = rng.standard_normal((6, 1, 3))
    step = NumpyStep(cell)
    loss, g = flow.sum_task(step, p, xs)
    assert set(g) == set(p)
    eps = 1e-6
    for k in p:
        for idx in [(0, 0), tuple(np.array(p[k].shape) - 1)]:
            up = {n: v.copy() for n, v in p.items()}
            down = {n: v.copy() for n, v in p.items()}
            up[k][idx] += eps
            down[k][idx] -= eps
            fd = (flow.sum_task(step, up, xs, grad=False) - flow.sum_task(step, down, xs, grad=False)) / (2 * eps)
            assert np.isclose(g[k][idx], fd, rtol=1e-6, atol=1e-9), (k, idx)


def test_clip_by_norm():
    g = {"a": np.array([[3.0]]), "b": np.array([[4.0]])}
    clipped, before, after = flow.clip_by_norm(g, 1.0)
    assert before == 5.0 and np.isclose(after, 1.0)
    np.testing.assert_allclose(clipped["a"], [[0.6]])
    same, before, after = flow.clip_by_norm(g, 10.0)
    assert before == after == 5.0 and same["b"][0, 0] == 4.0


def test_clip_training_numbers():
    r = flow.clip_training(iters=40, seed=0)
    before, after = np.array(r["norm_before"]), np.array(r["norm_after"])
    v = r["clip"]
    assert np.all(after <= v * (1 + 1e-12))
    np.testing.assert_array_equal(after[before <= v], before[before <= v])
    assert np.sum(before > v) >= 10  # large init: many steps need clipping
    assert r["norm_before"][0] == r["norm_unclipped"][0]  # same start, same first batch
    assert max(x for x in r["norm_unclipped"] if x is not None) > 10 * v  # plain SGD meets a spike


# ----------------------------------------------------------------------------- activations


def test_activation_slopes():
    r = flow.activation_slopes()
    c = r["curves"]
    assert c["sigmoid"]["max"] == 0.25 and c["sigmoid"]["argmax_from"] == c["sigmoid"]["argmax_to"] == 0.0
    assert c["tanh"]["max"] == 1.0 and c["tanh"]["argmax_from"] == 0.0
    assert c["relu"]["max"] == 1.0 and c["relu"]["argmax_from"] > 0 and c["relu"]["argmax_to"] == 6.0
    assert r["x"][0] == -6.0 and r["x"][-1] == 6.0


# ----------------------------------------------------------------------------- CLI


def test_flow_json_deterministic_and_shaped():
    args = ["--cells", "rnn,lstm,gru", "--steps", "30", "--hidden", "8", "--seeds", "3", "--seed", "4"]
    a, b = flow_json(*args), flow_json(*args)
    assert a == b
    assert a != flow_json(*args[:-1], "5")
    data = json.loads(a)
    assert a.strip() == json.dumps(data, sort_keys=True, ensure_ascii=False)  # sorted keys
    labels = [c["cell"] + "/" + c["path"] for c in data["curves"]]
    assert labels == ["rnn/state", "lstm/state", "lstm/cell", "gru/state"]
    for c in data["curves"]:
        assert c["t_minus_k"] == list(range(1, 31))
        assert len(c["mean"]) == len(c["lo"]) == len(c["hi"]) == 30
        assert (c["bound"] is not None) == (c["cell"] == "rnn")


@pytest.mark.parametrize("scenario", list(flow.SCENARIOS))
def test_scenarios_run(scenario):
    data = json.loads(flow_json("--scenario", scenario, "--steps", "20", "--hidden", "8", "--seeds", "2"))
    assert len(data["curves"]) == len(flow.SCENARIOS[scenario][1])


def test_clip_and_activations_json():
    c = json.loads(flow_json("--kind", "clip", "--iters", "15", "--steps", "10"))
    assert len(c["norm_before"]) == 15 and c["clip"] == 1.0
    a = json.loads(flow_json("--kind", "activations"))
    assert a["curves"]["sigmoid"]["max"] == 0.25


@pytest.mark.parametrize("kind", ["decay", "clip", "activations"])
def test_plots_written_and_identical_for_same_seed(tmp_path, kind):
    small = ["--steps", "15", "--hidden", "6", "--seeds", "2"] + (["--iters", "10"] if kind == "clip" else [])
    if kind == "activations":
        small = []
    files = {}
    for ext in ("png", "pdf", "svg"):
        for i in (1, 2):  # two separate processes
            out = tmp_path / f"{kind}{i}.{ext}"
            code, _, err = run_bptt("flow", "--kind", kind, *small, "-o", str(out))
            assert code == 0, err
            files[(ext, i)] = out.read_bytes()
        assert files[(ext, 1)] == files[(ext, 2)], ext
    assert files[("png", 1)].startswith(b"\x89PNG")
    assert files[("pdf", 1)].startswith(b"%PDF")
    assert b"CreationDate" not in files[("pdf", 1)]
    assert b"<svg" in files[("svg", 1)]


@pytest.mark.parametrize("args,needle", [
    (["--hidden", "0", "-o", "f.png"], "--hidden"),
    (["--steps", "0", "-o", "f.png"], "--steps"),
    (["--cells", "rnn,transformer", "-o", "f.png"], "unknown cell 'transformer'"),
    (["-o", "no/such/dir/f.png"], "does not exist"),
    (["-o", "f.jpg"], "unknown file type '.jpg'"),
    (["-o", "."], "unknown file type"),
    (["--seeds", "0", "--json"], "--seeds"),
    (["--init", "he", "--json"], "--init"),
    (["--kind", "movie", "--json"], "--kind"),
    (["--scenario", "lstm", "--cells", "rnn", "--json"], "--scenario"),
    (["--kind", "clip", "--clip", "0", "--json"], "--clip"),
    ([], "nothing to do"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    code, out, err = run_bptt("flow", *args, cwd=tmp_path)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bptt: error: ") and needle in lines[0], err
    assert not any(p.suffix in (".png", ".jpg") for p in tmp_path.iterdir())


def test_bad_input_via_cli_runner():
    r = CliRunner().invoke(cli, ["flow", "--hidden", "0", "--json"])
    assert isinstance(r.exception, BpttError)


def test_numpy_modules_import_no_matplotlib_or_sympy():
    code = ("import sys, derive.flow, derive.weights, derive.cmd_flow, derive.cmd_init; "
            "bad = [m for m in ('matplotlib', 'sympy') if m in sys.modules]; "
            "from derive import flow; flow.decay([flow.Curve('lstm', path='cell')], steps=3, hidden=2, seeds=1); "
            "flow.clip_training(iters=2, steps=3, hidden=2); flow.activation_slopes(); "
            "bad += [m for m in ('matplotlib', 'sympy') if m in sys.modules]; print(bad)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"

"""PyTorch-layout weights: init schemes, .npz/.pt reading and writing, validation, ``bptt init``."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from derive.cli import cli
from derive.errors import BpttError
from derive.weights import (SCHEMES, expected_shapes, init_weights, load_weights, npz_bytes, read_weights,
                            save_weights, validate)

TORCH_CLASSES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def run_bptt(*args, cwd=None):
    """The installed entry point in a fresh interpreter: (exit code, stdout, stderr)."""
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; main(sys.argv[1:])",
                        *args], capture_output=True, text=True, cwd=cwd, env=env)
    return p.returncode, p.stdout, p.stderr


def one_error_line(stderr):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bptt: error: "), stderr
    return lines[0]


# ----------------------------------------------------------------------------- init


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True), (3, False)])
def test_init_matches_torch_state_dict(kind, layers, bidirectional):
    torch = pytest.importorskip("torch")
    sd = init_weights(kind, 3, 5, "xavier", np.random.default_rng(0), layers, bidirectional)
    model = getattr(torch.nn, TORCH_CLASSES[kind])(3, 5, num_layers=layers, bidirectional=bidirectional)
    ref = model.state_dict()
    assert list(sd) == list(ref)  # same keys, same order
    for k, t in ref.items():
        assert sd[k].shape == tuple(t.shape), k
        assert sd[k].dtype == np.float64
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)


def test_lstm_key_set_is_torch_lstm():
    torch = pytest.importorskip("torch")
    ref = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True).state_dict()
    sd = init_weights("lstm", 4, 6, "pytorch", np.random.default_rng(1), layers=2, bidirectional=True)
    assert set(sd) == set(ref)
    assert {k: tuple(v.shape) for k, v in ref.items()} == {k: v.shape for k, v in sd.items()}


def test_expected_shapes_without_torch():
    shapes = expected_shapes("gru", 3, 4, layers=2, bidirectional=True)
    assert shapes["weight_ih_l0"] == (12, 3)
    assert shapes["weight_ih_l1_reverse"] == (12, 8)  # layer 1 reads both directions
    assert shapes["bias_hh_l1"] == (12,)
    assert len(shapes) == 16


def test_schemes():
    n_x, n_h = 7, 16
    draw = lambda s: init_weights("lstm", n_x, n_h, s, np.random.default_rng(3))
    small = draw("small")
    assert 0.005 < small["weight_hh_l0"].std() < 0.015
    assert not small["bias_ih_l0"].any() and not small["bias_hh_l0"].any()

    xav = draw("xavier")
    a_ih, a_hh = np.sqrt(6 / (n_x + n_h)), np.sqrt(6 / (2 * n_h))  # per gate block: fan_out = n_h
    assert np.abs(xav["weight_ih_l0"]).max() <= a_ih and np.abs(xav["weight_ih_l0"]).max() > 0.8 * a_ih
    assert np.abs(xav["weight_hh_l0"]).max() <= a_hh
    assert not xav["bias_hh_l0"].any()

    orth = draw("orthogonal")
    for block in np.split(orth["weight_hh_l0"], 4):  # each recurrent gate block is orthogonal
        np.testing.assert_allclose(block.T @ block, np.eye(n_h), atol=1e-12)
    assert np.abs(orth["weight_ih_l0"]).max() <= a_ih  # input blocks: xavier

    pt = draw("pytorch")
    k = 1 / np.sqrt(n_h)
    for key in pt:
        assert np.abs(pt[key]).max() <= k
    assert pt["bias_ih_l0"].any()  # like nn.LSTM, biases are drawn too


def test_rng_passed_in_and_global_rng_untouched():
    state = np.random.get_state()
    a = init_weights("gru", 3, 4, "orthogonal", np.random.default_rng(7))
    b = init_weights("gru", 3, 4, "orthogonal", np.random.default_rng(7))
    c = init_weights("gru", 3, 4, "orthogonal", np.random.default_rng(8))
    after = np.random.get_state()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["weight_hh_l0"], c["weight_hh_l0"])
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


@pytest.mark.parametrize("bad", [dict(kind="cnn"), dict(scheme="he"), dict(n_h=0), dict(n_x=-1),
                                 dict(layers=0), dict(rng=np.random.RandomState(0))])
def test_init_rejects_bad_arguments(bad):
    args = dict(kind="rnn", n_x=2, n_h=3, scheme="small", rng=np.random.default_rng(0))
    args.update(bad)
    with pytest.raises(BpttError):
        init_weights(**args)


# ----------------------------------------------------------------------------- files


def test_npz_round_trip(tmp_path):
    sd = init_weights("lstm", 3, 4, "pytorch", np.random.default_rng(0), layers=2, bidirectional=True)
    path = tmp_path / "w.npz"
    save_weights(path, sd)
    back, info = load_weights(path)
    assert list(back) == list(sd)
    assert all(np.array_equal(back[k], sd[k]) for k in sd)
    assert info == {"kind": "lstm", "layers": 2, "dirs": 2, "n_x": 3, "n_h": 4, "bias": True}


def test_npz_bytes_are_deterministic():
    """np.savez stamps every zip entry with the fixed date 1980-01-01, so bytes depend only on the data."""
    sd = init_weights("gru", 2, 3, "xavier", np.random.default_rng(5))
    data = npz_bytes(sd)
    assert data == npz_bytes({k: v.copy() for k, v in sd.items()})
    import io
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_cli_init_same_seed_same_bytes(tmp_path):
    runner = CliRunner()
    paths = [tmp_path / f"w{i}.npz" for i in range(3)]
    for p, seed in zip(paths, (11, 11, 12)):
        r = runner.invoke(cli, ["init", "lstm", "--hidden", "8", "--input", "3", "--layers", "2",
                                "--bidirectional", "--scheme", "orthogonal", "--seed", str(seed), "-o", str(p)])
        assert r.exit_code == 0, r.output
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    sd, info = load_weights(paths[0])
    assert (info["layers"], info["dirs"], info["n_x"], info["n_h"]) == (2, 2, 3, 8)
    # and a separate process writes the very same bytes
    code, out, err = run_bptt("init", "lstm", "--hidden", "8", "--input", "3", "--layers", "2", "--bidirectional",
                              "--scheme", "orthogonal", "--seed", "11", "-o", str(tmp_path / "w3.npz"))
    assert code == 0, err
    assert (tmp_path / "w3.npz").read_bytes() == paths[0].read_bytes()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_cli_init_every_scheme(tmp_path, scheme):
    r = CliRunner().invoke(cli, ["init", "gru", "--hidden", "4", "--input", "2", "--scheme", scheme,
                                 "-o", str(tmp_path / "w.npz")])
    assert r.exit_code == 0, r.output
    assert "weight_hh_l0" in r.output
    assert load_weights(tmp_path / "w.npz")[1]["kind"] == "gru"


@pytest.mark.parametrize("args,needle", [
    (["init", "cnn", "--hidden", "4", "--input", "2", "-o", "w.npz"], "unknown cell"),
    (["init", "rnn", "--hidden", "0", "--input", "2", "-o", "w.npz"], "--hidden"),
    (["init", "rnn", "--hidden", "4", "--input", "2", "--scheme", "he", "-o", "w.npz"], "scheme"),
    (["init", "rnn", "--hidden", "4", "--input", "2", "-o", "w.txt"], ".npz or .pt"),
    (["init", "rnn", "--hidden", "4", "--input", "2", "-o", "no/such/dir/w.npz"], "does not exist"),
])
def test_cli_init_bad_input_is_one_line(tmp_path, args, needle):
    code, out, err = run_bptt(*args, cwd=tmp_path)
    assert code == 2
    assert needle in one_error_line(err)


# ----------------------------------------------------------------------------- validation


def _write_npz(path, sd):
    np.savez(path, **sd)
    return path


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_rejected(tmp_path, bad):
    sd = init_weights("lstm", 3, 4, "small", np.random.default_rng(0))
    sd["weight_hh_l0"][5, 2] = bad
    path = _write_npz(tmp_path / "w.npz", sd)
    with pytest.raises(BpttError) as e:
        load_weights(path)
    msg = str(e.value)
    assert "weight_hh_l0" in msg and "(5, 2)" in msg and "bptt init" in msg
    assert ("NaN" if np.isnan(bad) else "inf") in msg
    assert "\n" not in msg


def test_missing_extra_and_misshaped_keys(tmp_path):
    base = init_weights("gru", 3, 4, "small", np.random.default_rng(0), layers=2)
    sd = dict(base)
    del sd["bias_hh_l1"]
    with pytest.raises(BpttError, match="missing key bias_hh_l1"):
        validate(sd)
    sd = dict(base)
    del sd["weight_hh_l1"]
    with pytest.raises(BpttError, match="weight_hh_l1"):
        validate(sd)
    sd = dict(base, extra_thing=np.zeros(3))
    with pytest.raises(BpttError, match="unexpected weight key 'extra_thing'"):
        validate(sd)
    sd = dict(base, weight_ih_l1=np.zeros((12, 5)))
    with pytest.raises(BpttError, match=r"weight_ih_l1 has shape \(12, 5\), expected \(12, 4\)"):
        validate(sd)
    with pytest.raises(BpttError, match="lstm"):
        validate(base, kind="lstm")  # 3 gate blocks are not an LSTM
    no_bias = {k: v for k, v in base.items() if k.startswith("weight")}
    assert validate(no_bias)["bias"] is False  # nn.GRU(bias=False)


def test_unreadable_files(tmp_path):
    with pytest.raises(BpttError, match="does not exist"):
        read_weights(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(BpttError, match="cannot read"):
        read_weights(junk)
    pickled = tmp_path / "obj.npz"
    np.savez(pickled, weight_ih_l0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(BpttError, match="cannot read"):
        read_weights(pickled)  # allow_pickle=False
    with pytest.raises(BpttError, match=".npz or .pt"):
        read_weights(tmp_path / "w.h5")


def test_pt_read(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    path = tmp_path / "lstm.pt"
    torch.save(model.state_dict(), path)
    sd, info = load_weights(path)
    assert info == {"kind": "lstm", "layers": 2, "dirs": 2, "n_x": 3, "n_h": 5, "bias": True}
    for k, t in model.state_dict().items():
        assert sd[k].dtype == np.float64
        np.testing.assert_array_equal(sd[k], t.double().numpy())
    # our own .pt writer reads back too
    save_weights(tmp_path / "again.pt", sd)
    back, _ = load_weights(tmp_path / "again.pt")
    assert all(np.array_equal(back[k], sd[k]) for k in sd)


def test_pt_not_a_state_dict(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save(torch.nn.GRU(2, 3), path)  # a whole module: weights_only=True refuses it
    with pytest.raises(BpttError, match="cannot read .*weights_only=True"):
        read_weights(path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage")
    with pytest.raises(BpttError, match="cannot read"):
        read_weights(junk)
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    with pytest.raises(BpttError, match="not a state_dict"):
        read_weights(tmp_path / "list.pt")


def test_pt_without_torch(tmp_path, monkeypatch):
    path = tmp_path / "w.pt"
    path.write_bytes(b"whatever")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(BpttError, match="needs PyTorch.*use a .npz file"):
        read_weights(path)
    with pytest.raises(BpttError, match="needs PyTorch"):
        save_weights(tmp_path / "out.pt", {"weight_ih_l0": np.zeros((2, 2))})

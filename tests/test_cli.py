"""The ``bptt`` command line: help, version, ``derive``, ``grad`` and the bad-input contract.

Success paths run in-process with click's ``CliRunner`` against ``derive.cli.cli``.
Error paths run the real console entry point (``derive.cli.main``, which turns a
BpttError into one ``bptt: error: ...`` line and exit code 2) in a subprocess, so
that tracebacks, warnings and stray files are seen exactly as a user sees them.

Contract for bad input: exit code != 0, exactly one non-empty stderr line that starts
with ``bptt: error:``, no traceback, and no file (or temporary file) left behind.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import derive
from derive.cli import cli

ROOT = Path(__file__).resolve().parents[1]
MGU = ROOT / "derive" / "examples" / "mgu.yaml"
MGU_PARAMS = ("W_f", "U_f", "b_f", "W_h", "U_h", "b_h")
CJK = re.compile(r"[\u4e00-\u9fff]")
N_X, N_H, T, B = 3, 4, 5, 2

# ----------------------------------------------------------------------------- helpers


def invoke(*args):
    """Run ``bptt ARGS`` in-process; a failure shows its traceback in the pytest report."""
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return res


def ok(*args):
    res = invoke(*args)
    assert res.exit_code == 0, (args, res.stdout, res.stderr)
    return res


def _entry_cmd():
    exe = shutil.which("bptt")
    if exe:
        return [exe]
    return [sys.executable, "-c", "import sys; from derive.cli import main; main(sys.argv[1:])"]


def run_bptt(args, cwd, env=None):
    """Run the console entry point in a subprocess (BPTT_DEBUG unset)."""
    full_env = {k: v for k, v in os.environ.items() if k != "BPTT_DEBUG"}
    full_env.update(env or {})
    return subprocess.run([*_entry_cmd(), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=300)


def tree(folder: Path) -> set:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def weights(kind, seed=1, n_x=N_X, n_h=N_H):
    from derive.weights import init_weights
    return init_weights(kind, n_x, n_h, "pytorch", np.random.default_rng(seed))


def mgu_params(rng, n_x=N_X, n_h=N_H):
    shapes = {"W_f": (n_h, n_x), "U_f": (n_h, n_h), "b_f": (n_h,),
              "W_h": (n_h, n_x), "U_h": (n_h, n_h), "b_h": (n_h,)}
    return {k: 0.5 * rng.standard_normal(s) for k, s in shapes.items()}


def load(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# ----------------------------------------------------------------------------- help and version

def _command_names():
    import click
    with click.Context(cli) as ctx:
        return cli.list_commands(ctx)


def test_top_level_help_lists_the_commands():
    res = ok("--help")
    assert res.stdout.startswith("Usage:")
    for name in ("derive", "grad", "init", "flow"):
        assert re.search(rf"^\s+{name}\s", res.stdout, re.M), name
    assert ok("-h").stdout == res.stdout


@pytest.mark.parametrize("name", _command_names())
def test_every_command_has_help(name):
    for flag in ("--help", "-h"):
        res = ok(name, flag)
        assert res.stdout.startswith(f"Usage: cli {name}") or res.stdout.startswith(f"Usage: bptt {name}") \
            or res.stdout.startswith("Usage:"), res.stdout
        assert "--help" in res.stdout


def test_version():
    from importlib.metadata import version
    res = ok("--version")
    assert derive.__version__ in res.stdout
    assert version("bptt") == derive.__version__
    proc = run_bptt(["--version"], cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.strip() == f"bptt, version {derive.__version__}", proc


def test_help_through_the_console_script_is_lazy(tmp_path):
    """``bptt --help`` must not import the heavy libraries (that is what keeps it fast)."""
    code = ("import sys\nfrom derive.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sympy', 'matplotlib', 'jinja2', 'numpy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_python_dash_m_derive_cli_runs_the_cli(tmp_path):
    """``python -m derive.cli --help`` should behave like ``bptt --help``."""
    proc = subprocess.run([sys.executable, "-m", "derive.cli", "--help"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 0 and "Usage:" in proc.stdout, (proc.returncode, proc.stdout, proc.stderr)


# ----------------------------------------------------------------------------- bptt derive

CELLS = {
    # id: (CLI arguments, text that must appear in the text format)
    "rnn": (["rnn"], ["∂h_t/∂h_{t-1}", "tanh(U x_t + W h_{t-1} + b)"]),
    "lstm": (["lstm"], ["∂h_t/∂h_{t-1}", "diag(f_t)", "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t"]),
    "gru:cho": (["gru:cho"], ["∂h_t/∂h_{t-1}", "h_t = (1 − z_t) ⊙ h̃_t + z_t ⊙ h_{t-1}"]),
    "gru-swapped": (["gru", "--variant", "swapped"], ["∂h_t/∂h_{t-1}", "h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t"]),
    "lstm-peephole": (["lstm-peephole"], ["∂h_t/∂h_{t-1}", "diag(f_t)", "c_{t-1} ⊙ p_f"]),
    "rnn:relu": (["rnn:relu"], ["∂h_t/∂h_{t-1}", "relu(U x_t + W h_{t-1} + b)"]),
    "mgu-file": (["--cell-file", str(MGU)], ["∂h_t/∂h_{t-1}", "Minimal gated unit",
                                            "h_t = (1 − f_t) ⊙ h_{t-1} + f_t ⊙ h̃_t"]),
}
FORMATS = ("text", "latex", "markdown", "json")


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cell", list(CELLS))
def test_derive_every_cell_format_and_language(cell, fmt, lang):
    args, needles = CELLS[cell]
    out = ok("derive", *args, "--format", fmt, "--lang", lang).stdout
    assert out.strip()
    if lang == "zh":
        assert CJK.search(out), "zh output has no Chinese characters"
    else:
        assert not CJK.search(out), CJK.search(out)
    if fmt == "text":
        for needle in needles:
            assert needle in out, needle
        assert "\\partial" not in out and "$" not in out
    elif fmt == "latex":
        assert "\\partial h_{t}" in out
        assert "\\documentclass" not in out
    elif fmt == "markdown":
        assert out.lstrip().startswith("# ")
        assert "$$" in out and "\\partial" in out
    else:
        doc = json.loads(out)
        assert doc["lang"] == lang
        assert isinstance(doc["sections"], list) and len(doc["sections"]) >= 5
        keys = [s["key"] for s in doc["sections"]]
        assert len(set(keys)) == len(keys) and "equations" in keys
        for s in doc["sections"]:
            assert {"key", "title", "steps"} <= set(s), s.keys()
            assert s["title"] and s["steps"]
            for step in s["steps"]:
                assert {"lhs", "rel", "rhs"} <= set(step)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_derive_latex_standalone_is_a_document(lang):
    out = ok("derive", "lstm", "--format", "latex", "--standalone", "--lang", lang).stdout
    assert out.lstrip().startswith("\\documentclass")
    assert "\\begin{document}" in out and out.rstrip().endswith("\\end{document}")


def test_derive_options_add_sections():
    plain = json.loads(ok("derive", "rnn", "--format", "json").stdout)
    more = json.loads(ok("derive", "rnn", "--format", "json", "--scalar", "-k", "2", "-T", "4").stdout)
    assert len(more["sections"]) == len(plain["sections"]) + 2
    assert more["options"]["steps"] == 4 and more["options"]["truncate"] == 2 and more["options"]["scalar"]


@pytest.mark.parametrize("cell", list(CELLS))
def test_derive_check_json_errors_are_small(cell):
    args, _ = CELLS[cell]
    res = ok("derive", *args, "--check", "--format", "json")
    check = json.loads(res.stdout)["options"]["check"]
    assert check["rows"], "no check rows"
    kinds = {r["kind"] for r in check["rows"]}
    assert {"jacobian", "gradient"} <= kinds
    for r in check["rows"]:
        assert 0 <= r["rel_err"] < 1e-6, r


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_derive_check_prints_a_table(fmt):
    """--check must show the relative errors in every format, not only in JSON."""
    rows = json.loads(ok("derive", "lstm", "--check", "--format", "json").stdout)["options"]["check"]["rows"]
    res = ok("derive", "lstm", "--check", "--format", fmt)
    out = res.stdout
    plain = ok("derive", "lstm", "--format", fmt).stdout
    assert out != plain, f"--check changed nothing in the {fmt} output"
    numbers = re.findall(r"\d(?:\.\d+)?\s*(?:e|E|\\times\s*10\^\{?|×\s*10\^?)\s*[-−]\s*\d+", out)
    assert len(numbers) >= len(rows), f"expected {len(rows)} relative errors in the {fmt} table"


def test_derive_output_file(tmp_path):
    target = tmp_path / "lstm.md"
    res = ok("derive", "lstm", "--format", "markdown", "-o", target)
    assert res.stdout == ""
    assert target.read_text(encoding="utf-8") == ok("derive", "lstm", "--format", "markdown").stdout
    assert tree(tmp_path) == {"lstm.md"}, "temporary files left behind"


def test_derive_output_file_overwrites(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old contents that are much longer than nothing\n" * 1000)
    ok("derive", "rnn", "-o", target)
    assert target.read_text(encoding="utf-8") == ok("derive", "rnn").stdout


@pytest.mark.parametrize("args", [["gru:cho", "--format", "json", "--check"],
                                  ["lstm", "--format", "latex", "--standalone", "--lang", "zh"],
                                  ["--cell-file", str(MGU), "--format", "text", "--scalar", "-k", "2"]],
                         ids=["json", "latex-zh", "mgu-text"])
def test_derive_is_byte_identical_across_processes(tmp_path, args):
    outs = []
    for seed in ("1", "2"):  # different string hashing must not change a byte
        proc = run_bptt(["derive", *args, "-o", tmp_path / f"o{seed}"], cwd=tmp_path, env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        outs.append((tmp_path / f"o{seed}").read_bytes())
    assert outs[0] == outs[1]
    assert invoke("derive", *args).stdout.encode("utf-8") == outs[0]


# ----------------------------------------------------------------------------- bptt grad

def _contract_keys(kind, sd):
    return set(sd) | {"input", "h0", "output"} | ({"c0"} if kind == "lstm" else set())


@pytest.fixture
def lstm_files(tmp_path):
    w = tmp_path / "w.npz"
    res = ok("init", "lstm", "--hidden", N_H, "--input", N_X, "--seed", 1, "-o", w)
    assert w.exists() and "weight_ih_l0" in res.stdout
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).standard_normal((T, B, N_X)))
    return w, x


def test_grad_lstm_round_trip_both_engines(tmp_path, lstm_files):
    w, x = lstm_files
    grads = {}
    for engine in ("numpy", "symbolic"):
        out = tmp_path / f"g_{engine}.npz"
        res = ok("grad", "lstm", "--weights", w, "--input", x, "--out", out, "--engine", engine)
        assert out.exists(), res.stdout
        grads[engine] = load(out)
    sd = load(w)
    for engine, g in grads.items():
        assert set(g) == _contract_keys("lstm", sd), (engine, sorted(g))
        for k, v in sd.items():
            assert g[k].shape == v.shape and g[k].dtype == np.float64, k
        assert g["input"].shape == (T, B, N_X)
        assert g["h0"].shape == g["c0"].shape == (1, B, N_H)
        assert g["output"].shape == (T, B, N_H)
        assert all(np.isfinite(v).all() for v in g.values())
    for k in grads["numpy"]:
        np.testing.assert_allclose(grads["symbolic"][k], grads["numpy"][k], rtol=1e-10, atol=1e-14, err_msg=k)
    assert not any(p.name.startswith(("g_numpy.npz.tmp", "g_symbolic.npz.tmp")) for p in tmp_path.iterdir())


@pytest.mark.parametrize("kind,extra", [("rnn", []), ("rnn", ["--nonlinearity", "relu"]), ("gru", [])],
                         ids=["rnn", "rnn-relu", "gru"])
def test_grad_rnn_gru_engines_agree(tmp_path, kind, extra):
    w, x, h0 = tmp_path / "w.npz", tmp_path / "x.npy", tmp_path / "h0.npy"
    ok("init", kind, "--hidden", N_H, "--input", N_X, "--seed", 3, "-o", w)
    rng = np.random.default_rng(5)
    np.save(x, rng.standard_normal((T, B, N_X)))
    np.save(h0, rng.standard_normal((1, B, N_H)))
    dout = tmp_path / "dout.npy"
    np.save(dout, rng.standard_normal((T, B, N_H)))
    g = {}
    for engine in ("numpy", "symbolic"):
        out = tmp_path / f"{engine}.npz"
        ok("grad", kind, "--weights", w, "--input", x, "--h0", h0, "--dout", dout, "--engine", engine,
           "--out", out, *extra)
        g[engine] = load(out)
    assert set(g["numpy"]) == _contract_keys(kind, load(w))
    for k in g["numpy"]:
        np.testing.assert_allclose(g["symbolic"][k], g["numpy"][k], rtol=1e-10, atol=1e-14, err_msg=k)


def test_grad_lstm_matches_torch(tmp_path, lstm_files):
    torch = pytest.importorskip("torch")
    w, x = lstm_files
    out = tmp_path / "g.npz"
    ok("grad", "lstm", "--weights", w, "--input", x, "--out", out)
    g = load(out)
    m = torch.nn.LSTM(N_X, N_H).double()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in load(w).items()})
    X = torch.from_numpy(np.load(x)).requires_grad_(True)
    h0 = torch.zeros(1, B, N_H, dtype=torch.float64, requires_grad=True)
    c0 = torch.zeros(1, B, N_H, dtype=torch.float64, requires_grad=True)
    y, _ = m(X, (h0, c0))
    y.sum().backward()
    np.testing.assert_allclose(g["output"], y.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g["input"], X.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g["h0"], h0.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g["c0"], c0.grad.numpy(), rtol=1e-10, atol=1e-14)
    for k, p in m.named_parameters():
        np.testing.assert_allclose(g[k], p.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("engine", ["numpy", "symbolic"])
def test_grad_float32(tmp_path, lstm_files, engine):
    w, x = lstm_files
    out32, out64 = tmp_path / "g32.npz", tmp_path / "g64.npz"
    ok("grad", "lstm", "--weights", w, "--input", x, "--out", out32, "--dtype", "float32", "--engine", engine)
    ok("grad", "lstm", "--weights", w, "--input", x, "--out", out64, "--engine", engine)
    g32, g64 = load(out32), load(out64)
    assert set(g32) == set(g64)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-3, atol=1e-5, err_msg=k)


def test_grad_output_is_byte_identical_across_processes(tmp_path, lstm_files):
    w, x = lstm_files
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"g{seed}.npz"
        proc = run_bptt(["grad", "lstm", "--weights", w, "--input", x, "--out", out], cwd=tmp_path,
                        env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_init_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    ok("init", "gru", "--hidden", 5, "--input", 2, "--seed", 7, "-o", a)
    ok("init", "gru", "--hidden", 5, "--input", 2, "--seed", 7, "-o", b)
    assert a.read_bytes() == b.read_bytes()


def _mgu_forward(p, X, h0):
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h, outs = h0, []
    for x in X:  # rows are batch elements: W @ x becomes x @ W.T
        f = sig(x @ p["W_f"].T + h @ p["U_f"].T + p["b_f"])
        ht = np.tanh(x @ p["W_h"].T + (f * h) @ p["U_h"].T + p["b_h"])
        h = (1 - f) * h + f * ht
        outs.append(h)
    return np.stack(outs)


def _fd(fun, a, eps=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = fun()
        a[i] = old - eps
        down = fun()
        a[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("engine", ["numpy", "symbolic"])
def test_grad_cell_file_mgu(tmp_path, engine):
    rng = np.random.default_rng(11)
    p = mgu_params(rng)
    X = rng.standard_normal((T, B, N_X))
    h0 = rng.standard_normal((B, N_H))
    dout = rng.standard_normal((T, B, N_H))
    np.savez(tmp_path / "mgu.npz", **p)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "h0.npy", h0)
    np.save(tmp_path / "dout.npy", dout)
    out = tmp_path / "g.npz"
    ok("grad", "--cell-file", MGU, "--weights", tmp_path / "mgu.npz", "--input", tmp_path / "x.npy",
       "--init", f"h={tmp_path / 'h0.npy'}", "--dout", tmp_path / "dout.npy", "--engine", engine, "--out", out)
    g = load(out)
    assert set(g) == set(MGU_PARAMS) | {"input", "h0", "output"}, sorted(g)
    np.testing.assert_allclose(g["output"], _mgu_forward(p, X, h0), rtol=1e-12, atol=1e-14)
    loss = lambda: float(np.sum(dout * _mgu_forward(p, X, h0)))  # noqa: E731
    for k in MGU_PARAMS:
        assert g[k].size == p[k].size, (k, g[k].shape)
        np.testing.assert_allclose(g[k].reshape(p[k].shape), _fd(loss, p[k]), rtol=1e-6, atol=1e-8, err_msg=k)
    np.testing.assert_allclose(g["input"], _fd(loss, X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g["h0"], _fd(loss, h0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("bias_shape", [(N_H,), (N_H, 1)], ids=["1d-bias", "column-bias"])
def test_grad_cell_file_gradient_has_the_parameter_shape(tmp_path, bias_shape):
    """dL/dp is stored with the shape p had in the weights file (a (n,) bias gets an (n,) gradient)."""
    rng = np.random.default_rng(13)
    p = mgu_params(rng)
    p["b_f"], p["b_h"] = p["b_f"].reshape(bias_shape), p["b_h"].reshape(bias_shape)
    np.savez(tmp_path / "mgu.npz", **p)
    np.save(tmp_path / "x.npy", rng.standard_normal((T, B, N_X)))
    out = tmp_path / "g.npz"
    ok("grad", "--cell-file", MGU, "--weights", tmp_path / "mgu.npz", "--input", tmp_path / "x.npy", "--out", out)
    g = load(out)
    assert {k: g[k].shape for k in MGU_PARAMS} == {k: v.shape for k, v in p.items()}


def test_grad_cell_file_engines_agree_and_default_init(tmp_path):
    rng = np.random.default_rng(12)
    np.savez(tmp_path / "mgu.npz", **mgu_params(rng))
    np.save(tmp_path / "x.npy", rng.standard_normal((T, B, N_X)))
    g = {}
    for engine in ("numpy", "symbolic"):
        out = tmp_path / f"{engine}.npz"
        ok("grad", "--cell-file", MGU, "--weights", tmp_path / "mgu.npz", "--input", tmp_path / "x.npy",
           "--engine", engine, "--out", out)
        g[engine] = load(out)
    for k in g["numpy"]:
        np.testing.assert_allclose(g["symbolic"][k], g["numpy"][k], rtol=1e-10, atol=1e-14, err_msg=k)


# ----------------------------------------------------------------------------- bad input

BAD_YAML = {
    "yaml_syntax.yaml": "name: bad\nstates: [h\nequations:\n  - h = tanh(U @ h_prev)\n",
    "unknown_fn.yaml": "name: bad\nstates: [h]\nequations:\n  - h = foo(U @ h_prev + W @ x)\n",
    "attribute.yaml": "name: bad\nstates: [h]\nequations:\n  - h = tanh(U.T @ h_prev + W @ x)\n",
    "dunder.yaml": "name: bad\nstates: [h]\nequations:\n"
                   "  - \"h = __import__('os').system('touch pwned') + h_prev\"\n",
    "eq_syntax.yaml": "name: bad\nstates: [h]\nequations:\n  - h = tanh(U @ h_prev + )\n",
    "empty.yaml": "",
    "unknown_key.yaml": "name: bad\nstates: [h]\nlayers: 2\nequations:\n  - h = tanh(U @ h_prev + W @ x)\n",
    "no_state_eq.yaml": "name: bad\nstates: [h]\nequations:\n  - a = tanh(U @ h_prev + W @ x)\n",
    "self_size.yaml": "name: bad\nstates: [h]\nequations:\n  - h = concat(h_prev, h_prev)\n",
    "power.yaml": "name: bad\nstates: [h]\nequations:\n  - h = tanh(U @ h_prev + W @ x) ** 2\n",
    "list.yaml": "- just\n- a list\n",
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A folder of good and bad input files shared by the bad-input cases (never modified)."""
    d = tmp_path_factory.mktemp("bad_input")
    rng = np.random.default_rng(0)
    for kind in ("rnn", "lstm", "gru"):
        np.savez(d / f"w_{kind}.npz", **weights(kind))
    sd = weights("lstm")
    np.savez(d / "w_nan.npz", **{**sd, "weight_hh_l0": np.where(np.eye(4 * N_H, N_H) > 0, np.nan, 0.1)})
    np.savez(d / "w_inf.npz", **{**sd, "bias_ih_l0": np.full(4 * N_H, np.inf)})
    np.savez(d / "w_huge.npz", **{**sd, "bias_ih_l0": np.full(4 * N_H, 1e39)})
    np.savez(d / "w_keys.npz", a=np.zeros((3, 3)), b=np.zeros(3))
    np.savez(d / "w_extra_key.npz", **sd, weight_xx_l0=np.zeros((4, 4)))
    np.savez(d / "w_missing_key.npz", **{k: v for k, v in sd.items() if k != "bias_hh_l0"})
    np.savez(d / "w_object.npz", **{**sd, "bias_ih_l0": np.array([{"a": 1}], dtype=object)})
    np.save(d / "w_single.npy", sd["weight_ih_l0"])
    (d / "w.txt").write_text("not weights\n")
    (d / "w_garbage.npz").write_bytes(b"PK\x03\x04 this is not really a zip file" * 10)
    (d / "w_empty.npz").write_bytes(b"")
    np.save(d / "x.npy", rng.standard_normal((T, B, N_X)))
    np.savez(d / "x.npz", x=rng.standard_normal((T, B, N_X)))
    (d / "x_garbage.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(d / "x_wrong_nx.npy", rng.standard_normal((T, B, N_X + 4)))
    np.save(d / "x_2d.npy", rng.standard_normal((T, N_X)))
    np.save(d / "x_T0.npy", np.zeros((0, B, N_X)))
    np.save(d / "x_B0.npy", np.zeros((T, 0, N_X)))
    np.save(d / "x_nan.npy", np.where(np.arange(T * B * N_X).reshape(T, B, N_X) == 7, np.nan, 0.5))
    np.save(d / "x_inf.npy", np.full((T, B, N_X), -np.inf))
    np.save(d / "x_str.npy", np.array([[["a"] * N_X] * B] * T))
    np.save(d / "x_bool.npy", np.ones((T, B, N_X), dtype=bool))
    np.save(d / "h0.npy", rng.standard_normal((1, B, N_H)))
    np.save(d / "h0_bad.npy", rng.standard_normal((1, B, N_H + 1)))
    np.save(d / "h0_nan.npy", np.full((1, B, N_H), np.nan))
    np.savez(d / "h0.npz", h0=rng.standard_normal((1, B, N_H)))
    np.save(d / "dout_bad.npy", rng.standard_normal((T, B, N_H + 2)))
    np.save(d / "dout_nan.npy", np.full((T, B, N_H), np.nan))
    p = mgu_params(rng)
    np.savez(d / "mgu.npz", **p)
    np.savez(d / "mgu_missing.npz", **{k: v for k, v in p.items() if k != "b_h"})
    np.savez(d / "mgu_extra.npz", **p, V=np.zeros((2, 2)))
    np.savez(d / "mgu_shape.npz", **{**p, "W_f": np.zeros((N_H, N_X + 2))})
    np.savez(d / "mgu_shape2.npz", **{**p, "U_f": np.zeros((N_H + 1, N_H + 1))})
    np.savez(d / "mgu_nan.npz", **{**p, "b_f": np.full(N_H, np.nan)})
    np.savez(d / "mgu_3d.npz", **{**p, "U_h": np.zeros((N_H, N_H, 1))})
    np.save(d / "h_cell.npy", rng.standard_normal((B, N_H)))
    np.save(d / "h_cell_bad.npy", rng.standard_normal((B + 1, N_H)))
    np.save(d / "h_cell_nan.npy", np.full((B, N_H), np.nan))
    for name, text in BAD_YAML.items():
        (d / name).write_text(text, encoding="utf-8")
    (d / "latin1.yaml").write_bytes("name: caf\xe9\nstates: [h]\n".encode("latin-1"))
    (d / "a_dir").mkdir()
    (d / "plain_file").write_text("x")
    return d


G_LSTM = ["grad", "lstm", "--weights", "w_lstm.npz", "--input", "x.npy", "--out", "out.npz"]
G_RNN = ["grad", "rnn", "--weights", "w_rnn.npz", "--input", "x.npy", "--out", "out.npz"]
G_GRU = ["grad", "gru", "--weights", "w_gru.npz", "--input", "x.npy", "--out", "out.npz"]
G_MGU = ["grad", "--cell-file", str(MGU), "--weights", "mgu.npz", "--input", "x.npy", "--out", "out.npz"]


def _swap(base, old, new):
    out = list(base)
    out[out.index(old)] = new
    return out


BAD = {
    # ---------------------------------------------------------------- top level
    "unknown-command": ["frobnicate"],
    "unknown-option": ["derive", "rnn", "--frobnicate"],
    # ---------------------------------------------------------------- derive
    "derive-unknown-cell": ["derive", "foo", "-o", "out.txt"],
    "derive-no-cell": ["derive", "-o", "out.txt"],
    "derive-unknown-gru-convention": ["derive", "gru", "--variant", "bogus", "-o", "out.txt"],
    "derive-unknown-gru-convention-inline": ["derive", "gru:bogus", "-o", "out.txt"],
    "derive-rnn-with-gru-convention": ["derive", "rnn:cho", "-o", "out.txt"],
    "derive-lstm-with-variant": ["derive", "lstm", "--variant", "cho", "-o", "out.txt"],
    "derive-unknown-format": ["derive", "rnn", "--format", "pdf", "-o", "out.txt"],
    "derive-unknown-lang": ["derive", "rnn", "--lang", "fr", "-o", "out.txt"],
    "derive-T0": ["derive", "rnn", "-T", "0", "-o", "out.txt"],
    "derive-T-negative": ["derive", "rnn", "-T", "-2", "-o", "out.txt"],
    "derive-T-not-a-number": ["derive", "rnn", "-T", "abc", "-o", "out.txt"],
    "derive-truncate-0": ["derive", "rnn", "-k", "0", "-o", "out.txt"],
    "derive-standalone-text": ["derive", "rnn", "--standalone", "-o", "out.txt"],
    "derive-standalone-markdown": ["derive", "rnn", "--standalone", "--format", "markdown", "-o", "out.txt"],
    "derive-cell-and-cell-file": ["derive", "lstm", "--cell-file", str(MGU), "-o", "out.txt"],
    "derive-check-negative-seed": ["derive", "rnn", "--check", "--seed", "-1", "-o", "out.txt"],
    "derive-cell-file-missing": ["derive", "--cell-file", "nope.yaml", "-o", "out.txt"],
    "derive-cell-file-is-dir": ["derive", "--cell-file", "a_dir", "-o", "out.txt"],
    "derive-cell-file-not-utf8": ["derive", "--cell-file", "latin1.yaml", "-o", "out.txt"],
    "derive-cell-file-is-npz": ["derive", "--cell-file", "w_lstm.npz", "-o", "out.txt"],
    **{f"derive-cell-file-{Path(n).stem}": ["derive", "--cell-file", n, "-o", "out.txt"] for n in BAD_YAML},
    "derive-out-missing-folder": ["derive", "rnn", "-o", "no_such_dir/out.txt"],
    "derive-out-under-a-file": ["derive", "rnn", "-o", "plain_file/out.txt"],
    "derive-out-is-a-dir": ["derive", "rnn", "-o", "a_dir"],
    # ---------------------------------------------------------------- grad: cell and options
    "grad-unknown-cell": _swap(G_LSTM, "lstm", "foo"),
    "grad-peephole": _swap(G_LSTM, "lstm", "lstm-peephole"),
    "grad-gru-variant-inline": _swap(G_GRU, "gru", "gru:cho"),
    "grad-no-cell": [a for a in G_LSTM if a != "lstm"],
    "grad-cell-and-cell-file": G_LSTM + ["--cell-file", str(MGU)],
    "grad-unknown-engine": G_LSTM + ["--engine", "torch"],
    "grad-unknown-dtype": G_LSTM + ["--dtype", "float16"],
    "grad-unknown-nonlinearity": G_RNN + ["--nonlinearity", "sigmoid"],
    "grad-nonlinearity-for-lstm": G_LSTM + ["--nonlinearity", "relu"],
    "grad-missing-weights-option": [a for a in G_LSTM if a not in ("--weights", "w_lstm.npz")],
    "grad-init-with-builtin": G_LSTM + ["--init", "h=h_cell.npy"],
    "grad-c0-for-gru": G_GRU + ["--c0", "h0.npy"],
    "grad-c0-for-rnn": G_RNN + ["--c0", "h0.npy"],
    # ---------------------------------------------------------------- grad: weights
    "grad-weights-missing": _swap(G_LSTM, "w_lstm.npz", "nope.npz"),
    "grad-weights-npy": _swap(G_LSTM, "w_lstm.npz", "w_single.npy"),
    "grad-weights-txt": _swap(G_LSTM, "w_lstm.npz", "w.txt"),
    "grad-weights-garbage": _swap(G_LSTM, "w_lstm.npz", "w_garbage.npz"),
    "grad-weights-empty-file": _swap(G_LSTM, "w_lstm.npz", "w_empty.npz"),
    "grad-weights-wrong-keys": _swap(G_LSTM, "w_lstm.npz", "w_keys.npz"),
    "grad-weights-extra-key": _swap(G_LSTM, "w_lstm.npz", "w_extra_key.npz"),
    "grad-weights-missing-key": _swap(G_LSTM, "w_lstm.npz", "w_missing_key.npz"),
    "grad-weights-object": _swap(G_LSTM, "w_lstm.npz", "w_object.npz"),
    "grad-weights-of-rnn-for-lstm": _swap(G_LSTM, "w_lstm.npz", "w_rnn.npz"),
    "grad-weights-of-lstm-for-gru": _swap(G_GRU, "w_gru.npz", "w_lstm.npz"),
    "grad-weights-nan": _swap(G_LSTM, "w_lstm.npz", "w_nan.npz"),
    "grad-weights-inf": _swap(G_LSTM, "w_lstm.npz", "w_inf.npz"),
    "grad-weights-overflow-float32": _swap(G_LSTM, "w_lstm.npz", "w_huge.npz") + ["--dtype", "float32"],
    "grad-weights-is-dir": _swap(G_LSTM, "w_lstm.npz", "a_dir"),
    # ---------------------------------------------------------------- grad: input, h0, c0, dout
    "grad-input-missing": _swap(G_LSTM, "x.npy", "nope.npy"),
    "grad-input-npz": _swap(G_LSTM, "x.npy", "x.npz"),
    "grad-input-garbage": _swap(G_LSTM, "x.npy", "x_garbage.npy"),
    "grad-input-wrong-nx": _swap(G_LSTM, "x.npy", "x_wrong_nx.npy"),
    "grad-input-2d": _swap(G_LSTM, "x.npy", "x_2d.npy"),
    "grad-input-T0": _swap(G_LSTM, "x.npy", "x_T0.npy"),
    "grad-input-B0": _swap(G_LSTM, "x.npy", "x_B0.npy"),
    "grad-input-nan": _swap(G_LSTM, "x.npy", "x_nan.npy"),
    "grad-input-inf": _swap(G_LSTM, "x.npy", "x_inf.npy"),
    "grad-input-strings": _swap(G_LSTM, "x.npy", "x_str.npy"),
    "grad-input-bool": _swap(G_LSTM, "x.npy", "x_bool.npy"),
    "grad-input-is-weights": _swap(G_LSTM, "x.npy", "w_lstm.npz"),
    "grad-h0-wrong-shape": G_LSTM + ["--h0", "h0_bad.npy"],
    "grad-h0-nan": G_GRU + ["--h0", "h0_nan.npy"],
    "grad-h0-npz": G_RNN + ["--h0", "h0.npz"],
    "grad-h0-missing": G_RNN + ["--h0", "nope.npy"],
    "grad-c0-wrong-shape": G_LSTM + ["--c0", "h0_bad.npy"],
    "grad-c0-nan": G_LSTM + ["--c0", "h0_nan.npy"],
    "grad-dout-wrong-shape": G_LSTM + ["--dout", "dout_bad.npy"],
    "grad-dout-nan": G_LSTM + ["--dout", "dout_nan.npy"],
    "grad-dout-npz": G_LSTM + ["--dout", "x.npz"],
    # ---------------------------------------------------------------- grad: output
    "grad-out-missing-folder": _swap(G_LSTM, "out.npz", "no_such_dir/out.npz"),
    "grad-out-under-a-file": _swap(G_LSTM, "out.npz", "plain_file/out.npz"),
    "grad-out-is-a-dir": _swap(G_LSTM, "out.npz", "a_dir"),
    "grad-out-npy-extension": _swap(G_LSTM, "out.npz", "out.npy"),
    # ---------------------------------------------------------------- grad --cell-file
    "grad-cell-file-missing": _swap(G_MGU, str(MGU), "nope.yaml"),
    "grad-cell-file-syntax": _swap(G_MGU, str(MGU), "yaml_syntax.yaml"),
    "grad-cell-file-unknown-fn": _swap(G_MGU, str(MGU), "unknown_fn.yaml"),
    "grad-cell-file-attribute": _swap(G_MGU, str(MGU), "attribute.yaml"),
    "grad-cell-params-missing": _swap(G_MGU, "mgu.npz", "mgu_missing.npz"),
    "grad-cell-params-extra": _swap(G_MGU, "mgu.npz", "mgu_extra.npz"),
    "grad-cell-params-wrong-nx": _swap(G_MGU, "mgu.npz", "mgu_shape.npz"),
    "grad-cell-params-inconsistent-nh": _swap(G_MGU, "mgu.npz", "mgu_shape2.npz"),
    "grad-cell-params-3d": _swap(G_MGU, "mgu.npz", "mgu_3d.npz"),
    "grad-cell-params-nan": _swap(G_MGU, "mgu.npz", "mgu_nan.npz"),
    "grad-cell-params-are-torch-keys": _swap(G_MGU, "mgu.npz", "w_lstm.npz"),
    "grad-cell-params-npy": _swap(G_MGU, "mgu.npz", "w_single.npy"),
    "grad-cell-input-wrong-nx": _swap(G_MGU, "x.npy", "x_wrong_nx.npy"),
    "grad-cell-input-nan": _swap(G_MGU, "x.npy", "x_nan.npy"),
    "grad-cell-init-no-equals": G_MGU + ["--init", "h_cell.npy"],
    "grad-cell-init-unknown-state": G_MGU + ["--init", "c=h_cell.npy"],
    "grad-cell-init-missing-file": G_MGU + ["--init", "h=nope.npy"],
    "grad-cell-init-wrong-shape": G_MGU + ["--init", "h=h_cell_bad.npy"],
    "grad-cell-init-nan": G_MGU + ["--init", "h=h_cell_nan.npy"],
    "grad-cell-init-npz": G_MGU + ["--init", "h=h0.npz"],
    "grad-cell-init-3d": G_MGU + ["--init", "h=h0.npy"],
    "grad-cell-with-h0": G_MGU + ["--h0", "h0.npy"],
    "grad-cell-with-c0": G_MGU + ["--c0", "h0.npy"],
    "grad-cell-with-name": ["grad", "rnn"] + G_MGU[1:],
    # ---------------------------------------------------------------- init
    "init-unknown-cell": ["init", "foo", "--hidden", "4", "--input", "3", "-o", "out.npz"],
    "init-hidden-0": ["init", "rnn", "--hidden", "0", "--input", "3", "-o", "out.npz"],
    "init-input-negative": ["init", "rnn", "--hidden", "4", "--input", "-3", "-o", "out.npz"],
    "init-layers-0": ["init", "rnn", "--hidden", "4", "--input", "3", "--layers", "0", "-o", "out.npz"],
    "init-unknown-scheme": ["init", "rnn", "--hidden", "4", "--input", "3", "--scheme", "he", "-o", "out.npz"],
    "init-negative-seed": ["init", "rnn", "--hidden", "4", "--input", "3", "--seed", "-1", "-o", "out.npz"],
    "init-out-txt": ["init", "rnn", "--hidden", "4", "--input", "3", "-o", "out.txt"],
    "init-out-npy": ["init", "rnn", "--hidden", "4", "--input", "3", "-o", "out.npy"],
    "init-out-missing-folder": ["init", "rnn", "--hidden", "4", "--input", "3", "-o", "no_such_dir/out.npz"],
    "init-out-under-a-file": ["init", "rnn", "--hidden", "4", "--input", "3", "-o", "plain_file/out.npz"],
    # ---------------------------------------------------------------- flow
    "flow-unknown-kind": ["flow", "--kind", "bogus", "--json"],
    "flow-nothing-to-do": ["flow"],
    "flow-steps-0": ["flow", "--steps", "0", "--json"],
    "flow-unknown-cell": ["flow", "--cells", "foo", "--json"],
    "flow-unknown-scenario": ["flow", "--scenario", "bogus", "--json"],
    "flow-out-txt": ["flow", "--kind", "activations", "-o", "out.txt"],
    "flow-out-missing-folder": ["flow", "--kind", "activations", "-o", "no_such_dir/out.png"],
    "flow-nan-gain": ["flow", "--gain", "nan", "--json"],
}


@pytest.mark.parametrize("args", list(BAD.values()), ids=list(BAD))
def test_bad_input_gives_one_error_line(ws, args):
    before = tree(ws)
    proc = run_bptt(args, cwd=ws)
    lines = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode != 0, f"exit code 0; stdout={proc.stdout[:300]!r}"
    assert len(lines) == 1 and lines[0].strip(), f"stderr has {len(lines)} lines:\n{proc.stderr}"
    assert lines[0].startswith("bptt: error: "), lines[0]
    assert len(lines[0]) > len("bptt: error: ") + 10
    assert proc.returncode == 2, (proc.returncode, lines[0])
    assert tree(ws) == before, f"files left behind: {sorted(tree(ws) - before)}"


def test_bad_input_error_names_the_problem(ws):
    """A few messages must name what is wrong."""
    cases = {
        "grad-c0-for-gru": "c0",
        "grad-weights-nan": "NaN",
        "grad-input-npz": ".npz",
        "grad-weights-npy": ".npy",
        "derive-T0": "steps",
        "derive-standalone-text": "latex",
        "derive-cell-file-unknown_fn": "foo",
        "grad-input-wrong-nx": "shape",
    }
    for case, needle in cases.items():
        proc = run_bptt(BAD[case], cwd=ws)
        assert needle in proc.stderr, (case, proc.stderr)

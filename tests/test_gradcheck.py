"""``bptt check``: symbolic vs numpy engine vs central differences vs torch, and the bad-input contract."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import derive.rules
from derive.cli import cli, main
from derive.gradcheck import FULL_LIMIT, compare, torch_kind

ROOT = Path(__file__).resolve().parents[1]
MGU = ROOT / "derive" / "examples" / "mgu.yaml"
BUILTINS = ("rnn", "rnn:relu", "lstm", "lstm-peephole", "gru", "gru:cho", "gru:swapped")


def check(*args):
    return CliRunner().invoke(cli, ["check", *map(str, args)], catch_exceptions=False)


def report(*args):
    res = check(*args, "--json")
    return res, json.loads(res.stdout)


def _torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.mark.parametrize("cell", BUILTINS)
def test_builtins_pass(cell):
    res, r = report(cell)
    assert res.exit_code == 0, res.output
    assert r["passed"] and r["central_mode"] == "full" and not r["failed"]
    assert r["max"]["numpy"] <= 1e-10 and r["max"]["central"] <= 1e-6
    names = [row["quantity"] for row in r["rows"]]
    assert "input" in names and "h0" in names
    assert ("c0" in names) == cell.startswith("lstm")


def test_text_table_is_aligned_and_states_the_tolerance():
    res = check("lstm")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "1e-06 vs central differences" in out and "~1e-10" in out and "1e-10 between the two engines" in out
    lines = out.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("quantity"))
    table = lines[head + 2:head + 2 + 15]
    assert [l.split()[0] for l in table][:3] == ["W_i", "U_i", "b_i"]
    col = lines[head].index("central")
    assert all(l[col - 2:col] == "  " for l in table)  # columns line up
    assert lines[-1].startswith("summary:") and lines[-1].endswith("PASS")


def test_cell_file_passes():
    res, r = report("--cell-file", MGU)
    assert res.exit_code == 0, res.output
    assert r["cell"] == "mgu" and r["passed"]
    assert [row["quantity"] for row in r["rows"]] == ["W_f", "U_f", "b_f", "W_h", "U_h", "b_h", "input", "h0"]
    assert all(row["torch"] is None for row in r["rows"]) and r["torch"] is None
    assert "n/a" in check("--cell-file", MGU).stdout


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_random_directions_for_a_large_size(cell):
    res, r = report(cell, "--hidden", 64, "--steps", 3)
    assert res.exit_code == 0, res.output
    assert r["entries"] > FULL_LIMIT and r["central_mode"] == "directions" and r["directions"] >= 1
    assert r["passed"] and r["max"]["central"] <= 1e-6
    assert all(len(row["central"]["index"]) == 1 for row in r["rows"])  # a direction number
    assert "random unit directions" in check(cell, "--hidden", 64, "--steps", 3).stdout


@pytest.mark.skipif(not _torch_available(), reason="torch not installed")
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "rnn:relu"])
def test_torch_column(cell):
    res, r = report(cell)
    assert r["torch"] and all(row["torch"] is not None for row in r["rows"])
    assert r["max"]["torch"] <= 1e-10
    header = next(l for l in check(cell).stdout.splitlines() if l.startswith("quantity"))
    assert "torch" in header


def test_torch_na_for_cells_pytorch_lacks():
    for cell in ("lstm-peephole", "gru:cho", "gru:swapped", "rnn:sigmoid"):
        from derive.api import load
        assert torch_kind(load(cell)) is None, cell
    _, r = report("gru:cho")
    assert r["max"]["torch"] is None and r["torch_note"].startswith("n/a")


def test_broken_gradient_is_caught(monkeypatch):
    """A wrong tanh rule (1 - y instead of 1 - y^2) reaches both engines; central differences catch it."""
    monkeypatch.setenv("BPTT_CACHE", "0")
    monkeypatch.setitem(derive.rules.VJP, "tanh", (lambda ops, g, y, x: ops.mul(g, ops.sub(1, y)),))
    res, r = report("gru:cho", "--steps", 3)
    assert res.exit_code == 1
    assert not r["passed"] and r["failed"]
    assert r["max"]["central"] > 1e-2  # the engines agree with each other, not with the loss
    assert r["max"]["numpy"] <= 1e-10
    text = check("gru:cho", "--steps", 3)
    assert text.exit_code == 1 and "FAIL" in text.stdout and "check failed" in text.stderr


def test_json_is_deterministic():
    a, b = check("gru", "--seed", 7, "--json"), check("gru", "--seed", 7, "--json")
    assert a.exit_code == 0 and a.stdout == b.stdout
    assert json.loads(a.stdout)["seed"] == 7
    assert a.stdout == json.dumps(json.loads(a.stdout), sort_keys=True, indent=2) + "\n"
    assert check("gru", "--seed", 8, "--json").stdout != a.stdout


def test_tol_flag_sets_the_central_tolerance():
    _, r = report("rnn", "--tol", 1e-3)
    assert r["tolerance"] == {"central": 1e-3, "numpy": 1e-10, "torch": 1e-10}


def test_compare_reports_the_worst_entry():
    c = compare(np.array([[1.0, 2.0], [3.0, 4.5]]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert c["index"] == [1, 1] and c["abs_diff"] == 0.5
    assert c["rel_err"] == pytest.approx(0.5 / np.linalg.norm([1, 2, 3, 4.5]))
    assert compare(np.zeros(3), np.zeros(3))["rel_err"] == 0.0


@pytest.mark.parametrize("args, needle", [
    (["lstm", "--steps", "0"], "--steps"),
    (["lstm", "--hidden", "0"], "--hidden"),
    (["lstm", "--batch", "0"], "--batch"),
    (["lstm", "--input", "0"], "--input"),
    (["lstm", "--seed", "-1"], "--seed"),
    (["lstm", "--tol", "0"], "--tol"),
    (["foo"], "unknown cell"),
    (["gru", "--variant", "bogus"], "convention"),
    (["lstm", "--variant", "relu"], "no variants"),
    ([], "name a cell"),
    (["lstm", "--cell-file", str(MGU)], "not both"),
])
def test_bad_input_is_one_line(args, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bptt: error:") and needle in err

"""`bptt derive --check`: derived Jacobians and gradients against central differences."""
import numpy as np
import pytest

from derive.api import load
from derive.check import check_table


@pytest.mark.parametrize("source", [{"name": "lstm"}, {"name": "gru:cho"},
                                    {"cell_file": "derive/examples/colah_lstm.yaml"}])
def test_every_row_is_small(source):
    rows = check_table(load(**source), np.random.default_rng(0))
    kinds = {r["kind"] for r in rows}
    assert kinds == {"jacobian", "gradient"}  # a concatenation cell's Jacobians evaluate too
    assert max(r["rel_err"] for r in rows) < 1e-6


def test_names_from_a_cell_file_never_reach_generated_code(tmp_path, monkeypatch):
    """A weight called `numpy` must not shadow the module inside lambdified code."""
    from derive.grad import cell_grads
    monkeypatch.setenv("BPTT_CACHE", "0")
    f = tmp_path / "np.yaml"
    f.write_text("name: t\nstates: [h]\nequations:\n  - h = tanh(numpy @ x + W @ h_prev)\n")
    cell = load(cell_file=str(f))
    rng = np.random.default_rng(0)
    params = {"numpy": rng.normal(size=(4, 3)), "W": rng.normal(size=(4, 4))}
    X = rng.normal(size=(5, 2, 3))
    a, b = (cell_grads(cell, params, X, engine=e) for e in ("symbolic", "numpy"))
    for k in ("numpy", "W", "input", "h0"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-10, atol=1e-13)

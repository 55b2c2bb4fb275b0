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

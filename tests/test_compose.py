"""Stacked cells built by renaming equations equal PyTorch's multi-layer modules."""
import numpy as np
import pytest

from derive.cells import get_cell
from derive.compose import stack
from derive.derivation import Frame, state_jacobians
from derive.errors import BpttError
from derive.grad import cell_grads
from derive.printing import latex
from derive.torch_layout import to_cell_params


def test_stacked_names_and_shapes():
    c = stack(get_cell("lstm"), 2)
    assert c.states == ("h__1", "c__1", "h__2", "c__2") and c.output == "h__2"
    assert c.shapes["W_f__1"] == ("n_h", "n_x") and c.shapes["W_f__2"] == ("n_h", "n_h")
    assert latex(Frame(c)["h__2"]) == "{h^{(2)}_{t}}"


def test_lower_layer_does_not_depend_on_upper_state():
    J = state_jacobians(stack(get_cell("rnn"), 2), Frame(stack(get_cell("rnn"), 2)))
    assert J[("h__1", "h__2")] is None and J[("h__2", "h__1")] is not None


def test_layers_must_be_positive():
    with pytest.raises(BpttError):
        stack(get_cell("gru"), 0)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("engine", ["symbolic", "numpy"])
def test_stacked_cell_matches_torch_two_layers(kind, engine):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](3, 4, num_layers=2).double()
    sd = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    X = torch.tensor(rng.normal(size=(5, 2, 3)), requires_grad=True)
    dout = rng.normal(size=(5, 2, 4))
    out, _ = m(X)
    (out * torch.tensor(dout)).sum().backward()
    params = {}
    for layer in (0, 1):
        params.update({f"{k}__{layer + 1}": v for k, v in to_cell_params(kind, sd, layer, False, 4).items()})
    cell = stack(get_cell(kind), 2)
    got = cell_grads(cell, params, X.detach().numpy(), None, dout, engine=engine)
    np.testing.assert_allclose(got["output"], out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["input"], X.grad.numpy(), rtol=1e-9, atol=1e-12)
    hh = m.weight_hh_l1.grad.numpy()
    name = "U_f__2" if kind == "lstm" else "U_z__2"
    rows = slice(4, 8)  # forget gate (lstm) / update gate (gru): the second block
    np.testing.assert_allclose(got[name], hh[rows], rtol=1e-9, atol=1e-12)


def _text(name, **kw):
    from derive.api import derive_cell, load
    from derive.render import render
    return render(derive_cell(stack(load(name), kw.pop("layers", 1)), **kw), "text", "en")


def test_bidirectional_section_golden_lines():
    out = _text("rnn", bidirectional_case=True)
    assert "h^(←)_t = tanh(U^(←) x_t + W^(←) h^(←)_{t+1} + b^(←))" in out
    assert "δ^h^(←)_{t+1} = ∂L_{t+1}/∂h^(←)_{t+1} + W^(←)ᵀ (δ^h^(←)_t ⊙ (1 − h^(←)_t ⊙ h^(←)_t))" in out
    assert "∂L/∂x_t = Uᵀ (δ^h_t ⊙ (1 − h_t ⊙ h_t)) + U^(←)ᵀ (δ^h^(←)_t ⊙ (1 − h^(←)_t ⊙ h^(←)_t))" in out


def test_stacked_rnn_golden_line():
    out = _text("rnn", layers=2)
    assert "dh^(2)_t/dh^(1)_{t-1} = diag(1 − h^(2)_t ⊙ h^(2)_t) U^(2) diag(1 − h^(1)_t ⊙ h^(1)_t) W^(1)" in out


def test_concat_and_bidirectional_output_have_their_own_justifications():
    from derive.api import derive_cell, load
    from derive.render import render
    colah = render(derive_cell(load(cell_file="derive/examples/colah_lstm.yaml")), "text", "en")
    assert "concatenation" in colah and "stacks both directions" not in colah
    assert "the output stacks both directions" in _text("rnn", bidirectional_case=True)

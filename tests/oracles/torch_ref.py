"""PyTorch autograd reference ("oracle") for the grad contract of RNN/LSTM/GRU layers.

Role: an INDEPENDENT reference; nothing from the project (``derive``/``quiz``) is
imported.  Weights use PyTorch's own ``state_dict`` keys and shapes
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``..._l1``,
``..._reverse``); gate order is i,f,g,o for LSTM and r,z,n for GRU.

``torch_grads`` runs ``torch.nn.RNN/LSTM/GRU`` in float64 on ``X`` (T, B, n_x), takes
L = sum(dout * output) with ``output`` the module's first return value
(T, B, dirs*n_h) and returns dL/d(every state_dict key), ``"input"`` (dL/dX),
``"h0"``, ``"c0"`` (LSTM only) and ``"output"`` (the forward output itself).

torch is imported lazily so that importing this module never fails; check
``HAVE_TORCH`` (or use ``pytest.importorskip("torch")``) before calling.
"""

from __future__ import annotations

import importlib.util
import re

import numpy as np

HAVE_TORCH = importlib.util.find_spec("torch") is not None

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_KEY = re.compile(r"^(weight_ih|weight_hh|weight_hr|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def _check_kind(kind: str) -> str:
    if kind not in GATES:
        raise ValueError(f"kind must be one of {sorted(GATES)}, got {kind!r}")
    return kind


def _layout(kind: str, state_dict: dict) -> dict:
    """Infer sizes/flags of the torch module from the state_dict keys and shapes."""
    G = GATES[_check_kind(kind)]
    layers, reverse, bias, proj = set(), False, False, 0
    for k in state_dict:
        m = _KEY.match(k)
        if m is None:
            raise KeyError(f"unexpected state_dict key {k!r}")
        layers.add(int(m.group(2)))
        reverse |= m.group(3) is not None
        bias |= m.group(1).startswith("bias")
        if m.group(1) == "weight_hr":
            proj = np.shape(state_dict[k])[0]
    num_layers = max(layers) + 1
    if layers != set(range(num_layers)):
        raise KeyError(f"layer indices {sorted(layers)} are not 0..{num_layers - 1}")
    w_ih = np.shape(state_dict["weight_ih_l0"])
    if w_ih[0] % G:
        raise ValueError(f"weight_ih_l0 rows {w_ih[0]} not a multiple of {G}")
    return dict(
        input_size=w_ih[1],
        hidden_size=w_ih[0] // G,
        num_layers=num_layers,
        bidirectional=reverse,
        bias=bias,
        proj_size=proj,
    )


def torch_grads(kind, state_dict, X, h0=None, c0=None, dout=None, nonlinearity="tanh"):
    """Forward + autograd backward of a torch RNN/LSTM/GRU in float64 -> numpy dict."""
    import torch

    lay = _layout(kind, state_dict)
    kw = dict(
        input_size=lay["input_size"],
        hidden_size=lay["hidden_size"],
        num_layers=lay["num_layers"],
        bidirectional=lay["bidirectional"],
        bias=lay["bias"],
        dtype=torch.float64,
    )
    if kind == "rnn":
        mod = torch.nn.RNN(nonlinearity=nonlinearity, **kw)
    elif kind == "lstm":
        mod = torch.nn.LSTM(proj_size=lay["proj_size"], **kw)
    else:
        mod = torch.nn.GRU(**kw)
    expected = set(mod.state_dict())
    if expected != set(state_dict):
        raise KeyError(
            f"state_dict keys differ from torch's: missing {sorted(expected - set(state_dict))}, "
            f"unexpected {sorted(set(state_dict) - expected)}"
        )
    with torch.no_grad():
        for name, p in mod.named_parameters():
            p.copy_(torch.as_tensor(np.asarray(state_dict[name], dtype=np.float64)))

    X = np.asarray(X, dtype=np.float64)
    batched = X.ndim == 3
    D = 2 if lay["bidirectional"] else 1
    n_out = lay["proj_size"] or lay["hidden_size"]
    lead = (lay["num_layers"] * D,) + ((X.shape[1],) if batched else ())
    x = torch.tensor(X, requires_grad=True)

    def _state(a, n):
        a = np.zeros(lead + (n,)) if a is None else np.asarray(a, dtype=np.float64)
        return torch.tensor(a, requires_grad=True)

    h = _state(h0, n_out)
    if kind == "lstm":
        c = _state(c0, lay["hidden_size"])
        out, _ = mod(x, (h, c))
    else:
        c = None
        out, _ = mod(x, h)

    g = torch.ones_like(out) if dout is None else torch.as_tensor(np.asarray(dout, dtype=np.float64))
    if tuple(g.shape) != tuple(out.shape):
        raise ValueError(f"dout shape {tuple(g.shape)} != output shape {tuple(out.shape)}")
    loss = (g * out).sum()
    leaves = [x, h] + ([c] if c is not None else []) + [p for _, p in mod.named_parameters()]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)

    res = {}
    names = ["input", "h0"] + (["c0"] if c is not None else []) + [n for n, _ in mod.named_parameters()]
    for name, leaf, gr in zip(names, leaves, grads):
        res[name] = np.zeros(tuple(leaf.shape)) if gr is None else gr.detach().numpy().copy()
    res["output"] = out.detach().numpy().copy()
    return res


def random_state_dict(kind, n_x, n_h, layers=1, bidirectional=False, rng=None, scale=0.5):
    """Random N(0, scale^2) weights in PyTorch's state_dict layout and key order."""
    G = GATES[_check_kind(kind)]
    rng = np.random.default_rng(0) if rng is None else rng
    D = 2 if bidirectional else 1
    sd = {}
    for layer in range(layers):
        n_in = n_x if layer == 0 else D * n_h
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            sd["weight_ih" + sfx] = scale * rng.standard_normal((G * n_h, n_in))
            sd["weight_hh" + sfx] = scale * rng.standard_normal((G * n_h, n_h))
            sd["bias_ih" + sfx] = scale * rng.standard_normal(G * n_h)
            sd["bias_hh" + sfx] = scale * rng.standard_normal(G * n_h)
    return sd


def from_cell_params(cell_key: str, p: dict) -> tuple[str, dict, str]:
    """Map single-layer cell parameters (names as in ``unrolled``; numpy arrays,
    biases as vectors or n x 1 columns) to ``(kind, state_dict, nonlinearity)``.

    rnn-<act>: weight_ih=U, weight_hh=W, bias_ih=b, bias_hh=0 (act must be tanh/relu).
    lstm: stack W_i,W_f,W_g,W_o (resp. U_., b_.), bias_hh=0.
    gru-pytorch: weight_ih=[W_r;W_z;W_n], weight_hh=[U_r;U_z;U_n],
                 bias_ih=[b_r;b_z;b_in], bias_hh=[0;0;b_hn].
    """
    a = {k: np.asarray(v, dtype=np.float64) for k, v in p.items()}
    vec = lambda v: v.reshape(-1)  # noqa: E731
    if cell_key.startswith("rnn-"):
        act = cell_key[4:]
        if act not in ("tanh", "relu"):
            raise ValueError(f"torch.nn.RNN has no {act!r} nonlinearity")
        b = vec(a["b"])
        return "rnn", {"weight_ih_l0": a["U"], "weight_hh_l0": a["W"],
                       "bias_ih_l0": b, "bias_hh_l0": np.zeros_like(b)}, act
    if cell_key == "lstm":
        g = "ifgo"
        b = np.concatenate([vec(a[f"b_{k}"]) for k in g])
        return "lstm", {
            "weight_ih_l0": np.vstack([a[f"W_{k}"] for k in g]),
            "weight_hh_l0": np.vstack([a[f"U_{k}"] for k in g]),
            "bias_ih_l0": b,
            "bias_hh_l0": np.zeros_like(b),
        }, "tanh"
    if cell_key == "gru-pytorch":
        z = np.zeros_like(vec(a["b_hn"]))
        return "gru", {
            "weight_ih_l0": np.vstack([a["W_r"], a["W_z"], a["W_n"]]),
            "weight_hh_l0": np.vstack([a["U_r"], a["U_z"], a["U_n"]]),
            "bias_ih_l0": np.concatenate([vec(a["b_r"]), vec(a["b_z"]), vec(a["b_in"])]),
            "bias_hh_l0": np.concatenate([z, z, vec(a["b_hn"])]),
        }, "tanh"
    raise ValueError(f"{cell_key!r} has no torch.nn counterpart")

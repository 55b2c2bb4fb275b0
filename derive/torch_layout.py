"""PyTorch ``state_dict`` layout <-> cell parameters.

``nn.RNN``/``nn.LSTM``/``nn.GRU`` stack gate blocks by rows (LSTM: i, f, g, o;
GRU: r, z, n) and keep two biases.  A cell has one bias per gate where the two
simply add (so both receive the same gradient); the PyTorch GRU's candidate
keeps ``b_in`` and ``b_hn`` apart because the reset gate multiplies ``b_hn``.
"""
from __future__ import annotations

import re

import numpy as np

from .errors import BpttError

LAYOUT = {
    "rnn": {"weight_ih": ["U"], "weight_hh": ["W"], "bias_ih": ["b"], "bias_hh": ["b"]},
    "lstm": {"weight_ih": ["W_i", "W_f", "W_g", "W_o"], "weight_hh": ["U_i", "U_f", "U_g", "U_o"],
             "bias_ih": ["b_i", "b_f", "b_g", "b_o"], "bias_hh": ["b_i", "b_f", "b_g", "b_o"]},
    "gru": {"weight_ih": ["W_r", "W_z", "W_n"], "weight_hh": ["U_r", "U_z", "U_n"],
            "bias_ih": ["b_r", "b_z", "b_in"], "bias_hh": ["b_r", "b_z", "b_hn"]},
}
KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def parse_keys(kind: str, keys) -> tuple:
    """Number of layers and directions read from state_dict keys."""
    found = {}
    for k in keys:
        m = KEY.match(k)
        if not m:
            raise BpttError(f"unexpected weight key {k!r}; expected PyTorch names like weight_ih_l0, bias_hh_l1_reverse")
        found.setdefault((int(m[2]), bool(m[3])), set()).add(m[1])
    if not found:
        raise BpttError("the weights file holds no weights; write one with 'bptt init'")
    layers, dirs = max(l for l, _ in found) + 1, 2 if any(r for _, r in found) else 1
    for l in range(layers):
        for r in range(dirs):
            roles = found.get((l, bool(r)), set())
            for need in ("weight_ih", "weight_hh"):
                if need not in roles:
                    raise BpttError(f"missing key {need}_l{l}{'_reverse' if r else ''} in the weights file")
    return layers, dirs


def suffix(layer: int, reverse: bool) -> str:
    return f"_l{layer}{'_reverse' if reverse else ''}"


def to_cell_params(kind, sd, layer, reverse, n_h, dtype=np.float64) -> dict:
    """Cell parameters of one layer/direction from a state_dict."""
    out = {}
    for role, names in LAYOUT[kind].items():
        key = role + suffix(layer, reverse)
        if key not in sd:
            continue
        blocks = np.split(np.asarray(sd[key], dtype=dtype), len(names), axis=0)
        for name, block in zip(names, blocks):
            block = block.reshape(n_h, 1) if role.startswith("bias") else block
            out[name] = out[name] + block if name in out else block.copy()
    for name in LAYOUT[kind]["bias_ih"] + LAYOUT[kind]["bias_hh"]:
        out.setdefault(name, np.zeros((n_h, 1), dtype=dtype))
    return out


def to_torch_grads(kind, grads, layer, reverse, keys) -> dict:
    """Gradients of the state_dict keys of one layer/direction from cell gradients."""
    out = {}
    for role, names in LAYOUT[kind].items():
        key = role + suffix(layer, reverse)
        if key in keys:
            parts = [grads[n] for n in names]
            g = np.concatenate(parts, axis=0)
            out[key] = g.reshape(-1) if role.startswith("bias") else g
    return out


def check_shapes(kind, sd, layers, dirs) -> tuple:
    """Validate every array's shape; return (n_x, n_h)."""
    gates = len(LAYOUT[kind]["weight_ih"])
    w = np.asarray(sd["weight_hh_l0"])
    if w.ndim != 2 or w.shape[0] != gates * w.shape[1]:
        raise BpttError(f"weight_hh_l0 has shape {w.shape}; a {kind} needs ({gates}*n_h, n_h)")
    n_h, n_x = w.shape[1], np.asarray(sd["weight_ih_l0"]).shape[-1]
    for l in range(layers):
        n_in = n_x if l == 0 else dirs * n_h
        for r in range(dirs):
            want = {"weight_ih": (gates * n_h, n_in), "weight_hh": (gates * n_h, n_h),
                    "bias_ih": (gates * n_h,), "bias_hh": (gates * n_h,)}
            for role, shape in want.items():
                key = role + suffix(l, bool(r))
                if key in sd and np.shape(sd[key]) != shape:
                    raise BpttError(f"{key} has shape {np.shape(sd[key])}, expected {shape} for a {kind} "
                                    f"with n_h={n_h}")
    return n_x, n_h

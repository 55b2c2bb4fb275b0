"""Weights in PyTorch ``state_dict`` layout: initialise, read, validate, write.

Files hold the keys ``nn.RNN``/``nn.LSTM``/``nn.GRU`` use (``weight_ih_l0``,
``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``..._reverse``), gate blocks
stacked by rows (LSTM: i, f, g, o; GRU: r, z, n), as float64 arrays.

* ``.npz``: read with ``np.load(allow_pickle=False)``; written with ``np.savez``,
  whose bytes are deterministic (every zip entry carries the fixed date
  1980-01-01, checked by the tests), so the same seed gives the same file.
* ``.pt``: only when PyTorch is importable; read with ``torch.load(weights_only=True)``.
  ``torch.save`` stores a random serialization id, so ``.pt`` bytes differ run to run.

Initialisation schemes (biases are zero unless the scheme says otherwise):

* ``small``: every weight ``0.01 * N(0, 1)``.
* ``xavier``: Glorot **uniform**, gain 1, per gate block:
  ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``, fan_out = n_h (one gate).
* ``orthogonal``: each recurrent gate block (n_h x n_h) is orthogonal, the Q of a
  QR of a Gaussian with signs fixed so it is Haar-distributed; input blocks xavier.
* ``pytorch``: what ``nn.RNN``/``nn.LSTM``/``nn.GRU`` do by default: every weight
  **and bias** ``U(-1/sqrt(n_h), 1/sqrt(n_h))``.

Random numbers come only from the ``numpy.random.Generator`` passed in.
No SymPy or matplotlib here.
"""
from __future__ import annotations

import io
import os
import zipfile

import numpy as np

from .errors import BpttError
from .torch_layout import LAYOUT, check_shapes, parse_keys, suffix

KINDS = ("rnn", "lstm", "gru")
SCHEMES = ("small", "xavier", "orthogonal", "pytorch")
EXTENSIONS = (".npz", ".pt")
ROLES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def gates(kind: str) -> int:
    """Number of gate blocks stacked in each matrix (rnn 1, gru 3, lstm 4)."""
    _check_kind(kind)
    return len(LAYOUT[kind]["weight_ih"])


def _check_kind(kind):
    if kind not in KINDS:
        raise BpttError(f"unknown cell {kind!r} for PyTorch-layout weights; use rnn, lstm or gru")


def expected_shapes(kind, n_x, n_h, layers=1, bidirectional=False) -> dict:
    """Keys in PyTorch's ``state_dict`` order -> shapes."""
    g, dirs = gates(kind), 2 if bidirectional else 1
    out = {}
    for l in range(layers):
        n_in = n_x if l == 0 else dirs * n_h
        for r in range(dirs):
            s = suffix(l, bool(r))
            out["weight_ih" + s] = (g * n_h, n_in)
            out["weight_hh" + s] = (g * n_h, n_h)
            out["bias_ih" + s] = (g * n_h,)
            out["bias_hh" + s] = (g * n_h,)
    return out


def _positive(name, value, flag):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BpttError(f"{name} must be a positive integer, got {value!r}; pass e.g. {flag} 8")


def _xavier(rng, rows, cols):
    a = np.sqrt(6.0 / (rows + cols))
    return rng.uniform(-a, a, size=(rows, cols))


def orthogonal(rng, n):
    """A Haar-random n x n orthogonal matrix: QR of a Gaussian, signs of diag(R) folded in."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _block(scheme, role, rng, n_h, n_in):
    """One gate block of a weight matrix, or one gate's bias (n_h,)."""
    if role.startswith("bias"):
        if scheme == "pytorch":
            k = 1.0 / np.sqrt(n_h)
            return rng.uniform(-k, k, size=n_h)
        return np.zeros(n_h)
    cols = n_in if role == "weight_ih" else n_h
    if scheme == "small":
        return 0.01 * rng.standard_normal((n_h, cols))
    if scheme == "pytorch":
        k = 1.0 / np.sqrt(n_h)
        return rng.uniform(-k, k, size=(n_h, cols))
    if scheme == "orthogonal" and role == "weight_hh":
        return orthogonal(rng, n_h)
    return _xavier(rng, n_h, cols)


def init_weights(kind, n_x, n_h, scheme, rng, layers=1, bidirectional=False) -> dict:
    """Random weights in PyTorch ``state_dict`` layout.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    n_x, n_h : int
        Input and hidden sizes.
    scheme : {"small", "xavier", "orthogonal", "pytorch"}
        See the module docstring.
    rng : numpy.random.Generator
        The only source of randomness; blocks are drawn in key order, gate by gate.
    layers : int
    bidirectional : bool

    Returns
    -------
    dict
        key -> float64 array, in the key order of ``nn.LSTM(...).state_dict()``.
    """
    _check_kind(kind)
    _positive("--input (n_x)", n_x, "--input")
    _positive("--hidden (n_h)", n_h, "--hidden")
    _positive("--layers", layers, "--layers")
    if scheme not in SCHEMES:
        raise BpttError(f"unknown init scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    if not isinstance(rng, np.random.Generator):
        raise BpttError("init_weights needs a numpy.random.Generator, e.g. np.random.default_rng(0)")
    g, out = gates(kind), {}
    for key, shape in expected_shapes(kind, n_x, n_h, layers, bidirectional).items():
        role = key.split("_l")[0]
        n_in = shape[1] if len(shape) == 2 else 0
        blocks = [_block(scheme, role, rng, n_h, n_in) for _ in range(g)]
        out[key] = np.ascontiguousarray(np.concatenate(blocks, axis=0), dtype=np.float64)
    return out


# ----------------------------------------------------------------------------- reading


def _ext(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in EXTENSIONS:
        raise BpttError(f"{os.fspath(path)!r}: unknown weights file type {ext or '(none)'!r}; use .npz or .pt")
    return ext


def _import_torch(path, verb):
    try:
        import torch
    except ImportError:
        raise BpttError(f"{verb} {os.fspath(path)!r} needs PyTorch, which is not installed; "
                        "install it (pip install torch) or use a .npz file instead") from None
    return torch


def _read_npz(path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise BpttError(f"{os.fspath(path)!r} holds a single array, not named weights; "
                                "save a dict with np.savez(path, **state_dict)")
            return {k: z[k] for k in z.files}
    except BpttError:
        raise
    except FileNotFoundError:
        raise BpttError(f"weights file {os.fspath(path)!r} does not exist; create one with 'bptt init'") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BpttError(f"cannot read {os.fspath(path)!r} as .npz ({reason}); "
                        "write it with np.savez(path, **state_dict) (no pickled objects)") from None


def _read_pt(path) -> dict:
    torch = _import_torch(path, "reading")
    if not os.path.exists(path):
        raise BpttError(f"weights file {os.fspath(path)!r} does not exist; create one with 'bptt init'")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types (UnpicklingError, RuntimeError, ...)
        reason = (str(err).splitlines() or [type(err).__name__])[0][:200]
        raise BpttError(f"cannot read {os.fspath(path)!r} with torch.load(weights_only=True) ({reason}); "
                        "save it with torch.save(model.state_dict(), path)") from None
    if not isinstance(obj, dict):
        raise BpttError(f"{os.fspath(path)!r} holds a {type(obj).__name__}, not a state_dict; "
                        "save it with torch.save(model.state_dict(), path)")
    out = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise BpttError(f"entry {k!r} of {os.fspath(path)!r} is a {type(v).__name__}, not a tensor; "
                            "save only model.state_dict()")
        out[str(k)] = v.detach().to("cpu", torch.float64).numpy()
    return out


def read_weights(path) -> dict:
    """Raw arrays of a ``.npz`` or ``.pt`` file (not validated; see :func:`load_weights`)."""
    return _read_npz(path) if _ext(path) == ".npz" else _read_pt(path)


# ----------------------------------------------------------------------------- validation


def infer_kind(sd) -> str:
    """rnn, gru or lstm from the gate count of ``weight_hh_l0`` (rows / cols = 1, 3, 4)."""
    w = sd.get("weight_hh_l0")
    shape = np.shape(w) if w is not None else ()
    if len(shape) == 2 and shape[1] > 0 and shape[0] % shape[1] == 0:
        kind = {1: "rnn", 3: "gru", 4: "lstm"}.get(shape[0] // shape[1])
        if kind:
            return kind
    raise BpttError(f"cannot tell the cell type from weight_hh_l0 of shape {shape}; "
                    "expected (n_h, n_h) rnn, (3*n_h, n_h) gru or (4*n_h, n_h) lstm")


def validate(sd, kind=None) -> dict:
    """Check keys, shapes and values of a PyTorch-layout ``state_dict``.

    Returns
    -------
    dict
        ``kind``, ``layers``, ``dirs``, ``n_x``, ``n_h``, ``bias`` (whether biases are stored).

    Raises
    ------
    BpttError
        One line naming the first bad key and a fix: unknown or missing key,
        wrong shape, non-numeric array, NaN or inf.
    """
    layers, dirs = parse_keys(kind or "rnn", sd.keys())  # names only; kind-independent
    for k, v in sd.items():
        a = np.asarray(v)
        if a.dtype.kind not in "fiu":
            raise BpttError(f"{k} has dtype {a.dtype}; weights must be real numbers (float)")
        if a.ndim not in (1, 2):
            raise BpttError(f"{k} has shape {a.shape}; weights are 2-D and biases 1-D")
    kind = kind or infer_kind(sd)
    _check_kind(kind)
    expected = expected_keys_like(sd, layers, dirs)
    missing = [k for k in expected if k not in sd]
    if missing:
        raise BpttError(f"missing key {missing[0]} in the weights file; store both bias_ih and bias_hh "
                        "for every layer, or no biases at all (bias=False)")
    n_x, n_h = check_shapes(kind, sd, layers, dirs)
    for k, v in sd.items():
        a = np.asarray(v, dtype=np.float64)
        bad = ~np.isfinite(a)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            what = "NaN" if np.isnan(a[where]) else "inf"
            raise BpttError(f"{k} contains {int(bad.sum())} non-finite value(s) ({what} at index {where}); "
                            "replace them with finite numbers or re-create the file with 'bptt init'")
    bias = any(k.startswith("bias") for k in sd)
    return {"kind": kind, "layers": layers, "dirs": dirs, "n_x": n_x, "n_h": n_h, "bias": bias}


def expected_keys_like(sd, layers, dirs) -> list:
    """Every key a state_dict with these layers/directions must hold (biases all or none)."""
    bias = any(k.startswith("bias") for k in sd)
    roles = ROLES if bias else ROLES[:2]
    return [r + suffix(l, bool(d)) for l in range(layers) for d in range(dirs) for r in roles]


def load_weights(path, kind=None) -> tuple:
    """Read and validate a weights file: ``(state_dict of float64 arrays, info)``.

    ``info`` is what :func:`validate` returns.
    """
    sd = read_weights(path)
    info = validate(sd, kind)
    return {k: np.asarray(v, dtype=np.float64) for k, v in sd.items()}, info


# ----------------------------------------------------------------------------- writing


def check_writable(path, extensions=EXTENSIONS) -> str:
    """Fail early, with one line, when ``path`` has a bad extension or cannot be written."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in extensions:
        raise BpttError(f"-o {path!r}: unknown file type {ext or '(none)'!r}; use {' or '.join(extensions)}")
    if os.path.isdir(path):
        raise BpttError(f"-o {path!r} is a directory; give a file name such as {os.path.join(path, 'out' + ext)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BpttError(f"-o {path!r}: folder {folder!r} does not exist; create it first")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise BpttError(f"-o {path!r} is not writable; choose another path")
    return ext


def write_bytes(path, data: bytes) -> None:
    """Write a whole file; an OSError becomes one BpttError line."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as err:
        raise BpttError(f"cannot write {os.fspath(path)!r}: {err.strerror or err}; choose another path") from None


def npz_bytes(sd) -> bytes:
    """The bytes ``np.savez`` writes for ``sd`` (keys in the given order)."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.ascontiguousarray(v, dtype=np.float64) for k, v in sd.items()})
    return buf.getvalue()


def save_weights(path, sd) -> None:
    """Write ``sd`` as ``.npz`` (deterministic bytes) or ``.pt`` (needs PyTorch)."""
    ext = check_writable(path)
    if ext == ".npz":
        write_bytes(path, npz_bytes(sd))
        return
    torch = _import_torch(path, "writing")
    from collections import OrderedDict
    state = OrderedDict((k, torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))) for k, v in sd.items())
    buf = io.BytesIO()
    torch.save(state, buf)
    write_bytes(path, buf.getvalue())

"""Generators computed with NumPy formulas: slopes, bounds, clipping, softmax, parameter counts."""
from __future__ import annotations

import math

import numpy as np

from .generators import generator, matrix_answer, number_answer, nums

SLOPE = {"sigmoid": 0.25, "tanh": 1.0}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@generator("activation_slope", "number")
def activation_slope(rng, fn="sigmoid"):
    """σ'(x) = σ(x)(1-σ(x)) or tanh'(x) = 1 - tanh²(x) at a random point."""
    x = nums(rng, 1, 2.5, lo=0.2)[0]
    if fn == "sigmoid":
        s = float(_sigmoid(x))
        val, wrong = s * (1 - s), [s, 1 - s, 0.25]
    else:
        t = math.tanh(x)
        val, wrong = 1 - t * t, [1 - t, t, 1.0]
    return {"params": {"x": x, "fn": fn}, **number_answer(val, wrong, rtol=2e-3)}


@generator("vanishing_bound", "number")
def vanishing_bound(rng, fn="sigmoid"):
    """Upper bound (|w| · max f')^n on |∂h_t/∂h_{t-n}| for a 1-D RNN."""
    w = nums(rng, 1, 3.5, lo=0.5, positive=True)[0]
    n = int(rng.integers(5, 21))
    gamma = w * SLOPE[fn]
    return {"params": {"w": w, "n": n, "fn": fn, "slope": SLOPE[fn]},
            **number_answer(gamma ** n, [w ** n, gamma * n, SLOPE[fn] ** n], rtol=5e-3)}


@generator("steps_below", "number")
def steps_below(rng):
    """Smallest n with (|w|/4)^n < eps for a sigmoid RNN."""
    w = float(np.round(rng.uniform(0.8, 3.6), 1))
    eps = float(rng.choice([1e-2, 1e-3, 1e-4]))
    gamma = w / 4
    n = math.floor(math.log(eps) / math.log(gamma)) + 1
    return {"params": {"w": w, "eps": eps, "gamma": gamma},
            **number_answer(n, [n - 1, n + 1], rtol=0.0, atol=0.0)}


def _clip_case(rng):
    g = nums(rng, 3, 6.0, lo=0.5)
    norm = float(np.linalg.norm(g))
    v = float(np.round(rng.uniform(0.3, 0.8) * norm, 1))
    return g, norm, v


@generator("clip_vector", "matrix")
def clip_vector(rng):
    """g ← g·v/‖g‖ when ‖g‖ > v."""
    g, norm, v = _clip_case(rng)
    clipped = np.array(g) * v / norm
    by_value = np.clip(g, -v, v)
    return {"params": {"g": g, "v": v}, **matrix_answer(clipped.tolist(), [g, by_value.tolist()], rtol=2e-3, atol=1e-3)}


@generator("clip_scale", "number")
def clip_scale(rng):
    """The factor v/‖g‖ that gradient clipping multiplies g by."""
    g, norm, v = _clip_case(rng)
    return {"params": {"g": g, "v": v}, **number_answer(v / norm, [norm / v, v / float(np.sum(np.abs(g)))], rtol=2e-3)}


VOCAB = ["h", "e", "l", "o"]


def _logits(rng):
    return nums(rng, 4, 2.0)


def _softmax(o):
    e = np.exp(np.array(o) - max(o))
    return e / e.sum()


@generator("softmax_hello", "matrix")
def softmax_hello(rng):
    """Softmax of the output scores over the vocabulary {h, e, l, o}."""
    o = _logits(rng)
    p = _softmax(o)
    return {"params": {"o": o, "vocab": VOCAB},
            **matrix_answer(p.tolist(), [np.exp(o).tolist(), (np.array(o) / np.sum(np.abs(o))).tolist()],
                            rtol=5e-3, atol=1e-3)}


def _target(rng):
    t = int(rng.integers(0, 4))
    return t, VOCAB[t]


@generator("xent_hello", "number")
def xent_hello(rng):
    """Cross-entropy −log p_target of one step of the "hello" example."""
    o, (t, ch) = _logits(rng), _target(rng)
    p = _softmax(o)
    return {"params": {"o": o, "target": ch, "vocab": VOCAB},
            **number_answer(-math.log(p[t]), [-math.log10(p[t]), 1 - p[t], -o[t]], rtol=2e-3)}


@generator("xent_grad", "matrix")
def xent_grad(rng):
    """∂L/∂o = p − y for softmax followed by cross-entropy."""
    o, (t, ch) = _logits(rng), _target(rng)
    p = _softmax(o)
    y = np.eye(4)[t]
    return {"params": {"o": o, "target": ch, "vocab": VOCAB},
            **matrix_answer((p - y).tolist(), [(y - p).tolist(), p.tolist()], rtol=5e-3, atol=1e-3)}


@generator("cell_path", "matrix")
def cell_path(rng, k=3):
    """∂c_t/∂c_{t-k} along the cell path: the elementwise product of k forget gates."""
    pre = [nums(rng, 2, 3.0) for _ in range(k)]
    f = _sigmoid(np.array(pre))
    return {"params": {"pre": pre, "k": k},
            **matrix_answer(np.prod(f, axis=0).tolist(), [f[-1].tolist(), np.sum(f, axis=0).tolist()],
                            rtol=5e-3, atol=1e-4)}


BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}


@generator("param_count", "number")
def param_count(rng, cell="lstm"):
    """Parameters of one PyTorch nn.RNN/GRU/LSTM layer: G·(n_h·n_x + n_h² + 2 n_h)."""
    n_x, n_h = int(rng.integers(2, 65)), int(rng.integers(2, 129))
    g = BLOCKS[cell]
    total = g * (n_h * n_x + n_h * n_h + 2 * n_h)
    return {"params": {"n_x": n_x, "n_h": n_h, "blocks": g},
            **number_answer(total, [g * (n_h * n_x + n_h * n_h + n_h), n_h * n_x + n_h * n_h + 2 * n_h],
                            rtol=0.0, atol=0.0)}


@generator("readout_delta", "matrix")
def readout_delta(rng):
    """δ_h = Vᵀ(p − y) from the readout y = softmax(V h)."""
    V, h = nums(rng, (3, 2), 1.0), nums(rng, 2, 1.0)
    t = int(rng.integers(0, 3))
    p = _softmax((np.array(V) @ np.array(h)).tolist())
    d = p - np.eye(3)[t]
    return {"params": {"V": V, "h": h, "target": t + 1, "p": [round(float(x), 4) for x in p]},
            **matrix_answer((np.array(V).T @ d).tolist(), [(np.array(V).T @ p).tolist()], rtol=5e-3, atol=2e-3)}


@generator("one_hot", "matrix")
def one_hot(rng):
    """The one-hot vector of a character of "hello" over the vocabulary (h, e, l, o)."""
    t, ch = _target(rng)
    y = np.eye(4)[t]
    wrong = [np.eye(4)[(t + 1) % 4].tolist(), np.ones(4).tolist()]
    return {"params": {"ch": ch, "vocab": VOCAB, "index": t + 1}, **matrix_answer(y.tolist(), wrong, rtol=0, atol=0)}

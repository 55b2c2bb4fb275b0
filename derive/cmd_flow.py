"""``bptt flow``: gradient-flow experiments as numbers (--json) and figures (-o)."""
from __future__ import annotations

import click

from .errors import BpttError

HELP = """Gradient-flow experiments for students: vanishing/exploding gradients,
the LSTM/GRU fixes, clipping, and activation slopes.

\b
--kind decay (default): ||dh_T/dh_k||_2 against T-k for random weights, averaged
    over --seeds runs (geometric mean, min-max band); RNN curves come with the
    Pascanu bound (gamma*||W||_2)^(T-k).  Choose curves with --cells/--init, or a
    preset with --scenario vanishing|exploding|lstm|gru.
--kind clip: SGD on a small task with large weights; the gradient norm before
    and after clipping at --clip V, and the loss with and without clipping.
--kind activations: sigmoid', tanh', relu' on [-6, 6] and their maxima.

\b
Examples:
  bptt flow --scenario vanishing -o vanishing.png
  bptt flow --cells rnn,lstm,gru --init xavier --seeds 10 -o flow.pdf
  bptt flow --kind clip --clip 1 -o clip.png --json
"""

DECAY_DEFAULTS = dict(steps=100, hidden=32, init="xavier", gain=1.0)
CLIP_DEFAULTS = dict(steps=30, hidden=16, init="orthogonal", gain=1.5)


def _positive_int(name, v):
    if v is not None and v < 1:
        raise BpttError(f"{name} must be a positive integer, got {v}")


@click.command("flow", help=HELP)
@click.option("--kind", default="decay", show_default=True, metavar="decay|clip|activations",
              help="Which experiment.")
@click.option("--scenario", default=None, metavar="vanishing|exploding|lstm|gru",
              help="Decay preset: fixes the cells, inits and gate biases (do not combine with --cells/--init).")
@click.option("--cells", default=None, metavar="LIST",
              help="Comma-separated cells: rnn (tanh), rnn:relu, rnn:sigmoid, lstm, gru.  "
                   "[default: rnn,lstm,gru; clip: rnn]")
@click.option("--steps", type=int, default=None, help="Sequence length T.  [default: 100; clip: 30]")
@click.option("--hidden", type=int, default=None, help="Hidden size n_h.  [default: 32; clip: 16]")
@click.option("--input", "n_x", type=int, default=4, show_default=True, help="Input size n_x (decay).")
@click.option("--init", default=None, metavar="small|xavier|orthogonal|pytorch",
              help="Weight init scheme (see bptt init --help).  [default: xavier; clip: orthogonal]")
@click.option("--gain", type=float, default=None, help="Multiply recurrent weights by this.  [default: 1; clip: 1.5]")
@click.option("--gate-bias", type=float, default=0.0, show_default=True,
              help="Added to the LSTM forget-gate / GRU update-gate bias (the gate that keeps the old state).")
@click.option("--clip", "clip_value", type=float, default=1.0, show_default=True,
              help="Clipping threshold v: g <- g*v/||g|| when ||g|| > v (clip).")
@click.option("--iters", type=int, default=100, show_default=True, help="SGD steps (clip).")
@click.option("--lr", type=float, default=0.3, show_default=True, help="SGD learning rate (clip).")
@click.option("--seeds", type=int, default=5, show_default=True, help="Runs to average over, K (decay).")
@click.option("--seed", type=int, default=0, show_default=True, help="Master seed; runs use its children.")
@click.option("-o", "--output", default=None, metavar="PATH",
              help="Figure file: .png, .pdf or .svg (format from the extension).")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON on stdout (sorted keys).")
def flow_cmd(kind, scenario, cells, steps, hidden, n_x, init, gain, gate_bias, clip_value, iters, lr,
             seeds, seed, output, as_json):
    import json
    import math

    from . import flow

    if kind not in flow.KINDS:
        raise BpttError(f"unknown --kind {kind!r}; use decay, clip or activations")
    if output is None and not as_json:
        raise BpttError("nothing to do; give -o FILE.png|.pdf|.svg and/or --json")
    for name, v in (("--steps", steps), ("--hidden", hidden), ("--input", n_x), ("--iters", iters),
                    ("--seeds", seeds)):
        _positive_int(name, v)
    if seed < 0:
        raise BpttError(f"--seed must be >= 0, got {seed}")
    for name, v in (("--gain", gain), ("--gate-bias", gate_bias), ("--lr", lr), ("--clip", clip_value)):
        if v is not None and not math.isfinite(v):
            raise BpttError(f"{name} must be a finite number, got {v}")
    if output is not None:
        from .plots import check_output
        check_output(output)  # fail before computing

    if kind == "decay":
        d = DECAY_DEFAULTS
        if scenario is not None:
            if scenario not in flow.SCENARIOS:
                raise BpttError(f"unknown --scenario {scenario!r}; use {', '.join(flow.SCENARIOS)}")
            if cells is not None or init is not None or gain is not None or gate_bias:
                raise BpttError("--scenario sets the cells, init, gain and gate bias; drop --cells/--init/"
                                "--gain/--gate-bias, or drop --scenario")
            title, curves, ymin = flow.SCENARIOS[scenario]
        else:
            specs = _cell_list(cells or "rnn,lstm,gru")
            title, ymin = "Gradient flow back through time", None
            curves = flow.curves_from_options(specs, init or d["init"], d["gain"] if gain is None else gain,
                                              gate_bias)
        result = flow.decay(curves, steps or d["steps"], hidden or d["hidden"], n_x, seeds, seed, title, ymin)
    elif kind == "clip":
        d = CLIP_DEFAULTS
        if scenario is not None:
            raise BpttError("--scenario is for --kind decay")
        specs = _cell_list(cells or "rnn")
        if len(specs) != 1:
            raise BpttError(f"--kind clip trains one cell; pass one of them, e.g. --cells {specs[0]}")
        from .weights import SCHEMES
        init = init or d["init"]
        if init not in SCHEMES:
            raise BpttError(f"unknown --init {init!r}; use one of {', '.join(SCHEMES)}")
        if not lr > 0:
            raise BpttError(f"--lr must be positive, got {lr}")
        result = flow.clip_training(specs[0], hidden or d["hidden"], steps or d["steps"], iters, clip_value,
                                    init, d["gain"] if gain is None else gain, lr, seed=seed)
    else:
        result = flow.activation_slopes()

    if output is not None:
        from .plots import render
        render(result, output)
        click.echo(f"wrote {output}", err=True)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True, allow_nan=False, ensure_ascii=False))


def _cell_list(text):
    from .flow import parse_cell
    specs = [s.strip().lower() for s in text.split(",") if s.strip()]
    if not specs:
        raise BpttError("--cells is empty; pass e.g. --cells rnn,lstm,gru")
    for s in specs:
        parse_cell(s)
    return specs

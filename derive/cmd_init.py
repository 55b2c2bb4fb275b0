"""``bptt init``: write random weights in PyTorch ``state_dict`` layout."""
from __future__ import annotations

import os

import click

from .errors import BpttError

SCHEME_HELP = ("small: 0.01*N(0,1); xavier: Glorot uniform, gain 1, per gate block; "
               "orthogonal: orthogonal recurrent blocks, xavier input blocks; "
               "pytorch: U(-1/sqrt(n_h), 1/sqrt(n_h)) for weights and biases, like nn.RNN. "
               "Biases are zero except with pytorch.")


@click.command("init", help="Write random RNN/LSTM/GRU weights in PyTorch state_dict layout (.npz or .pt).\n\n"
               "CELL is rnn, lstm or gru. The same --seed gives the same .npz bytes.")
@click.argument("cell", metavar="CELL")
@click.option("--hidden", "n_h", type=int, required=True, help="Hidden size n_h.")
@click.option("--input", "n_x", type=int, required=True, help="Input size n_x.")
@click.option("--layers", type=int, default=1, show_default=True, help="Stacked layers.")
@click.option("--bidirectional", is_flag=True, help="Add _reverse weights for a backward direction.")
@click.option("--scheme", default="pytorch", show_default=True, metavar="small|xavier|orthogonal|pytorch",
              help=SCHEME_HELP)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of numpy.random.default_rng.")
@click.option("-o", "--output", "output", required=True, metavar="PATH",
              help="Output file: .npz, or .pt (needs PyTorch; .pt bytes are not reproducible).")
def init_cmd(cell, n_h, n_x, layers, bidirectional, scheme, seed, output):
    import numpy as np

    from .weights import check_writable, init_weights, save_weights

    kind = cell.lower()
    if kind not in ("rnn", "lstm", "gru"):
        raise BpttError(f"unknown cell {cell!r} for bptt init; use rnn, lstm or gru")
    if seed < 0:
        raise BpttError(f"--seed must be >= 0, got {seed}")
    check_writable(output)
    sd = init_weights(kind, n_x, n_h, scheme, np.random.default_rng(seed), layers=layers,
                      bidirectional=bidirectional)
    save_weights(output, sd)
    dirs = 2 if bidirectional else 1
    click.echo(f"wrote {os.fspath(output)}: {kind} n_x={n_x} n_h={n_h} layers={layers} directions={dirs} "
               f"scheme={scheme} seed={seed}")
    for k, v in sd.items():
        click.echo(f"  {k:<24} {str(v.shape):>12}")

"""``bptt derive`` and ``bptt grad``; heavy imports happen inside the commands."""
from __future__ import annotations

import sys

import click

from .errors import BpttError

FORMATS = ("text", "latex", "markdown", "json")
CHECK_TOL = 1e-6


def _cell(cell, cell_file, variant):
    from .api import load
    if cell and cell_file:
        raise BpttError("give either a CELL name or --cell-file, not both")
    return load(cell, variant, cell_file)


def _write(text: str, output: str | None):
    if output in (None, "-"):
        click.echo(text, nl=not text.endswith("\n"))
        return
    from .arrays_io import write_bytes
    write_bytes(output, text.encode("utf-8"))


@click.command("derive")
@click.argument("cell", required=False)
@click.option("--cell-file", type=click.Path(dir_okay=False), help="A YAML file with your own cell's equations.")
@click.option("--variant", help="RNN activation (tanh|relu|sigmoid) or GRU convention (pytorch|cho|swapped); "
                               "also written CELL:VARIANT, e.g. gru:cho.")
@click.option("--steps", "-T", default=3, show_default=True, type=int, help="T of the fully unrolled example.")
@click.option("--layers", default=1, show_default=True, type=int, help="Stack this many layers of the cell.")
@click.option("--scalar", is_flag=True, help="Add the 1-D case (n_x = n_h = 1).")
@click.option("--bidirectional", is_flag=True, help="Add the backward direction of a bidirectional layer.")
@click.option("--truncate", "-k", type=int, help="Add truncated BPTT with a window of K steps.")
@click.option("--format", "fmt", default="text", show_default=True, help="text, latex, markdown or json.")
@click.option("--standalone", is_flag=True, help="With latex: a complete document (compiles with xelatex).")
@click.option("--lang", default="en", show_default=True, help="en or zh.")
@click.option("--check", is_flag=True, help="Append relative errors against float64 central differences.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the --check point.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def derive_cmd(cell, cell_file, variant, steps, layers, scalar, bidirectional, truncate, fmt, standalone, lang, check, seed, output):
    """Derive a cell's Jacobians, their products and BPTT gradients, step by step.

    CELL is rnn, lstm, lstm-peephole or gru (see --variant), or use --cell-file.
    Example: bptt derive lstm --format markdown --lang zh --check
    """
    if fmt not in FORMATS:
        raise BpttError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if lang not in ("en", "zh"):
        raise BpttError(f"unknown language {lang!r}; use en or zh")
    if standalone and fmt != "latex":
        raise BpttError("--standalone needs --format latex")
    if seed < 0:
        raise BpttError(f"--seed must be a non-negative integer (got {seed})")
    c = _cell(cell, cell_file, variant)
    from .compose import stack
    c = stack(c, layers)
    from .api import derive_cell
    d = derive_cell(c, steps=steps, truncate=truncate, scalar_case=scalar, bidirectional_case=bidirectional)
    from .render import render
    rows = None
    if check:
        import numpy as np
        from .check import check_table
        from .gradcheck import EPS
        rows = check_table(c, np.random.default_rng(seed))
        d.options["check"] = {"rows": rows, "tolerance": CHECK_TOL, "seed": seed, "eps": EPS}
    _write(render(d, fmt, lang, standalone), output)
    if rows and max(r["rel_err"] for r in rows) > CHECK_TOL:
        click.echo(f"bptt: check failed: a relative error exceeds {CHECK_TOL:g}", err=True)
        sys.exit(1)


def _inits(pairs):
    from .arrays_io import load_npy
    out = {}
    for p in pairs:
        if "=" not in p:
            raise BpttError(f"--init {p!r} must look like STATE=FILE.npy, e.g. h=h0.npy")
        name, path = p.split("=", 1)
        out[name] = load_npy(path, f"initial {name}")
    return out


@click.command("grad")
@click.argument("cell", required=False)
@click.option("--cell-file", type=click.Path(dir_okay=False), help="A YAML cell instead of rnn|lstm|gru.")
@click.option("--weights", required=True, type=click.Path(dir_okay=False), help=".npz with PyTorch state_dict keys "
              "(or the cell's parameter names with --cell-file).")
@click.option("--input", "input_", required=True, type=click.Path(dir_okay=False), help=".npy of shape (T, B, n_x).")
@click.option("--h0", type=click.Path(dir_okay=False), help=".npy (layers*directions, B, n_h).")
@click.option("--c0", type=click.Path(dir_okay=False), help=".npy (layers*directions, B, n_h), LSTM only.")
@click.option("--init", "inits", multiple=True, help="STATE=FILE.npy initial state (B, n_h) for --cell-file.")
@click.option("--dout", type=click.Path(dir_okay=False), help=".npy weights of the loss L = sum(dout * output).")
@click.option("--nonlinearity", default="tanh", show_default=True, help="rnn only: tanh or relu.")
@click.option("--engine", default="numpy", show_default=True, help="symbolic or numpy.")
@click.option("--dtype", default="float64", show_default=True, help="float64 or float32.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write G.npz.")
def grad_cmd(cell, cell_file, weights, input_, h0, c0, inits, dout, nonlinearity, engine, dtype, out):
    """Gradients of L = sum(dout * output) for a PyTorch-layout RNN/LSTM/GRU or a cell file.

    G.npz holds dL/d(every weight key), input, h0 (and c0), and output.
    """
    import numpy as np
    from .arrays_io import load_npy, load_npz, save_npz
    from .grad import cell_grads, torch_grads
    if engine not in ("symbolic", "numpy"):
        raise BpttError(f"unknown engine {engine!r}; use symbolic or numpy")
    if dtype not in ("float64", "float32"):
        raise BpttError(f"unknown dtype {dtype!r}; use float64 or float32")
    if nonlinearity not in ("tanh", "relu"):
        raise BpttError(f"unknown nonlinearity {nonlinearity!r}; use tanh or relu")
    if nonlinearity != "tanh" and cell != "rnn":
        raise BpttError("--nonlinearity applies to rnn only; drop it for lstm, gru and cell files")
    if not out.endswith(".npz"):
        raise BpttError(f"--out {out!r} must end in .npz (the gradients are a set of named arrays)")
    dt = np.dtype(dtype)
    X = load_npy(input_, "input")
    D = load_npy(dout, "dout") if dout else None
    if cell_file:
        W = load_npz(weights)
        if cell or h0 or c0:
            raise BpttError("with --cell-file give initial states as --init STATE=FILE.npy, and no CELL name")
        c = _cell(None, cell_file, None)
        G = cell_grads(c, W, X, _inits(inits), D, engine, dt)
    else:
        if not cell:
            raise BpttError("name a cell (rnn, lstm or gru) or pass --cell-file")
        if inits:
            raise BpttError("--init is for --cell-file; use --h0/--c0 with rnn, lstm or gru")
        if c0 and cell != "lstm":
            raise BpttError("--c0 is only for lstm")
        if cell not in ("rnn", "lstm", "gru"):
            raise BpttError(f"unknown cell {cell!r} for bptt grad; use rnn, lstm, gru or --cell-file")
        from .weights import load_weights
        W = load_weights(weights, cell)[0]
        H0 = load_npy(h0, "h0") if h0 else None
        C0 = load_npy(c0, "c0") if c0 else None
        G = torch_grads(cell, W, X, H0, C0, D, nonlinearity, engine, dt)
    for k, v in G.items():
        if not np.all(np.isfinite(v)):
            raise BpttError(f"the result {k!r} overflowed to inf/NaN in {dtype}; use --dtype float64 or smaller values")
    save_npz(out, {k: np.asarray(v, dtype=dt) for k, v in G.items()})

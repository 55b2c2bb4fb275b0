"""``bptt check``: a gradient-check report (symbolic vs numpy vs central differences vs torch)."""
from __future__ import annotations

import json
import sys

import click

from .errors import BpttError

NOTE = "float64 central differences reach ~1e-10 norm-wise (truncation eps^2 + rounding 1e-16/eps)"


def _positive(flag, value):
    if value < 1:
        raise BpttError(f"{flag} must be at least 1 (got {value}); pass e.g. {flag} 4")


def _validate(steps, hidden, n_x, batch, seed, tol):
    for flag, value in (("--steps", steps), ("--hidden", hidden), ("--input", n_x), ("--batch", batch)):
        _positive(flag, value)
    if seed < 0:
        raise BpttError(f"--seed must be a non-negative integer (got {seed})")
    if not tol > 0:
        raise BpttError(f"--tol must be a positive number (got {tol}); e.g. --tol 1e-6")


def _load(cell, cell_file, variant):
    from .commands import _cell
    if cell_file and variant:
        raise BpttError("--variant applies to built-in cells; drop it with --cell-file")
    return _cell(cell, cell_file, variant)


@click.command("check")
@click.argument("cell", required=False)
@click.option("--cell-file", type=click.Path(dir_okay=False), help="A YAML file with your own cell's equations.")
@click.option("--variant", help="RNN activation (tanh|relu|sigmoid) or GRU convention (pytorch|cho|swapped); "
                               "also written CELL:VARIANT, e.g. gru:cho.")
@click.option("--steps", "-T", default=4, show_default=True, type=int, help="Sequence length T.")
@click.option("--hidden", default=4, show_default=True, type=int, help="Hidden size n_h.")
@click.option("--input", "n_x", default=3, show_default=True, type=int, help="Input size n_x.")
@click.option("--batch", default=2, show_default=True, type=int, help="Batch size B.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of numpy.random.default_rng.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (sorted keys).")
@click.option("--tol", default=1e-6, show_default=True, type=float,
              help="Tolerance against central differences (engines vs torch: 1e-10).")
def check_cmd(cell, cell_file, variant, steps, hidden, n_x, batch, seed, as_json, tol):
    """Check a cell's BPTT gradients four ways at a random point.

    The gradients of L = sum(dout * output) w.r.t. every parameter, the input
    and the initial states by the symbolic engine (the reference), the numpy
    engine, float64 central differences (every entry up to 2000 entries, else
    4 random directions per quantity) and PyTorch autograd where the cell is
    nn.RNN/nn.LSTM/nn.GRU. Exit code 1 when an error exceeds its tolerance.

    Example: bptt check lstm --hidden 64 --json
    """
    _validate(steps, hidden, n_x, batch, seed, tol)
    c = _load(cell, cell_file, variant)
    import numpy as np
    from .gradcheck import run_check
    report = run_check(c, np.random.default_rng(seed), steps, batch, n_x, hidden, tol)
    report["seed"] = seed
    click.echo(json.dumps(report, sort_keys=True, indent=2) if as_json else render_text(report))
    if not report["passed"]:
        click.echo(f"bptt: check failed: {', '.join(report['failed'])} exceed the tolerance", err=True)
        sys.exit(1)


def _num(x) -> str:
    return "0" if x == 0 else f"{x:.1e}"


def _cell(cmp) -> str:
    if cmp is None:
        return "n/a"
    return _num(cmp["rel_err"]) + ("" if cmp["ok"] else " FAIL")


def _worst(row, tols, directions) -> str:
    """The worst entry of the method furthest over (or nearest to) its tolerance."""
    m = max((m for m in ("numpy", "central", "torch") if row[m]),
            key=lambda m: row[m]["rel_err"] / tols[m])
    idx = ",".join(map(str, row[m]["index"]))
    where = f"direction {idx}" if m == "central" and directions else f"[{idx}]"
    return f"{m} {where} |diff| {_num(row[m]['abs_diff'])}"


def _header(r) -> list:
    name = r["cell"] + (f" ({r['variant']})" if r["variant"] else "")
    cd = ("every entry" if r["central_mode"] == "full"
          else f"{r['directions']} random unit directions per quantity, <u, g> vs (L(θ+εu) − L(θ−εu))/2ε")
    return [
        f"bptt check {name}: T={r['steps']} B={r['batch']} n_x={r['input']} n_h={r['hidden']} "
        f"seed={r['seed']}, {r['entries']} entries",
        f"loss: {r['loss']}; reference: the symbolic engine",
        "error: ‖a − b‖ / max(‖a‖, ‖b‖) against the reference; worst entry: index and |a − b|",
        f"central differences: float64, eps {r['eps']:g}, {cd}",
        f"torch: {r['torch_note']}",
        f"tolerance: {r['tolerance']['central']:g} vs central differences, since {NOTE};",
        f"           {r['tolerance']['numpy']:g} between the two engines and torch (both exact up to rounding)",
    ]


def render_text(r: dict) -> str:
    """The report as an aligned table for a terminal.

    Parameters
    ----------
    r : dict
        What :func:`derive.gradcheck.run_check` returns, plus ``seed``.
    """
    cd = "central" if r["central_mode"] == "full" else f"central({r['directions']} dirs)"
    head = ("quantity", "shape", "numpy", cd, "torch", "worst entry")
    rows = [(q["quantity"], "x".join(map(str, q["shape"])), _cell(q["numpy"]), _cell(q["central"]),
             _cell(q["torch"]), _worst(q, r["tolerance"], r["directions"])) for q in r["rows"]]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    line = lambda row: "  ".join(c.ljust(n) for c, n in zip(row, widths)).rstrip()
    mx = r["max"]
    summary = (f"summary: max error numpy {_num(mx['numpy'])}, central {_num(mx['central'])}, torch "
               f"{'n/a' if mx['torch'] is None else _num(mx['torch'])} -> "
               + ("PASS" if r["passed"] else f"FAIL ({', '.join(r['failed'])})"))
    rule = "-" * len(line(head))
    return "\n".join([*_header(r), "", line(head), rule, *map(line, rows), rule, summary])

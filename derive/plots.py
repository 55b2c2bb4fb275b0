"""Figures of the gradient-flow experiments (:mod:`derive.flow`) with matplotlib.

matplotlib is imported inside the functions (``bptt --help`` stays fast, and
the NumPy engine never pulls it in).  Figures are built with the object API
(``matplotlib.figure.Figure`` on an Agg canvas), never ``pyplot``, so no global
backend is switched.  Output is deterministic for the same numbers: the
matplotlib default style (ignoring the user's matplotlibrc), fixed figure size
and DPI, a fixed ``svg.hashsalt``, and no dates or software versions in the
file metadata.  The format comes from the extension: .png, .pdf or .svg.
"""
from __future__ import annotations

import io
import os

import numpy as np


FORMATS = (".png", ".pdf", ".svg")
SIZE = (9.0, 6.0)  # inches
DPI = 150
RC = {"svg.hashsalt": "bptt-flow", "svg.fonttype": "path", "pdf.fonttype": 42,
      "font.size": 10.5, "axes.titlesize": 10.5, "legend.fontsize": 9,
      "axes.grid": True, "grid.alpha": 0.3}
METADATA = {".png": {"Software": None},
            ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
            ".svg": {"Date": None, "Creator": None}}
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def check_output(path) -> str:
    """Extension of ``path`` (.png/.pdf/.svg) after checking it can be written; else one-line BpttError."""
    from .weights import check_writable
    return check_writable(path, FORMATS)


def _figure(nrows=1, sharex=False, height_ratios=None):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, 1, sharex=sharex, squeeze=False,
                        gridspec_kw={"height_ratios": height_ratios} if height_ratios else None)[:, 0]
    return fig, list(axes)


def _save(fig, path) -> None:
    from .weights import write_bytes
    ext = os.path.splitext(os.fspath(path))[1].lower()
    buf = io.BytesIO()
    fig.savefig(buf, format=ext[1:], dpi=DPI, metadata=METADATA[ext])
    write_bytes(path, buf.getvalue())


def render(result: dict, path) -> None:
    """Draw a :mod:`derive.flow` result (decay, clip or activations) into ``path``."""
    import matplotlib
    import matplotlib.style
    check_output(path)
    draw = {"decay": _decay, "clip": _clip, "activations": _activations}[result["kind"]]
    with matplotlib.rc_context():
        matplotlib.style.use("default")
        matplotlib.rcParams.update(RC)
        with np.errstate(over="ignore"):  # values near 1e308 beyond the axis limits
            fig = draw(result)
            _save(fig, path)


def _positive(values):
    a = np.array([np.nan if v is None else v for v in values], dtype=float)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def _decay(r):
    fig, (ax,) = _figure()
    tk = np.array(r["curves"][0]["t_minus_k"])
    ax.axhline(1.0, color="0.35", lw=1, ls=(0, (1, 3)), zorder=1, label="1 = no growth, no decay")
    bounds = _bound_groups(r["curves"])
    lo, hi = _ylimits(r["curves"], r.get("ymin"))
    for i, c in enumerate(r["curves"]):
        color = COLORS[i % len(COLORS)]
        ls = "-" if c["path"] == "state" else (0, (6, 1.5))
        mean = _positive(c["mean"])
        ax.fill_between(tk, _positive(c["lo"]), _positive(c["hi"]), color=color, alpha=0.15, lw=0)
        ax.plot(tk, mean, color=color, lw=2.2, ls=ls, label=c["label"])
        if i in bounds:
            shared = f" (same for {bounds[i]} curves)" if bounds[i] > 1 else ""
            ax.plot(tk, _positive(c["bound"]), color=color if not shared else "0.2", lw=1.6, ls=":",
                    label=f"   bound $(\\gamma\\Vert W\\Vert_2)^{{T-k}}$: $\\gamma$ = {c['gamma']:g}, "
                          f"$\\Vert W\\Vert_2$ ≈ {c['w_norm']:.2g}{shared}")
        below = np.nonzero(mean < lo)[0]
        if below.size:  # the curve leaves the chart: say where it ends up
            x0 = tk[below[0]]
            ax.annotate(f"↓ off the chart: {mean[-1]:.0e} at T − k = {tk[-1]}", (x0, lo), (x0 + 1.5, lo * 10 ** 1.2),
                        color=color, fontsize=8.5, va="bottom")
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    _decade_ticks(ax, lo, hi)
    ax.set_xlim(0, tk[-1] + 1)
    ax.set_xlabel("T − k: how many time steps back the gradient travels")
    ax.set_ylabel(r"gradient gain  $\Vert\partial h_T/\partial h_k\Vert_2$  (log scale)")
    fig.suptitle(r["title"], fontsize=13, fontweight="bold", y=0.985)
    ax.set_title(f"Spectral norm of $J_T\\,J_{{T-1}}\\cdots J_{{k+1}}$, $J_t = \\partial h_t/\\partial h_{{t-1}}$;  "
                 f"n_h = {r['hidden']}, T = {r['steps']}, {r['seeds']} random seeds (seed {r['seed']}).\n"
                 "Line: geometric mean over seeds; shaded band: min to max over seeds.", fontsize=9, color="0.2")
    handles, labels = ax.get_legend_handles_labels()
    ncol = 2 if len(labels) > 3 else 1
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=ncol, framealpha=0.95,
               fontsize=8.5)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.86, bottom=0.11 + 0.043 * rows)
    return fig


def _bound_groups(curves) -> dict:
    """Index of each distinct bound curve -> how many curves share it (equal bounds are drawn once)."""
    firsts = {}
    for i, c in enumerate(curves):
        if c.get("bound") is None:
            continue
        for j in firsts:
            if np.allclose(curves[j]["bound"], c["bound"], rtol=1e-9, atol=0):
                firsts[j] += 1
                break
        else:
            firsts[i] = 1
    return firsts


def _ylimits(curves, ymin=None):
    vals = []
    for c in curves:
        for key in ("lo", "hi", "mean", "bound"):
            if c.get(key) is not None:
                v = _positive(c[key])
                vals.append(v[np.isfinite(v)])
    vals = np.concatenate(vals + [np.array([1.0])])
    lo, hi = np.log10(vals.min()), np.log10(vals.max())
    if ymin is not None:
        lo = max(lo, np.log10(ymin))
    return 10 ** max(np.floor(lo) - 0.25, -300.0), 10 ** min(np.ceil(hi) + 0.25, 300.0)


def _decade_ticks(ax, lo, hi):
    """Major ticks every 1, 2, 5, 10, 20, 25 or 50 decades: about 6 to 12 labels."""
    from matplotlib.ticker import FixedLocator, LogFormatterSciNotation, NullLocator
    a, b = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100) if (b - a) / s <= 11)
    first = int(np.ceil(a / step) * step)
    ax.yaxis.set_major_locator(FixedLocator([10.0 ** e for e in range(first, b + 1, step)]))
    ax.yaxis.set_major_formatter(LogFormatterSciNotation())
    if step > 1:
        ax.yaxis.set_minor_locator(NullLocator())


def _clip(r):
    fig, (ax, bx) = _figure(2, sharex=True, height_ratios=(1.2, 1))
    it = np.array(r["iteration"])
    v = r["clip"]
    before, after = _positive(r["norm_before"]), _positive(r["norm_after"])
    plain = _positive(r["norm_unclipped"])
    ax.plot(it, plain, color=COLORS[1], lw=1.1, alpha=0.9, label="plain SGD: its ‖g‖ (never clipped)")
    ax.plot(it, before, color="#6baed6", lw=0, marker="o", ms=3.5, label="SGD with clipping: ‖g‖ before clipping")
    ax.plot(it, after, color=COLORS[0], lw=2.2, label="SGD with clipping: ‖g‖ after  g ← g·v/‖g‖ if ‖g‖ > v")
    ax.axhline(v, color="0.2", ls="--", lw=1.2, label=f"threshold v = {v:g}")
    n_clip = int(np.sum(before > v))
    ax.set_yscale("log")
    both = np.concatenate([before, plain])
    ax.set_ylim(np.nanmin(both) / 1.6, np.nanmax(both) * 40)  # head room for the legend
    ax.set_ylabel("gradient norm ‖g‖\n(log scale)")
    ax.set_title(f"‖g‖ over all parameters: clipping active in {n_clip} of {len(it)} steps; "
                 f"plain SGD peaks at {np.nanmax(plain):.3g}", fontsize=9.5)
    ax.legend(loc="upper center", ncol=2, framealpha=0.92, fontsize=8.5)

    ev, evu = _positive(r["eval_loss"]), _positive(r["eval_loss_unclipped"])
    bx.plot(it, ev, color=COLORS[0], lw=2.2, label="SGD with clipping")
    bx.plot(it, evu, color=COLORS[1], lw=1.6, label="plain SGD (no clipping)")
    bx.axhline(0.5, color="0.4", ls=":", lw=1.2, label="always predict 0 (loss 0.5)")
    gone = [i for i, x in enumerate(r["eval_loss_unclipped"]) if x is None]
    if gone:
        bx.axvline(it[gone[0]], color=COLORS[1], ls="--", lw=1)
        bx.text(it[gone[0]], 0.5, " plain SGD diverged (inf/NaN)", color=COLORS[1], fontsize=8.5, va="bottom")
    bx.set_yscale("log")
    top = np.nanmax(np.concatenate([ev, evu]))
    if top > 1e3:  # diverged: keep the learning curve of the clipped run readable
        bx.set_ylim(np.nanmin(np.concatenate([ev, evu])) / 1.5, 1e3)
        bx.text(it[-1], 1e3, f"plain SGD leaves the chart (loss up to {top:.1e}) ", color=COLORS[1],
                fontsize=8.5, ha="right", va="top")
    bx.set_ylabel("loss on 256 held-out\nsequences (log scale)")
    bx.set_xlabel("training step (SGD iteration)")
    bx.set_title("Loss: a single exploding step can throw plain SGD far off; clipped steps stay small",
                 fontsize=9.5)
    bx.legend(loc="upper left", framealpha=0.92, fontsize=8.5)
    fig.suptitle("Gradient clipping tames exploding gradients", fontsize=13, fontweight="bold", y=0.985)
    fig.text(0.5, 0.905, f"{_cell_name(r['cell'])}, n_h = {r['hidden']}, recurrent W = {r['gain']:g} × "
             f"{r['init']} (large on purpose); task: output (x_1 + … + x_T)/√T, T = {r['steps']}\n"
             f"SGD, learning rate {r['lr']:g}, batch {r['batch']}, seed {r['seed']}; "
             "both runs start from the same weights and see the same batches",
             ha="center", fontsize=9, color="0.2")
    fig.subplots_adjust(left=0.12, right=0.97, top=0.83, bottom=0.08, hspace=0.3)
    return fig


def _cell_name(spec):
    kind, _, variant = spec.partition(":")
    return {"rnn": f"RNN {variant or 'tanh'}", "lstm": "LSTM", "gru": "GRU"}.get(kind, spec)


def _activations(r):
    fig, (ax,) = _figure()
    x = np.array(r["x"])
    cs = r["curves"]
    ax.plot(x, cs["sigmoid"]["slope"], color=COLORS[0], lw=2.4, label="sigmoid′(x) = σ(x)(1 − σ(x))")
    ax.plot(x, cs["tanh"]["slope"], color=COLORS[1], lw=2.4, label="tanh′(x) = 1 − tanh²(x)")
    relu = np.array(cs["relu"]["slope"], dtype=float)
    relu[np.argmin(np.abs(x))] = np.nan  # break the line at the jump
    ax.plot(x, relu, color=COLORS[2], lw=2.4, ls=(0, (5, 2)), label="relu′(x) = 0 for x ≤ 0, 1 for x > 0")
    ax.plot([0], [0], "o", color=COLORS[2], ms=7, zorder=4)  # relu′(0) = 0, the rule table's convention
    s, t = cs["sigmoid"], cs["tanh"]
    ax.plot([s["argmax_from"]], [s["max"]], "o", color=COLORS[0], ms=8, zorder=5)
    ax.plot([t["argmax_from"]], [t["max"]], "o", color=COLORS[1], ms=8, zorder=5)
    arrow = dict(arrowstyle="->", color="0.25", lw=1)
    ax.annotate(f"max σ′ = {s['max']:g} = 1/4 at x = {s['argmax_from']:g}", (s["argmax_from"], s["max"]),
                (-5.8, 0.42), color=COLORS[0], fontsize=10, arrowprops=arrow)
    ax.annotate(f"max tanh′ = {t['max']:g} at x = {t['argmax_from']:g}", (t["argmax_from"], t["max"]),
                (-5.8, 1.1), color=COLORS[1], fontsize=10, arrowprops=arrow)
    ax.annotate("relu′ = 1 for every x > 0\n(gradient passes unchanged)", (3.5, 1.0), (2.2, 0.62),
                color=COLORS[2], fontsize=10, arrowprops=arrow)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(-0.05, 1.25)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["0", "1/4", "1/2", "3/4", "1"])
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel("slope f′(x)")
    fig.suptitle("Slopes of activation functions", fontsize=13, fontweight="bold")
    ax.set_title("Backprop through time multiplies by f′ once per step, so its largest value γ sets the "
                 "Pascanu bound $(\\gamma\\Vert W\\Vert_2)^{T-k}$.\nσ′ ≤ 1/4: a sigmoid RNN step scales the "
                 "gradient by at most ‖W‖/4 (so it vanishes if ‖W‖ < 4);  tanh′ ≤ 1,  relu′ ≤ 1.",
                 fontsize=9, color="0.2")
    ax.legend(loc="center right", framealpha=0.92, bbox_to_anchor=(1.0, 0.3))
    fig.subplots_adjust(left=0.09, right=0.97, top=0.84, bottom=0.1)
    return fig

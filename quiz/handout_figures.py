"""The handout's figures, drawn for a printed page, with labels in English or Chinese.

Per cell: the slopes of the activations the cell uses (sigmoid′, tanh′, relu′;
the unused ones faded) and the gradient flow ``‖∂h_T/∂h_k‖₂`` against ``T − k``.
Numbers come from :mod:`derive.flow`: ``flow.decay`` for the cells it knows,
otherwise the same Jacobian products (``flow.jacobians``) on the cell's own
equations with Xavier weights.  Drawing reuses :mod:`derive.plots`' deterministic
set-up (default style, no dates or versions in the files), so the same
arguments give the same bytes.  Chinese labels need the Noto Sans CJK SC font
(Debian ``fonts-noto-cjk``); without it the figures keep English labels.
"""
from __future__ import annotations

import functools
import io

import numpy as np

from .handout_text import FIG, fig_label

ACTS = ("sigmoid", "tanh", "relu")
FLOW = {"steps": 40, "hidden": 16, "n_x": 4, "seeds": 3}
FLOW_SEED = 0
SIZE = {"act": (6.4, 2.7), "flow": (6.4, 3.2)}  # inches; printed at about full text width
CJK_FONT = "Noto Sans CJK SC"
RC = {"font.size": 9, "legend.fontsize": 8, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8}


# ---------------------------------------------------------------------------- numbers


def flow_spec(cell) -> str | None:
    """The ``bptt flow`` name of a built-in cell with PyTorch semantics, else None."""
    if cell.name == "rnn":
        return f"rnn:{cell.convention}"
    if (cell.name, cell.convention) in (("gru", "pytorch"), ("lstm", "standard")):
        return cell.name
    return None


def flow_result(cell, seed: int = FLOW_SEED) -> dict:
    """Curves of ``‖∂h_T/∂h_k‖₂`` (and the LSTM cell path) for ``cell``, as ``flow.decay`` returns them."""
    from derive import flow
    spec = flow_spec(cell)
    if spec:
        return flow.decay(flow.curves_from_options([spec], "xavier"), seed=seed, **FLOW)
    return _generic_decay(cell, seed, **FLOW)


def _xavier(shape, rng):
    if shape[1] == 1:  # biases and peepholes start at zero
        return np.zeros(shape)
    a = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-a, a, shape)


def _generic_decay(cell, seed, steps, hidden, n_x, seeds) -> dict:
    """``flow.decay`` for any cell: Xavier matrices, zero vectors, x_t ~ N(0, I), h_0 = 0."""
    from derive import flow
    from derive.shapes import concrete, infer_shapes
    shapes, sizes = infer_shapes(cell), {"n_x": n_x, "n_h": hidden}
    logs = {"state": [], "cell": []}
    for ss in np.random.SeedSequence(seed).spawn(seeds):
        rng = np.random.default_rng(ss)
        params = {k: _xavier(concrete(shapes[k], sizes), rng) for k in cell.params}
        xs = rng.standard_normal((steps, n_x, 1))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            _, Js = flow.jacobians(cell, params, xs, [np.zeros((hidden, 1)) for _ in cell.states])
            logs["state"].append(flow.log_product_norms(Js))
            if "c" in cell.states:
                c = slice(cell.states.index("c") * hidden, (cell.states.index("c") + 1) * hidden)
                logs["cell"].append(flow.log_product_norms([J[c, c] for J in Js]))
    return {"kind": "decay", "curves": [_curve(path, np.array(v), steps) for path, v in logs.items() if v]}


def _curve(path, logs, steps) -> dict:
    from derive.flow import _floats
    with np.errstate(over="ignore", invalid="ignore"):
        return {"path": path, "t_minus_k": list(range(1, steps + 1)), "bound": None,
                "mean": _floats(np.exp(logs.mean(axis=0))), "lo": _floats(np.exp(logs.min(axis=0))),
                "hi": _floats(np.exp(logs.max(axis=0)))}


def activations_used(cell) -> dict:
    """Activation -> names of the equations that apply it, e.g. ``{"sigmoid": ["i", "f", "o"], ...}``."""
    from derive.ir import App
    out = {}

    def walk(node, eqn):
        if isinstance(node, App):
            if node.prim in ACTS and eqn not in out.setdefault(node.prim, []):
                out[node.prim].append(eqn)
            for a in node.args:
                walk(a, eqn)
    for e in cell.eqns:
        walk(e.expr, e.name)
    return {k: out[k] for k in ACTS if k in out}


# ---------------------------------------------------------------------------- drawing


@functools.lru_cache(maxsize=1)
def cjk_font() -> bool:
    """Whether matplotlib can find the Chinese font."""
    from matplotlib import font_manager
    try:
        font_manager.findfont(font_manager.FontProperties(family=CJK_FONT), fallback_to_default=False)
        return True
    except ValueError:
        return False


def figure_lang(lang: str) -> str:
    """The language the figures are labelled in (zh needs the CJK font)."""
    return "zh" if lang == "zh" and cjk_font() else "en"


def render(kind: str, data, lang: str, ext: str) -> bytes:
    """Bytes of figure ``kind`` ("act": ``activations_used`` dict, "flow": ``flow_result``) as .pdf or .png."""
    import logging

    import matplotlib
    import matplotlib.style
    from derive import plots
    lang = figure_lang(lang)
    with matplotlib.rc_context():
        matplotlib.style.use("default")
        matplotlib.rcParams.update({**plots.RC, **RC})
        if lang == "zh":  # Type 3: matplotlib would embed the CFF-based CJK font as TrueType (invalid PDF)
            matplotlib.rcParams.update({"font.family": ["DejaVu Sans", CJK_FONT], "pdf.fonttype": 3})
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        with np.errstate(over="ignore", invalid="ignore"):
            fig = {"act": _activations, "flow": _flow}[kind](data, lang)
            buf = io.BytesIO()
            fig.savefig(buf, format=ext.lstrip("."), dpi=plots.DPI, metadata=plots.METADATA[ext])
    return buf.getvalue()


def _axes(kind):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=SIZE[kind])
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _activations(used: dict, lang: str):
    from derive import flow, plots
    fig, ax = _axes("act")
    r = flow.activation_slopes()
    x = np.array(r["x"])
    for i, name in enumerate(ACTS):
        y = np.array(r["curves"][name]["slope"], dtype=float)
        if name == "relu":
            y[np.argmin(np.abs(x))] = np.nan  # break the line at the jump
        on = name in used
        label = FIG[name] + ("" if on else fig_label("unused", lang))
        ax.plot(x, y, color=plots.COLORS[i] if on else "0.72", lw=2.2 if on else 1.2,
                ls="-" if name != "relu" else (0, (5, 2)), label=label, zorder=3 if on else 2)
        if on:
            _mark_max(ax, name, r["curves"][name], plots.COLORS[i], lang)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(-0.06, 1.3)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "1/4", "1/2", "3/4", "1"])
    ax.set_xlabel(fig_label("pre", lang))
    ax.set_ylabel(fig_label("slope", lang))
    _legend_below(ax, 3)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.97, bottom=0.3)
    return fig


MAX_AT = {"sigmoid": (1.0, 0.45), "tanh": (-5.7, 1.1), "relu": (2.4, 0.72)}


def _mark_max(ax, name, curve, color, lang):
    peak = (curve["argmax_from"], curve["max"]) if name != "relu" else (3.0, 1.0)
    if name != "relu":
        ax.plot(*peak, "o", color=color, ms=5, zorder=4)
    ax.annotate(fig_label(f"max_{name}", lang), peak, MAX_AT[name], color=color, fontsize=8,
                arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})


def _flow(result: dict, lang: str):
    from derive import plots
    fig, ax = _axes("flow")
    curves = result["curves"]
    tk = np.array(curves[0]["t_minus_k"])
    ax.axhline(1.0, color="0.35", lw=1, ls=(0, (1, 3)), zorder=1, label=fig_label("one", lang))
    for i, c in enumerate(curves):
        color = plots.COLORS[i]
        ax.fill_between(tk, plots._positive(c["lo"]), plots._positive(c["hi"]), color=color, alpha=0.18, lw=0)
        ax.plot(tk, plots._positive(c["mean"]), color=color, lw=2, ls="-" if c["path"] == "state" else (0, (6, 1.5)),
                label=FIG["cell_path" if c["path"] == "cell" else ("lstm_state" if len(curves) > 1 else "state")])
        if c.get("bound"):
            ax.plot(tk, plots._positive(c["bound"]), color="0.2", lw=1.3, ls=":", label=FIG["bound"])
    lo, hi = plots._ylimits(curves)
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    plots._decade_ticks(ax, lo, hi)
    ax.set_xlim(0, tk[-1] + 1)
    ax.set_xlabel(fig_label("back", lang))
    ax.set_ylabel(fig_label("gain", lang))
    _legend_below(ax, 4)
    fig.subplots_adjust(left=0.1, right=0.98, top=0.97, bottom=0.26)
    return fig


def _legend_below(ax, ncol):
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, frameon=False, handlelength=2.5,
              columnspacing=1.5)


@functools.lru_cache(maxsize=32)
def cell_figures(spec: str, lang: str, ext: str) -> tuple:
    """(activation figure, flow figure, facts for the captions) of the cell ``spec``.

    Cached: they depend on nothing else (the flow experiment has its own fixed seed).
    """
    from .handout import load_cell
    cell = load_cell(spec)
    used, result = activations_used(cell), flow_result(cell)
    first = result["curves"][0]
    facts = {"used": used, "gamma": first.get("gamma"), "w_norm": first.get("w_norm"),
             "cell_path": any(c["path"] == "cell" for c in result["curves"]), "end": first["mean"][-1],
             "forget_path": cell.name == "lstm"}  # c_t = f_t c_{t-1} + ...: dc_t/dc_{t-1} = diag(f_t)
    return render("act", used, lang, ext), render("flow", result, lang, ext), facts

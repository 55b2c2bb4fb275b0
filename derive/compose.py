"""Composition of cells as equations: stacked layers become one larger cell.

Layer l's names get the marker ``__l`` (printed h^{(l)}); layer l+1 reads
layer l's output where the single cell read its input.  The result is an
ordinary :class:`~derive.ir.Cell`, so every derivation and engine applies.
"""
from __future__ import annotations

from .errors import BpttError
from .ir import App, Cell, Eqn, Var


def _rename(expr, f):
    if isinstance(expr, Var):
        return Var(f(expr.name))
    if isinstance(expr, App):
        return App(expr.prim, tuple(_rename(a, f) for a in expr.args))
    return expr


def _layer_namer(cell, layer):
    def name(n):
        if n == cell.input:
            return cell.input if layer == 1 else f"{cell.output}__{layer - 1}"
        if n in cell.prev_names:
            return f"{n[:-len('_prev')]}__{layer}_prev"
        return f"{n}__{layer}"
    return name


def stack(cell: Cell, layers: int) -> Cell:
    """``layers`` copies of ``cell``, each feeding its output to the next as input.

    Parameters
    ----------
    cell : Cell
    layers : int
        At least 1; 1 returns ``cell`` unchanged.
    """
    if layers < 1:
        raise BpttError(f"--layers must be at least 1 (got {layers})")
    if layers == 1:
        return cell
    eqns, states = [], []
    for l in range(1, layers + 1):
        f = _layer_namer(cell, l)
        eqns += [Eqn(f(e.name), _rename(e.expr, f)) for e in cell.eqns]
        states += [f(s) for s in cell.states]
    top = f"{cell.output}__{layers}"
    readout = tuple(Eqn(e.name, _rename(e.expr, lambda n: top if n in cell.states else n)) for e in cell.readout)
    return Cell(f"{cell.name}x{layers}", cell.input, tuple(states), top, tuple(eqns),
                title=f"{cell.title}, {layers} stacked layers", convention=cell.convention,
                notes=cell.notes + f" Stacked: layer l+1 reads h^(l)_t as its input; layer {layers}'s state is the output.",
                notes_zh=cell.notes_zh + f"堆叠：第 l+1 层以 h^(l)_t 为输入，第 {layers} 层的状态为输出。",
                readout=readout, target=cell.target)


def reverse_direction(cell: Cell) -> Cell:
    """The backward direction of a bidirectional layer: every name but the input marked ``__bw``."""
    f = lambda n: n if n == cell.input else (f"{n[:-len('_prev')]}__bw_prev" if n in cell.prev_names else f"{n}__bw")
    return Cell(f"{cell.name}-backward", cell.input, tuple(f(s) for s in cell.states), f(cell.output),
                tuple(Eqn(f(e.name), _rename(e.expr, f)) for e in cell.eqns), title=cell.title,
                convention=cell.convention)

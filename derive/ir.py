"""Cells as data: a tiny, SymPy-free intermediate representation.

A cell is a short list of named equations (``Eqn``) whose right-hand sides
are expression trees of primitive applications (``App``) over variables
(``Var``) and numeric constants (``Const``).  Nothing here knows about
gradients; derivative rules live in :mod:`derive.rules`, one per primitive.

Naming: the input is ``x`` (or whatever ``Cell.input`` says), a state ``h``
at time t-1 is the variable ``h_prev``; every other free name is a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

from .errors import BpttError

UNARY = ("tanh", "sigmoid", "relu", "exp", "log", "softplus")
BINARY = ("add", "sub", "mul", "matmul")
PRIMS = UNARY + BINARY + ("neg", "concat", "softmax", "xent")


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class App:
    prim: str
    args: tuple

    def __post_init__(self):
        if self.prim not in PRIMS:
            raise ValueError(f"unknown primitive {self.prim!r}")


Expr = Union[Var, Const, App]


@dataclass(frozen=True)
class Eqn:
    name: str
    expr: Expr


class CellError(BpttError):
    """A cell definition that cannot be used (bad names, shapes, cycles)."""


def prev(state: str) -> str:
    """Name of a state's value at t-1."""
    return f"{state}_prev"


def free_vars(expr: Expr) -> Iterator[str]:
    """Names referenced by ``expr``, in first-seen order, with repeats."""
    if isinstance(expr, Var):
        yield expr.name
    elif isinstance(expr, App):
        for a in expr.args:
            yield from free_vars(a)


def unique(names) -> list:
    """Order-preserving de-duplication."""
    return list(dict.fromkeys(names))


@dataclass
class Cell:
    """A recurrent cell: ``states`` at t are computed from ``input`` at t and states at t-1.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"lstm"``.
    input : str
        Name of the input vector (size ``n_x``).
    states : tuple of str
        Names of the recurrent states (each size ``n_h``); ``<s>_prev`` is s at t-1.
    output : str
        The state exposed as the cell's output at each step.
    eqns : tuple of Eqn
        The step, in order; every state must be defined by one equation.
    title, notes : str
        Human-readable description and convention notes (English); ``notes_zh`` in Chinese.
    readout : tuple of Eqn
        Optional output layer computed from the states (not part of the recurrence).
    """

    name: str
    input: str
    states: tuple
    output: str
    eqns: tuple
    title: str = ""
    notes: str = ""
    notes_zh: str = ""
    readout: tuple = ()
    convention: str = ""
    target: str = "ybar"
    shapes: dict = field(default_factory=dict)

    def __post_init__(self):
        self.states = tuple(self.states)
        self.eqns = tuple(self.eqns)
        self.readout = tuple(self.readout)
        _validate(self)
        if not self.shapes:
            from .shapes import infer_shapes
            self.shapes = infer_shapes(self)

    @property
    def eqn_names(self) -> list:
        return [e.name for e in self.eqns]

    @property
    def prev_names(self) -> list:
        return [prev(s) for s in self.states]

    @property
    def params(self) -> list:
        """Parameter names in first-use order (recurrence only)."""
        known = {self.input, *self.prev_names, *self.eqn_names}
        names = (n for e in self.eqns for n in free_vars(e.expr))
        return unique(n for n in names if n not in known)

    @property
    def readout_params(self) -> list:
        known = {self.input, self.target, *self.states, *self.eqn_names, *(e.name for e in self.readout)}
        names = (n for e in self.readout for n in free_vars(e.expr))
        return unique(n for n in names if n not in known)

    def _repr_latex_(self):  # Jupyter: show the equations
        from .printing import cell_latex
        return "$$" + cell_latex(self) + "$$"


def _validate(cell: Cell) -> None:
    """Check names: states defined once, no use before definition, output is a state."""
    names = cell.eqn_names
    reserved = {cell.input, *cell.prev_names}
    for k, e in enumerate(cell.eqns):
        if e.name in reserved or e.name in names[:k]:
            raise CellError(f"cell {cell.name!r}: {e.name!r} is defined twice; give each equation its own name")
        early = sorted(set(free_vars(e.expr)) & set(names[k:]))
        if early:
            raise CellError(f"cell {cell.name!r}: equation {e.name!r} uses {early[0]!r} before it is defined; "
                            "reorder the equations or use the _prev state")
    missing = [s for s in cell.states if s not in names]
    if missing:
        raise CellError(f"cell {cell.name!r}: state {missing[0]!r} has no equation; add '{missing[0]} = ...'")
    if cell.output not in cell.states:
        raise CellError(f"cell {cell.name!r}: output {cell.output!r} is not one of the states {list(cell.states)}")

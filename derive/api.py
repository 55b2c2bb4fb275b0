"""Public Python API: build a cell's derivation (for the CLI and notebooks).

>>> from derive.api import load, derive_cell
>>> d = derive_cell(load("lstm"))          # doctest: +SKIP
>>> d                                      # shows as LaTeX in Jupyter
"""
from __future__ import annotations

from .bptt_sections import adjoint, bidirectional, forward_mode, scalar, truncated, unrolled
from .cells import get_cell
from .derivation import Derivation, Frame, equations, local, product, state
from .errors import BpttError


def load(name: str | None = None, variant: str | None = None, cell_file: str | None = None):
    """A built-in cell by name (``"gru:cho"``), or a user cell from a YAML file."""
    if cell_file:
        from .cellfile import load_cell_file
        return load_cell_file(cell_file)
    if not name:
        raise BpttError("name a cell (rnn, lstm, lstm-peephole, gru) or pass --cell-file FILE")
    return get_cell(name, variant)


def derive_cell(cell, steps: int = 3, truncate: int | None = None, scalar_case: bool = False,
                bidirectional_case: bool = False) -> Derivation:
    """Derive Jacobians, their products, BPTT and parameter gradients of ``cell``.

    Parameters
    ----------
    cell : derive.ir.Cell
    steps : int
        T of the fully unrolled example (>= 1).
    truncate : int, optional
        Window K of truncated BPTT (>= 1).
    scalar_case : bool
        Add the 1-D case (every size 1).
    bidirectional_case : bool
        Add the backward direction of a bidirectional layer and how the two combine.

    Returns
    -------
    Derivation
        Sections of steps; render with :func:`derive.render.render`.
    """
    if steps < 1:
        raise BpttError(f"--steps must be at least 1 (got {steps})")
    if truncate is not None and truncate < 1:
        raise BpttError(f"--truncate must be at least 1 (got {truncate})")
    fr = Frame(cell)
    sections = [equations(cell, fr), local(cell, fr), state(cell, fr), product(cell, fr),
                adjoint(cell, fr), forward_mode(cell, fr)]
    if truncate:
        sections.append(truncated(cell, fr, truncate))
    sections.append(unrolled(cell, steps))
    if scalar_case:
        sections.append(scalar(cell))
    if bidirectional_case:
        sections.append(bidirectional(cell))
    opts = {"steps": steps, "truncate": truncate, "scalar": scalar_case, "bidirectional": bidirectional_case}
    return _Shown(cell, [s for s in sections if s.steps], opts)


class _Shown(Derivation):
    """A Derivation that displays itself as LaTeX in Jupyter."""

    def _repr_markdown_(self):
        from .render import render
        return render(self, "markdown", "en")

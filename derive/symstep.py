"""The symbolic engine: derive one step's formulas with SymPy, lambdify them, reuse per step.

The forward equations and the adjoint (reverse-walk) formulas of a single step
are derived once as SymPy matrix expressions, common subexpressions are
eliminated, and each list of formulas becomes one NumPy function through
``lambdify`` with the :class:`NumpyMatrixPrinter` below.  The time loop calls
those functions T times, so the cost grows linearly with T.
"""
from __future__ import annotations

import sympy as sp
from sympy import MatrixSymbol
from sympy.printing.numpy import NumPyPrinter

from .autodiff import evaluate, step_vjp
from .symengine import StepRunner
from .symops import MAT

_NP_FUNCS = {"tanh": "numpy.tanh({})", "exp": "numpy.exp({})", "log": "numpy.log({})",
             "sigmoid": "(0.5*(1 + numpy.tanh(0.5*({}))))", "relu": "numpy.maximum({}, 0)",
             "softplus": "numpy.logaddexp(0, {})", "step": "numpy.heaviside({}, 0).astype(({0}).dtype)"}


class NumpyMatrixPrinter(NumPyPrinter):
    """Prints matrix expressions as NumPy code on (n, B) column batches."""

    def _print_MatMul(self, expr):
        c, mats = expr.as_coeff_matrices()
        body = " @ ".join(self._print(m) for m in mats)
        return f"({body})" if c == 1 else f"({self._print(c)}*({body}))"

    def _print_MatAdd(self, expr):
        return "(" + " + ".join(self._print(a) for a in expr.args) + ")"

    def _print_HadamardProduct(self, expr):
        return "(" + "*".join(self._print(a) for a in expr.args) + ")"

    def _print_HadamardPower(self, expr):
        return f"({self._print(expr.base)}**{self._print(expr.exp)})"

    def _print_Transpose(self, expr):
        return f"({self._print(expr.arg)}).T"

    def _print_OneMatrix(self, expr):
        return "1.0"

    def _print_ZeroMatrix(self, expr):
        return "numpy.zeros((%s, %s))" % (self._print(expr.shape[0]), self._print(expr.shape[1]))

    def _print_DiagMatrix(self, expr):
        return f"numpy.diagflat({self._print(expr.args[0])})"

    def _print_Identity(self, expr):
        return f"numpy.eye({self._print(expr.shape[0])})"

    def _print_ElementwiseApplyFunction(self, expr):
        name = type(expr.function.expr).__name__
        arg = self._print(expr.expr)
        return _NP_FUNCS[name].format(arg) if name != "step" else f"numpy.heaviside({arg}, 0).astype({arg}.dtype)"


def size_symbols() -> dict:
    """The symbolic sizes used for every cell."""
    return {n: sp.Symbol(n, integer=True, positive=True) for n in ("n_x", "n_h", "n_y")}


def dim(d: str, sizes: dict):
    return sum((sp.Integer(1) if p == "1" else sizes[p]) for p in (t.strip() for t in d.split("+")))


def symbols_of(cell, suffix: str = "") -> dict:
    """A MatrixSymbol for every name of ``cell`` (shape from shape inference)."""
    sizes = size_symbols()
    return {k: MatrixSymbol(k + suffix, *(dim(d, sizes) for d in s)) for k, s in cell.shapes.items()}


def _sequential_cse(blocks):
    """CSE within each (symbol, expr) block, keeping the blocks' order."""
    pairs, gen = [], sp.numbered_symbols("_cse")
    for sym, expr in blocks:
        reps, (red,) = sp.cse([expr], symbols=gen)
        pairs += reps
        pairs.append((sym, red))
    return pairs


def safe_names(symbols) -> dict:
    """MatrixSymbol -> one named ``m0``, ``m1`` ... of the same shape.

    Generated code then never contains a name chosen in a cell file (a weight
    called ``numpy`` would otherwise shadow the module).
    """
    return {m: MatrixSymbol(f"m{i}", *m.shape) for i, m in enumerate(symbols)}


def _matrix_symbols(exprs) -> list:
    found = {}
    for e in exprs:
        for m in sorted(e.atoms(MatrixSymbol), key=lambda m: m.name):
            found.setdefault(m, None)
    return list(found)


def _compile(args, blocks, outputs):
    every = [*args, *(b for pair in blocks for b in pair), *outputs]
    rename = safe_names(_matrix_symbols(e for e in every if isinstance(e, sp.Basic)))
    sub = lambda e: e.xreplace(rename)
    pairs = _sequential_cse([(sub(a), sub(b)) for a, b in blocks])
    return sp.lambdify([sub(a) for a in args], [sub(o) for o in outputs], modules="numpy",
                       printer=NumpyMatrixPrinter, cse=lambda exprs: (pairs, list(exprs)), docstring_limit=0)


class StepFormulas:
    """One step's forward and adjoint formulas as SymPy expressions."""

    def __init__(self, cell):
        self.cell = cell
        self.sym = symbols_of(cell)
        self.forward = [(self.sym[e.name], evaluate(e.expr, self.sym, MAT)) for e in cell.eqns]
        self.seeds = {s: MatrixSymbol(s + "_bar_in", *self.sym[s].shape) for s in cell.states}
        self.bars = []
        self.adj = step_vjp(cell, self.sym, dict(self.seeds), MAT, bar=self._bar)

    def _bar(self, name, total):
        b = MatrixSymbol(name + "_bar", *self.sym[name].shape)
        self.bars.append((b, total))
        return b

    def total(self, name):
        """Adjoint of ``name`` (None when it does not influence the states)."""
        return self.adj.total(name, MAT)


def compile_step(cell) -> dict:
    """Derive and lambdify one step: sources of ``fwd`` and ``bwd`` and the names they return."""
    import inspect
    step = SymbolicStep(cell)
    return {"fwd": inspect.getsource(step.fwd), "bwd": inspect.getsource(step.bwd),
            "grad_names": step.grad_names}


class SymbolicStep(StepRunner):
    """Derive and lambdify one step now (no cache); runs like :class:`derive.symengine.SymbolicStep`."""

    def __init__(self, cell):
        self.cell, f = cell, StepFormulas(cell)
        s = f.sym
        sizes = size_symbols()
        self.inputs = [s[cell.input], *(s[p] for p in cell.prev_names), *(s[p] for p in cell.params),
                       sizes["n_x"], sizes["n_h"]]
        self.fwd = _compile(self.inputs, f.forward, [b[0] for b in f.forward])
        names = [cell.input, *cell.prev_names, *cell.params]
        self.grad_names = [n for n in names if f.total(n) is not None]
        back_in = self.inputs + [b[0] for b in f.forward] + list(f.seeds.values())
        outs = [f.total(n) for n in self.grad_names]
        self.bwd = _compile(back_in, f.bars + [(MatrixSymbol(f"_out{k}", *o.shape), o) for k, o in enumerate(outs)],
                            [MatrixSymbol(f"_out{k}", *o.shape) for k, o in enumerate(outs)])

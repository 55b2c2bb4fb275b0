"""User-defined cells from a YAML file, parsed without ``eval`` of user text.

A cell file is a YAML mapping with exactly these keys::

    name: mgu
    input: x            # default x
    states: [h]         # list of state names
    output: h           # default: the first state
    equations:
      - f = sigmoid(W_f @ x + U_f @ h_prev + b_f)
      - h_tilde = tanh(W_h @ x + U_h @ (f * h_prev) + b_h)
      - h = (1 - f) * h_prev + f * h_tilde
    title: optional text
    notes: optional text

Equations are parsed by :mod:`derive.grammar` and mapped onto the IR:
``@`` matmul, ``*`` elementwise product, ``+ -`` add/sub, unary minus,
``/`` by a number only, and the functions in :data:`FUNCTIONS`.  Every
failure is a :class:`~derive.errors.BpttError` whose message starts with the
file name.
"""
from __future__ import annotations

import math
import re

import yaml

from . import grammar as g
from .errors import BpttError
from .ir import App, Cell, CellError, Const, Eqn, Var, free_vars, prev

MAX_BYTES = 64 * 1024
MAX_EQUATIONS = 64
MAX_STATES = 16
MAX_YAML_DEPTH = 32
KEYS = ("name", "input", "states", "output", "equations", "title", "notes")
REQUIRED = ("name", "states", "equations")
UNARY_FUNCTIONS = ("sigmoid", "tanh", "relu", "exp", "log", "softplus")
FUNCTIONS = UNARY_FUNCTIONS + ("concat",)
CELL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
OPS = {"+": "add", "-": "sub", "*": "mul", "@": "matmul"}


class _At(Exception):
    """An equation problem at a node; turned into a BpttError with the file name."""

    def __init__(self, node, reason: str):
        super().__init__(reason)
        self.line, self.column, self.reason = node.line, node.column, reason


# ------------------------------------------------------------------ public API

def load_cell_file(path) -> Cell:
    """Read and parse a cell file.

    Parameters
    ----------
    path : str or os.PathLike
        A UTF-8 YAML file of at most 64 KiB.

    Returns
    -------
    Cell
        The validated cell with inferred shapes.

    Raises
    ------
    BpttError
        On any problem; the message starts with ``path`` as given.
    """
    source = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise BpttError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise BpttError(f"{source}: is a directory, not a cell file") from None
    except OSError as err:
        raise BpttError(f"{source}: cannot read the file ({err.strerror or err})") from None
    _check_size(len(data), source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BpttError(f"{source}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset "
                        f"{err.start}); save the file as UTF-8") from None
    return parse_cell(text, source=source)


def parse_cell(text: str, source: str = "<cell>") -> Cell:
    """Parse the text of a cell file.

    Parameters
    ----------
    text : str
        YAML text with the keys described in the module docstring.
    source : str
        Name used at the start of error messages.

    Returns
    -------
    Cell

    Raises
    ------
    BpttError
        On YAML syntax errors, schema errors, equation syntax errors and
        cells the IR rejects (names, ordering, shapes).
    """
    _check_size(len(text.encode("utf-8", "surrogatepass")), source)
    spec = _schema(_load_yaml(text, source), source)
    eqns = []
    spec["data"] = {spec["input"], *(prev(s) for s in spec["states"])}
    for k, eq_text in enumerate(spec["equations"], start=1):
        try:
            eqns.append(_equation(eq_text, spec))
        except g.GrammarError as err:
            raise _equation_error(text, source, k, err.line, err.column, err.reason) from None
        except _At as err:
            raise _equation_error(text, source, k, err.line, err.column, err.reason) from None
        if spec["data"] & set(free_vars(eqns[-1].expr)):
            spec["data"].add(eqns[-1].name)
    try:
        return Cell(spec["name"], spec["input"], tuple(spec["states"]), spec["output"], tuple(eqns),
                    title=spec["title"], notes=spec["notes"])
    except CellError as err:
        raise BpttError(f"{source}: {err}") from None
    except RecursionError:  # shapes.py has no occurs check: e.g. h = concat(h_prev, h_prev)
        raise BpttError(f"{source}: sizes cannot be inferred: some size would have to contain "
                        "itself (e.g. h = concat(h_prev, h_prev) makes n_h = n_h + n_h)") from None


# ---------------------------------------------------------------- file & YAML

def _check_size(nbytes: int, source: str) -> None:
    if nbytes > MAX_BYTES:
        raise BpttError(f"{source}: file is too large (more than {MAX_BYTES} bytes); "
                        "a cell file is a few equations")


def _flow_depth(text: str) -> int:
    """Deepest nesting of YAML flow brackets (an upper bound: quotes are not skipped)."""
    depth = deepest = 0
    for c in text:
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _load_yaml(text: str, source: str):
    if _flow_depth(text) > MAX_YAML_DEPTH:
        raise BpttError(f"{source}: YAML is nested too deeply (more than {MAX_YAML_DEPTH} levels "
                        "of [ ] or { }); a cell file needs two")
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = err.problem or err.context or "invalid YAML"
        raise BpttError(f"{source}: {where}YAML syntax error: {what}") from None
    except yaml.YAMLError as err:
        raise BpttError(f"{source}: YAML syntax error: {str(err).splitlines()[0]}") from None
    except RecursionError:
        raise BpttError(f"{source}: YAML is nested too deeply") from None


def _equation_lines(text: str) -> list:
    """1-based file line of each item under ``equations`` (best effort, [] on failure)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "equations" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _equation_error(text, source, k, line, column, reason) -> BpttError:
    lines = _equation_lines(text)
    at = f"equation {k}"
    if k <= len(lines):
        at += f" (line {lines[k - 1]})"
    where = f"column {column}" if line == 1 else f"line {line} of the equation, column {column}"
    return BpttError(f"{source}: {at}, {where}: {reason}")


# --------------------------------------------------------------------- schema

def _schema(data, source: str) -> dict:
    """Check keys and value types; return a dict with every key filled in."""
    if data is None:
        raise BpttError(f"{source}: the file is empty; expected a mapping with keys "
                        f"{', '.join(REQUIRED)}")
    if not isinstance(data, dict):
        raise BpttError(f"{source}: expected a YAML mapping with keys {', '.join(REQUIRED)}; "
                        f"got {_kind(data)}")
    for key in data:
        if key not in KEYS:
            raise BpttError(f"{source}: unknown key {_show(key)}; allowed keys: {', '.join(KEYS)}")
    for key in REQUIRED:
        if key not in data:
            raise BpttError(f"{source}: missing key {key!r}; a cell file needs {', '.join(REQUIRED)}")
    spec = {"name": _cell_name(data["name"], source),
            "states": _states(data["states"], source),
            "input": _name(data.get("input", "x"), "input", source),
            "title": _text(data.get("title"), "title", source),
            "notes": _text(data.get("notes"), "notes", source),
            "equations": _equations(data["equations"], source)}
    spec["output"] = _name(data.get("output", spec["states"][0]), "output", source)
    for key, value in [*(("states", s) for s in spec["states"]),
                       ("input", spec["input"]), ("output", spec["output"])]:
        _not_function(value, key, source)
    return spec


def _kind(value) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false",
             int: "a number", float: "a number", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _cell_name(value, source: str) -> str:
    if not isinstance(value, str) or not CELL_NAME.match(value):
        raise BpttError(f"{source}: 'name' must be a short identifier such as mgu or my-gru "
                        f"(letters, digits, '_' and '-'); got {_show(value)}")
    return value


def _name(value, key: str, source: str) -> str:
    if not isinstance(value, str) or len(value) > 64 or not g.is_name(value):
        raise BpttError(f"{source}: {key!r} must be a name such as x or h "
                        f"(letters, digits and '_'); got {_show(value)}")
    return value


def _not_function(value: str, key: str, source: str) -> None:
    if value in FUNCTIONS:
        raise BpttError(f"{source}: {key!r} is {value!r}, which is a function name; choose another name")


def _states(value, source: str) -> list:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_STATES:
        raise BpttError(f"{source}: 'states' must be a list of 1 to {MAX_STATES} names, "
                        f"e.g. [h] or [h, c]; got {_show(value)}")
    names = [_name(v, "states", source) for v in value]
    if len(set(names)) != len(names):
        raise BpttError(f"{source}: 'states' lists a name twice: {names}")
    return names


def _text(value, key: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BpttError(f"{source}: {key!r} must be text; got {_kind(value)}")
    return value


def _equations(value, source: str) -> list:
    if not isinstance(value, list) or not value:
        raise BpttError(f"{source}: 'equations' must be a non-empty list of 'name = expression' "
                        f"lines; got {_kind(value)}")
    if len(value) > MAX_EQUATIONS:
        raise BpttError(f"{source}: too many equations ({len(value)}; at most {MAX_EQUATIONS})")
    for k, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise BpttError(f"{source}: equation {k} must be text of the form 'name = expression'; "
                            f"got {_kind(item)} (quote it if it contains ': ')")
    return value


# ------------------------------------------------------------- AST -> IR

def _equation(text: str, spec: dict) -> Eqn:
    tree = g.parse_assignment(text)
    target = tree.target
    if target.id in FUNCTIONS:
        raise _At(target, f"{target.id!r} is a function name; choose another name for the equation")
    return Eqn(target.id, _to_ir(tree.value, spec))


def _to_ir(node, spec: dict):
    """Map one AST node to the IR; recursion depth is bounded by the grammar's max_depth."""
    if isinstance(node, g.Num):
        return _const(node, float(node.value))
    if isinstance(node, g.Name):
        return _var(node, spec)
    if isinstance(node, g.UnOp):
        inner = _to_ir(node.operand, spec)
        if node.op == "+":
            return inner
        return _const(node, -inner.value) if isinstance(inner, Const) else App("neg", (inner,))
    if isinstance(node, g.BinOp):
        return _binop(node, spec)
    if isinstance(node, g.Call):
        return _call(node, spec)
    raise _At(node, "bracket lists are not part of cell equations; use concat(a, b) to stack vectors")


def _const(node, value: float) -> Const:
    if not math.isfinite(value):
        raise _At(node, "number is too large")
    return Const(value)


def _var(node, spec: dict) -> Var:
    name = node.id
    if name in FUNCTIONS:
        raise _At(node, f"{name!r} is a function; call it as {name}(...)")
    if name.endswith("_prev") and name[:-5] not in spec["states"]:
        raise _At(node, f"{name!r} looks like a previous state, but {name[:-5]!r} is not one of the "
                        f"states {spec['states']}; add it to 'states' or rename the parameter")
    return Var(name)


def _binop(node, spec: dict):
    if node.op in ("^", "**"):
        raise _At(node, f"'{node.op}' (power) is not allowed in cell equations; "
                        "write x * x for a square")
    left, right = _to_ir(node.left, spec), _to_ir(node.right, spec)
    if node.op == "/":
        if not isinstance(right, Const):
            raise _At(node, "'/' needs a number on the right (e.g. h / 2); "
                            "division by a vector is not a cell primitive")
        if right.value == 0:
            raise _At(node, "division by zero")
        return _fold(node, "mul", left, Const(1.0 / right.value))
    if node.op == "@":
        _weights_on_left(node, left, spec)
    return _fold(node, OPS[node.op], left, right)


def _weights_on_left(node, left, spec: dict) -> None:
    """``A @ v`` needs a weight matrix A; a left side that varies per sample breaks batching."""
    data = [n for n in free_vars(left) if n in spec["data"]]
    if data:
        raise _At(node, f"the left side of '@' depends on {data[0]!r}; '@' multiplies a weight "
                        "matrix (left) by a vector (right), e.g. W @ x")


def _fold(node, prim: str, left, right):
    """Apply ``prim``; two numbers are combined now (the IR needs a vector in every App)."""
    if isinstance(left, Const) and isinstance(right, Const):
        if prim == "matmul":
            raise _At(node, "'@' needs matrices on both sides; use '*' to scale by a number")
        a, b = left.value, right.value
        return _const(node, {"add": a + b, "sub": a - b, "mul": a * b}[prim])
    return App(prim, (left, right))


def _call(node, spec: dict):
    func, nargs = node.func, len(node.args)
    if func not in FUNCTIONS:
        raise _At(node, f"unknown function {func!r}; allowed: {', '.join(FUNCTIONS)}")
    if func == "concat" and nargs < 2:
        raise _At(node, f"concat takes two or more vectors, got {nargs}")
    if func != "concat" and nargs != 1:
        raise _At(node, f"{func} takes exactly one argument, got {nargs}")
    args = tuple(_to_ir(a, spec) for a in node.args)
    if func != "concat" and isinstance(args[0], Const):
        raise _At(node, f"{func}() of a plain number is not a cell equation; apply it to a vector")
    return App(func, args)

"""Cell files: YAML schema, equation mapping to the IR, errors and bounds."""
import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import derive
from derive.cellfile import FUNCTIONS, load_cell_file, parse_cell
from derive.errors import BpttError
from derive.ir import App, Cell, Const, Var
from derive.npstep import NumpyStep

EXAMPLES = Path(derive.__file__).parent / "examples"
HEAD = "name: t\nstates: [h]\nequations:\n  - f = sigmoid(W_f @ x + U_f @ h_prev + b_f)\n"


def cell_with(rhs):
    """A two-equation cell whose second equation is ``h = rhs``."""
    return parse_cell(HEAD + f"  - h = {rhs}\n", source="t.yaml")


def error(text, source="t.yaml"):
    with pytest.raises(BpttError) as info:
        parse_cell(text, source=source)
    msg = str(info.value)
    assert msg.startswith(source + ": ") and "\n" not in msg
    return msg


def h_expr(rhs):
    return cell_with(rhs).eqns[-1].expr


def test_mgu_example():
    cell = load_cell_file(EXAMPLES / "mgu.yaml")
    assert isinstance(cell, Cell)
    assert (cell.name, cell.input, cell.states, cell.output) == ("mgu", "x", ("h",), "h")
    assert cell.eqn_names == ["f", "h_tilde", "h"]
    assert cell.params == ["W_f", "U_f", "b_f", "W_h", "U_h", "b_h"]
    assert cell.shapes["W_f"] == ("n_h", "n_x")
    assert cell.shapes["U_h"] == ("n_h", "n_h")
    assert cell.shapes["b_f"] == ("n_h", "1")
    assert cell.title.startswith("Minimal gated unit")


def test_colah_lstm_example():
    cell = load_cell_file(EXAMPLES / "colah_lstm.yaml")
    assert cell.states == ("h", "c") and cell.output == "h"
    assert cell.params == ["W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o"]
    for w in ("W_f", "W_i", "W_C", "W_o"):
        assert cell.shapes[w] == ("n_h", "n_h + n_x")
    first = cell.eqns[0].expr
    assert first == App("sigmoid", (App("add", (
        App("matmul", (Var("W_f"), App("concat", (Var("h_prev"), Var("x"))))), Var("b_f"))),))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_mgu_numeric_matches_direct_numpy():
    cell = load_cell_file(EXAMPLES / "mgu.yaml")
    rng = np.random.default_rng(0)
    n_x, n_h, batch = 3, 4, 5
    shape = {"W_f": (n_h, n_x), "U_f": (n_h, n_h), "b_f": (n_h, 1),
             "W_h": (n_h, n_x), "U_h": (n_h, n_h), "b_h": (n_h, 1)}
    p = {k: rng.standard_normal(s) for k, s in shape.items()}
    x, h_prev = rng.standard_normal((n_x, batch)), rng.standard_normal((n_h, batch))
    (h,), env = NumpyStep(cell).forward(x, [h_prev], p)
    f = sigmoid(p["W_f"] @ x + p["U_f"] @ h_prev + p["b_f"])
    h_tilde = np.tanh(p["W_h"] @ x + p["U_h"] @ (f * h_prev) + p["b_h"])
    expected = (1 - f) * h_prev + f * h_tilde
    np.testing.assert_allclose(env["f"], f, rtol=1e-12)
    np.testing.assert_allclose(h, expected, rtol=1e-12)


def test_colah_lstm_numeric_matches_direct_numpy():
    cell = load_cell_file(EXAMPLES / "colah_lstm.yaml")
    rng = np.random.default_rng(1)
    n_x, n_h, batch = 2, 3, 4
    p = {k: rng.standard_normal((n_h, n_h + n_x) if k.startswith("W") else (n_h, 1))
         for k in cell.params}
    x, h0, c0 = (rng.standard_normal((n, batch)) for n in (n_x, n_h, n_h))
    (h, c), _ = NumpyStep(cell).forward(x, [h0, c0], p)
    hx = np.vstack([h0, x])
    gate = lambda k, act: act(p[f"W_{k}"] @ hx + p[f"b_{k}"])
    c_ref = gate("f", sigmoid) * c0 + gate("i", sigmoid) * gate("C", np.tanh)
    np.testing.assert_allclose(c, c_ref, rtol=1e-12)
    np.testing.assert_allclose(h, gate("o", sigmoid) * np.tanh(c_ref), rtol=1e-12)


def test_operator_mapping():
    assert h_expr("f * h_prev - f") == App("sub", (App("mul", (Var("f"), Var("h_prev"))), Var("f")))
    assert h_expr("-f + h_prev") == App("add", (App("neg", (Var("f"),)), Var("h_prev")))
    assert h_expr("+f") == Var("f")
    assert h_expr("f / 4") == App("mul", (Var("f"), Const(0.25)))
    assert h_expr("f / -2") == App("mul", (Var("f"), Const(-0.5)))
    assert h_expr("(1 - 0.5 * 2 / 4) * f") == App("mul", (Const(0.75), Var("f")))
    assert h_expr("relu(f) + exp(f) + log(f) + softplus(f)") == App("add", (App("add", (App(
        "add", (App("relu", (Var("f"),)), App("exp", (Var("f"),)))), App("log", (Var("f"),)))),
        App("softplus", (Var("f"),))))


def test_defaults_input_and_output():
    cell = parse_cell("name: t\nstates: [s, c]\nequations:\n  - c = c_prev + W @ x\n  - s = tanh(c)\n")
    assert (cell.input, cell.output) == ("x", "s")
    cell = parse_cell("name: t\ninput: u\nstates: [h]\noutput: h\nequations: ['h = tanh(W @ u)']\n")
    assert cell.input == "u" and cell.shapes["W"] == ("n_h", "n_x")


def test_notes_and_empty_optional_text():
    cell = parse_cell(HEAD + "  - h = f\ntitle:\nnotes: some text\n")
    assert (cell.title, cell.notes) == ("", "some text")


@pytest.mark.parametrize("rhs, message", [
    ("softmaxx(f)", "t.yaml: equation 2 (line 5), column 5: unknown function 'softmaxx'; allowed: "
                    + ", ".join(FUNCTIONS)),
    ("(f * h_prev))", "t.yaml: equation 2 (line 5), column 17: unexpected ')'; "
                      "expected an operator or end of input"),
    ("f ^ 2", "t.yaml: equation 2 (line 5), column 7: '^' (power) is not allowed in cell equations"),
    ("f ** 2", "column 7: '**' (power) is not allowed in cell equations"),
    ("f / h_prev", "column 7: '/' needs a number on the right (e.g. h / 2)"),
    ("f / (1 - 1)", "column 7: division by zero"),
    ("f * 1e999", "column 9: number is too large"),
    ("f * c_prev", "column 9: 'c_prev' looks like a previous state, but 'c' is not one of the states"),
    ("f * x_prev", "'x_prev' looks like a previous state"),
    ("tanh + f", "column 5: 'tanh' is a function; call it as tanh(...)"),
    ("[f, f]", "column 5: bracket lists are not part of cell equations; use concat(a, b)"),
    ("concat(f)", "column 5: concat takes two or more vectors, got 1"),
    ("tanh(f, f)", "column 5: tanh takes exactly one argument, got 2"),
    ("sigmoid()", "column 5: sigmoid takes exactly one argument, got 0"),
    ("tanh(2) * f", "column 5: tanh() of a plain number is not a cell equation"),
    ("2 @ 3", "column 7: '@' needs matrices on both sides"),
    ("tanh(h_prev @ f)", "column 17: the left side of '@' depends on 'h_prev'; '@' multiplies a "
                         "weight matrix (left) by a vector (right), e.g. W @ x"),
    ("(W @ x) @ f", "column 13: the left side of '@' depends on 'x'"),
    ("(f * W) @ x", "column 13: the left side of '@' depends on 'f'"),
    ("f.T", "column 6: '.' is not allowed: attribute access is not part of cell equations"),
    ("f[0]", "column 6: '[' after an operand is not allowed: subscripts"),
    ("__import__('os').system('x')", "column 5: name '__import__' is not allowed"),
    ("(lambda f)", "column 6: 'lambda' is a Python keyword"),
])
def test_equation_errors(rhs, message):
    msg = error(HEAD + f"  - h = {rhs}\n")
    assert message in msg
    assert msg.startswith("t.yaml: equation 2 (line 5), column ")


@pytest.mark.parametrize("text, message", [
    ("", "t.yaml: the file is empty; expected a mapping with keys name, states, equations"),
    ("- a\n", "t.yaml: expected a YAML mapping with keys name, states, equations; got a list"),
    ("name: t\nstates: [h\n", "t.yaml: line 3, column 1: YAML syntax error: expected ',' or ']'"),
    ("name: t\n  states: x\n", "t.yaml: line 2, column 9: YAML syntax error: mapping values"),
    ("name: t\n---\nname: u\n", "YAML syntax error: but found another document"),
    ("name: !!python/object/apply:os.system ['echo hi']\n", "t.yaml: line 1, column 7: YAML "
     "syntax error: could not determine a constructor for the tag"),
    (HEAD + "outputs: h\n", "t.yaml: unknown key 'outputs'; allowed keys: name, input, states, "
                            "output, equations, title, notes"),
    ("name: t\nstates: [h]\n", "t.yaml: missing key 'equations'; a cell file needs name, states, "
                               "equations"),
    ("name: a b\nstates: [h]\nequations: [h = h_prev]\n", "'name' must be a short identifier"),
    ("name: t\nstates: h\nequations: [h = h_prev]\n", "'states' must be a list of 1 to 16 names"),
    ("name: t\nstates: []\nequations: [h = h_prev]\n", "'states' must be a list of 1 to 16 names"),
    ("name: t\nstates: [h, h]\nequations: [h = h_prev]\n", "'states' lists a name twice"),
    ("name: t\nstates: [__class__]\nequations: [h = h_prev]\n",
     "'states' must be a name such as x or h (letters, digits and '_'); got '__class__'"),
    ("name: t\ninput: os.system\nstates: [h]\nequations: [h = h_prev]\n", "'input' must be a name"),
    ("name: t\ninput: 3\nstates: [h]\nequations: [h = h_prev]\n", "'input' must be a name"),
    ("name: t\nstates: [tanh]\nequations: [h = h_prev]\n", "'states' is 'tanh', which is a function"),
    ("name: t\nstates: [h]\nequations: []\n", "'equations' must be a non-empty list"),
    ("name: t\nstates: [h]\nequations: [5]\n", "equation 1 must be text of the form 'name = "
                                               "expression'; got a number"),
    ("name: t\nstates: [h]\nequations:\n  - h: tanh(x)\n", "equation 1 must be text of the form "
                                                            "'name = expression'; got a mapping"),
    ("name: t\nstates: [h]\nnotes: 5\nequations: [h = h_prev]\n", "'notes' must be text; got a number"),
    ("name: t\nstates: [h]\nequations:\n" + "  - h = h_prev\n" * 65, "too many equations (65; at "
                                                                     "most 64)"),
    ("name: t\nstates: [h]\nequations: [h = 1]\n", "t.yaml: equation 'h' is a plain number"),
    ("name: t\nstates: [h]\nequations: [h = h * 2]\n", "t.yaml: cell 't': equation 'h' uses 'h' "
                                                       "before it is defined"),
    ("name: t\nstates: [h, c]\nequations: [h = h_prev]\n", "cell 't': state 'c' has no equation"),
    ("name: t\nstates: [h]\noutput: y\nequations: [h = h_prev]\n", "output 'y' is not one of the "
                                                                   "states"),
    ("name: t\nstates: [h]\nequations: ['h = W @ x + x']\n", "size mismatch in equation 'h': n_h vs n_x"),
    ("name: t\nstates: [h]\nequations: ['x = h_prev', 'h = x']\n", "'x' is defined twice"),
    ("name: t\nstates: [h]\nequations: ['h = concat(h_prev, h_prev)']\n",
     "t.yaml: size mismatch in equation 'h': a concatenation's size n_h + n_h cannot equal n_h"),
    ("name: t\nstates: [h]\nequations: ['tanh = h_prev', 'h = x']\n",
     "equation 1 (line 3), column 1: 'tanh' is a function name"),
    ("name: t\nstates: [h]\nequations: ['h + 1']\n", "equation 1 (line 3), column 3: unexpected '+'; "
                                                    "expected '=' after 'h'"),
    ("name: t\nstates: [h]\nequations:\n  - |\n    h = tanh(W @ x\n      + U @ h_prev))\n",
     "equation 1 (line 4), line 2 of the equation, column 16: unexpected ')'"),
])
def test_file_errors(text, message):
    assert message in error(text)


def test_load_errors(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(BpttError, match=r"nope\.yaml: no such file$"):
        load_cell_file(missing)
    with pytest.raises(BpttError, match="is a directory"):
        load_cell_file(tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(BpttError, match=r"latin\.yaml: not UTF-8 text \(byte 0xe9 at offset 9\)"):
        load_cell_file(latin)
    big = tmp_path / "big.yaml"
    big.write_text("notes: " + "a" * 70_000 + "\n")
    with pytest.raises(BpttError, match=r"big\.yaml: file is too large \(more than 65536 bytes\)"):
        load_cell_file(big)


def test_load_accepts_bom_and_str_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (EXAMPLES / "mgu.yaml").read_bytes())
    assert load_cell_file(str(path)).name == "mgu"


def test_error_message_starts_with_given_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "  - h = softmaxx(f)\n")
    with pytest.raises(BpttError) as info:
        load_cell_file(path)
    assert str(info.value).startswith(f"{path}: equation 2 (line 5), column 5: unknown function")


def timed_error(text):
    start = time.perf_counter()
    msg = error(text)
    return time.perf_counter() - start, msg


@pytest.mark.parametrize("rhs, message", [
    ("(" * 995 + "f" + ")" * 995, "nested too deeply (more than 64 levels)"),
    ("f * " + "9" * 1990, "number is too long (more than 30 characters)"),
    ("f" + " + f" * 400, "nested too deeply (more than 64 levels)"),
    ("f" * 5000, "input is too long (5004 characters; at most 2000)"),
], ids=["parens", "number", "chain", "long"])
def test_pathological_equations_fail_fast(rhs, message):
    seconds, msg = timed_error(HEAD + f"  - h = {rhs}\n")
    assert seconds < 0.5
    assert message in msg


def test_deep_yaml_fails_fast():
    seconds, msg = timed_error("name: " + "[" * 5000 + "]" * 5000 + "\n")
    assert seconds < 0.5 and "YAML is nested too deeply" in msg


def test_alias_bomb_is_rejected_by_schema():
    bomb = "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\n"
    assert "unknown key 'a'" in error(bomb)
    assert "'title' must be text; got a list" in error(HEAD + "  - h = f\ntitle: [1, [2]]\n")


def test_cellfile_source_has_no_eval():
    import tokenize as pytokenize
    import derive.cellfile as cellfile
    with open(cellfile.__file__, "rb") as fh:
        names = {t.string for t in pytokenize.tokenize(fh.readline) if t.type == pytokenize.NAME}
    assert "safe_load" in names
    assert not names & {"eval", "exec", "sympify", "parse_expr", "load", "load_all",
                         "full_load", "unsafe_load", "FullLoader", "UnsafeLoader"}


RHS_ALPHABET = "fhx_prevW@*+-/^()[], .0129eacontsigmd'"


@settings(max_examples=300, deadline=500)
@given(st.text(alphabet=RHS_ALPHABET, max_size=120))
def test_random_equations_only_raise_bptt_error(rhs):
    start = time.perf_counter()
    try:
        cell = parse_cell(HEAD + "  - " + json.dumps("h = " + rhs) + "\n", source="r.yaml")
    except BpttError as e:
        assert str(e).startswith("r.yaml: ")
    else:
        assert cell.eqn_names == ["f", "h"]
    assert time.perf_counter() - start < 0.5


LEAVES = st.sampled_from(["f", "h_prev", "x", "W", "U", "b", "1", "0.5", "c_prev", "tanh"])


def _combine(inner):
    binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "@", "^"]), inner)
    calls = st.tuples(st.sampled_from(["tanh", "sigmoid", "relu", "concat", "softmaxx"]),
                      st.lists(inner, min_size=1, max_size=3))
    return st.one_of(binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
                     inner.map(lambda s: f"-{s}"),
                     calls.map(lambda t: f"{t[0]}({', '.join(t[1])})"))


@settings(max_examples=300, deadline=500)
@given(st.recursive(LEAVES, _combine, max_leaves=12))
def test_random_cells_fail_cleanly_or_evaluate_with_inferred_shapes(rhs):
    from derive.shapes import concrete
    try:
        cell = cell_with(rhs)
    except BpttError as e:
        assert str(e).startswith("t.yaml: ") and "\n" not in str(e)
        return
    sizes, batch = {"n_x": 2, "n_h": 3}, 4
    rng = np.random.default_rng(0)
    params = {p: rng.standard_normal(concrete(cell.shapes[p], sizes)) for p in cell.params}
    x, h_prev = rng.standard_normal((2, batch)), rng.standard_normal((3, batch))
    with np.errstate(all="ignore"):
        (h,), _ = NumpyStep(cell).forward(x, [h_prev], params)
    assert h.shape == (3, batch)

"""The expression grammar: precedence, positions, bounds and hostile input."""
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings, strategies as st

from derive.errors import BpttError
from derive.grammar import (Assign, BinOp, Call, GrammarError, List, Name, Num, UnOp, dump,
                            is_name, parse_assignment, parse_expression, tokenize)


def err(text, **kw):
    with pytest.raises(GrammarError) as info:
        parse_expression(text, **kw)
    return str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("a + b * c", "(+ a (* b c))"),
    ("a * b + c", "(+ (* a b) c)"),
    ("a - b - c", "(- (- a b) c)"),
    ("a / b / c", "(/ (/ a b) c)"),
    ("a @ b * c", "(* (@ a b) c)"),
    ("a * b @ c", "(@ (* a b) c)"),
    ("a ^ b ^ c", "(^ a (^ b c))"),
    ("a ** b ** c", "(** a (** b c))"),
    ("a ^ b * c", "(* (^ a b) c)"),
    ("-a ^ 2", "(neg (^ a 2))"),
    ("a ^ -b", "(^ a (neg b))"),
    ("-a * b", "(* (neg a) b)"),
    ("- - +a", "(neg (neg (pos a)))"),
    ("a - -b", "(- a (neg b))"),
    ("(a + b) * c", "(* (+ a b) c)"),
    ("tanh(W @ x + b)", "(call tanh (+ (@ W x) b))"),
    ("concat(h_prev, x)", "(call concat h_prev x)"),
    ("f()", "(call f)"),
    ("[a, b + 1]", "(list a (+ b 1))"),
    ("[]", "(list)"),
    ("1.5e-3 * .5 + 2. + 7E+2", "(+ (+ (* 1.5e-3 .5) 2.) 7E+2)"),
])
def test_precedence_and_associativity(text, expected):
    assert dump(parse_expression(text)) == expected


def test_ast_repr_golden():
    tree = parse_expression("-a ^ 2 + f(x, [y])")
    assert repr(tree) == (
        "BinOp(op='+', left=UnOp(op='-', operand=BinOp(op='^', left=Name(id='a'), "
        "right=Num(value='2'))), right=Call(func='f', args=(Name(id='x'), "
        "List(items=(Name(id='y'),)))))")


def test_ast_equality_ignores_positions_and_nodes_are_immutable():
    assert parse_expression("a+b") == parse_expression("  a +   b")
    assert parse_expression("a+b") == BinOp("+", Name("a"), Name("b"))
    with pytest.raises(AttributeError):
        parse_expression("a").id = "b"


def test_source_positions():
    tree = parse_expression("x +\n  tanh(y)")
    assert (tree.line, tree.column) == (1, 3)
    assert (tree.left.line, tree.left.column) == (1, 1)
    assert (tree.right.line, tree.right.column, tree.right.func) == (2, 3, "tanh")


def test_node_types():
    tree = parse_expression("f(-1, [a])")
    assert isinstance(tree, Call) and isinstance(tree.args[0], UnOp)
    assert isinstance(tree.args[0].operand, Num) and isinstance(tree.args[1], List)


def test_assignment():
    eq = parse_assignment("h = (1 - f) * h_prev")
    assert isinstance(eq, Assign) and eq.target == Name("h")
    assert dump(eq.value) == "(* (- 1 f) h_prev)"


@pytest.mark.parametrize("text, message", [
    ("h", "line 1, column 2: unexpected end of input; expected '=' after 'h'"),
    ("= x", "line 1, column 1: unexpected '='; expected a name to define"),
    ("h =", "line 1, column 4: unexpected end of input; expected an expression after '='"),
    ("h = x = y", "line 1, column 7: unexpected '='; expected an operator or end of input"),
    ("tanh(x) = y", "line 1, column 5: unexpected '('; expected '=' after 'tanh'"),
])
def test_assignment_errors(text, message):
    with pytest.raises(GrammarError) as info:
        parse_assignment(text)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("text, message", [
    ("", "line 1, column 1: unexpected end of input; expected an expression"),
    ("a +", "line 1, column 4: unexpected end of input; expected an operand"),
    ("a\n + (b * ))", "line 2, column 9: unexpected ')'; expected an operand"),
    ("(a + b", "line 1, column 7: unexpected end of input; expected an operator or ')' "
               "to close '(' at line 1, column 1"),
    ("f(a b)", "line 1, column 5: unexpected name 'b'; expected an operator, ',' or ')' "
               "to close '(' at line 1, column 2 (implicit multiplication"),
    ("[a,", "line 1, column 4: unexpected end of input; expected an operand"),
    ("f(a,)", "line 1, column 5: unexpected ')'; expected an operand"),
    ("a b", "line 1, column 3: unexpected name 'b'; expected an operator or end of input "
            "(implicit multiplication is not supported: write '*')"),
    ("2(x)", "line 1, column 2: unexpected '('; expected an operator"),
    ("a)", "line 1, column 2: unexpected ')'; expected an operator or end of input"),
    ("a = b", "line 1, column 3: unexpected '='; expected an operator or end of input"),
    ("a % b", "line 1, column 3: unexpected character '%'"),
    ("a\x00", "line 1, column 2: unexpected character '\\x00' (U+0000)"),
    ("α + 1", "line 1, column 1: unexpected character 'α'; names use ASCII letters"),
    ("1e+", "line 1, column 4: expected digits after the exponent 'e' of a number"),
    ("1.2.3", "line 1, column 4: unexpected '.'; a number has at most one decimal point"),
    (". + a", "line 1, column 1: unexpected '.'; expected an operand"),
    ("a.b", "line 1, column 2: '.' is not allowed: attribute access is not part of cell equations"),
    ("f(x).T", "line 1, column 5: '.' is not allowed: attribute access"),
    ("x[0]", "line 1, column 2: '[' after an operand is not allowed: subscripts are not part"),
    ("'str'", "line 1, column 1: quotes are not allowed: strings are not part of cell equations"),
    ('"str"', "line 1, column 1: quotes are not allowed"),
    ("lambda x: x", "line 1, column 1: 'lambda' is a Python keyword and is not part of"),
    ("a if b else c", "line 1, column 3: 'if' is a Python keyword"),
    ("__class__", "line 1, column 1: name '__class__' is not allowed: names starting with '__'"),
    ("{a}", "line 1, column 1: '{' is not allowed: dicts and sets"),
    ("a; b", "line 1, column 2: ';' is not allowed"),
    ("a # c", "line 1, column 3: '#' is not allowed: comments"),
    ("a[1:2]", "line 1, column 4: ':' is not allowed: lambdas, slices"),
])
def test_error_messages(text, message):
    assert err(text).startswith(message)


def test_grammar_error_is_bptt_error_with_fields():
    with pytest.raises(BpttError) as info:
        parse_expression("a +\n  )")
    e = info.value
    assert isinstance(e, GrammarError)
    assert (e.line, e.column) == (2, 3)
    assert e.reason == "unexpected ')'; expected an operand"
    assert "\n" not in str(e)


def test_hostile_import_is_rejected_without_running():
    marker = "import_ran_marker"
    with pytest.raises(GrammarError, match="'__import__' is not allowed"):
        parse_expression(f"__import__('os').system('echo {marker}')")
    # Stripped of the dunder, the same call still cannot get past the grammar.
    with pytest.raises(GrammarError, match="'.' is not allowed|quotes are not allowed"):
        parse_expression("import_('os').system('x')")


def test_no_eval_in_grammar_source():
    import tokenize as pytokenize
    import derive.grammar as grammar
    with open(grammar.__file__, "rb") as fh:
        names = {t.string for t in pytokenize.tokenize(fh.readline) if t.type == pytokenize.NAME}
    assert "keyword" in names  # the check sees real code names
    assert not names & {"eval", "exec", "compile", "sympify", "parse_expr", "sympy", "numpy"}


def test_grammar_does_not_import_sympy_or_numpy():
    code = ("import sys, derive.grammar; "
            "print(any(m in sys.modules for m in ('sympy', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def fast(fn, *args, **kw):
    """Run ``fn`` expecting GrammarError; return (seconds, message)."""
    start = time.perf_counter()
    with pytest.raises(GrammarError) as info:
        fn(*args, **kw)
    return time.perf_counter() - start, str(info.value)


def test_deep_parentheses_fail_fast():
    seconds, msg = fast(parse_expression, "(" * 999 + "a" + ")" * 999)
    assert seconds < 0.5
    assert msg == "line 1, column 65: expression is nested too deeply (more than 64 levels)"


@pytest.mark.parametrize("text", ["-" * 1999 + "a", "a^" * 999 + "a", "a+" * 999 + "a",
                                  "f(" * 999 + "a", "[" * 1999, "tanh(" * 399],
                         ids=["unary", "power", "sum", "calls", "lists", "tanh"])
def test_deep_chains_fail_fast(text):
    seconds, msg = fast(parse_expression, text)
    assert seconds < 0.5 and "nested too deeply (more than 64 levels)" in msg


def test_depth_limit_is_a_parameter():
    assert dump(parse_expression("((a))", max_depth=3)) == "a"
    assert "more than 2 levels" in err("((a))", max_depth=2)
    assert "more than 3 levels" in err("a + b + c + d", max_depth=3)
    with pytest.raises(ValueError):
        parse_expression("a", max_depth=10_000)


def test_huge_number_fails_fast():
    seconds, msg = fast(parse_expression, "9" * 1999)
    assert seconds < 0.5
    assert msg == "line 1, column 1: number is too long (more than 30 characters)"
    assert "number is too long" in err("x * 1." + "0" * 40)
    assert "number is too long" in err("1e" + "9" * 40)
    assert dump(parse_expression("1" * 30)) == "1" * 30


def test_long_input_fails_fast():
    seconds, msg = fast(parse_expression, "a+" * 50_000)
    assert seconds < 0.5
    assert msg == "line 1, column 2001: input is too long (100000 characters; at most 2000)"
    assert "input is too long" in err("a" * 11, max_length=10)
    assert dump(parse_expression("a" * 10, max_length=10)) == "a" * 10


def test_long_input_position_counts_lines():
    assert err("a\n" + "b" * 20, max_length=10).startswith("line 2, column 9: input is too long")


def test_tokenize():
    toks = tokenize("W_f @ x ** 2")
    assert [(t.kind, t.text) for t in toks] == [
        ("name", "W_f"), ("op", "@"), ("name", "x"), ("op", "**"), ("num", "2"), ("end", "")]
    assert toks[3].column == 9


def test_is_name():
    assert is_name("h_prev") and is_name("W_1")
    assert not any(map(is_name, ["", "1a", "a b", "lambda", "__x", "a.b", "h-1"]))


ALPHABET = "ab_xW01239.eE +-*/@^()[],=\t\n.'\"%:#\\_"


@settings(max_examples=400, deadline=500)
@given(st.text(alphabet=ALPHABET, max_size=300))
def test_random_text_only_raises_grammar_error(text):
    for parse in (parse_expression, parse_assignment):
        start = time.perf_counter()
        try:
            tree = parse(text)
        except GrammarError as e:
            assert "\n" not in str(e) and str(e).startswith("line ")
        else:
            assert dump(tree)
        assert time.perf_counter() - start < 0.5


@settings(max_examples=200, deadline=500)
@given(st.recursive(st.sampled_from(["a", "b", "1", "2.5"]),
                    lambda inner: st.one_of(
                        st.tuples(inner, st.sampled_from("+-*/@^"), inner).map(
                            lambda t: f"({t[0]} {t[1]} {t[2]})"),
                        inner.map(lambda s: f"-{s}"),
                        st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"f({', '.join(xs)})")),
                    max_leaves=20))
def test_whitespace_does_not_change_the_tree(text):
    tree = parse_expression(text)
    assert parse_expression(text.replace(" ", "")) == tree

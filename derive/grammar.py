"""A small, bounded expression grammar: tokenizer plus precedence-climbing parser.

User text (cell equations, quiz answers) is never handed to ``eval``, SymPy's
``sympify`` or ``exec``: it is tokenized and parsed here into a tiny immutable
AST, and callers map that AST onto whatever they need.  No SymPy, no NumPy.

Grammar (lowest to highest precedence)::

    expr     := expr ('+' | '-') expr            left associative
              | expr ('*' | '/' | '@') expr      left associative
              | ('-' | '+') expr                 unary
              | expr ('^' | '**') expr           right associative, binds tighter than unary
              | NUMBER | NAME | NAME '(' args ')' | '[' args ']' | '(' expr ')'
    args     := [expr (',' expr)*]

so ``-a ^ 2`` is ``-(a ^ 2)`` and ``a ^ -b`` is ``a ^ (-b)``.  Attribute
access, subscripts, strings, keywords and ``__dunder__`` names are not part of
the grammar and are rejected with a message saying so.

Every parse is bounded: input length, number-literal length and nesting depth
(paren levels and operator chains alike) are checked explicitly while
parsing, so work is linear in the input and Python's recursion limit is never
approached.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from .errors import BpttError

MAX_LENGTH = 2000
MAX_DEPTH = 64
MAX_NUMBER = 30
DEPTH_CEILING = 200  # parser frames stay well below Python's recursion limit

DIGITS = frozenset("0123456789")
NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | DIGITS
WHITESPACE = frozenset(" \t\r\n")
PUNCT = {"(": "(", ")": ")", "[": "[", "]": "]", ",": ",", "=": "="}
OPERATORS = ("**", "+", "-", "*", "/", "@", "^")
BINARY = {"+": (10, False), "-": (10, False), "*": (20, False), "/": (20, False),
          "@": (20, False), "^": (40, True), "**": (40, True)}
UNARY_PREC = 30
FORBIDDEN = {
    "'": "quotes are not allowed: strings are not part of cell equations",
    '"': "quotes are not allowed: strings are not part of cell equations",
    ":": "':' is not allowed: lambdas, slices and annotations are not part of cell equations",
    ";": "';' is not allowed: write one equation at a time",
    "{": "'{' is not allowed: dicts and sets are not part of cell equations",
    "}": "'}' is not allowed: dicts and sets are not part of cell equations",
    "#": "'#' is not allowed: comments are not part of cell equations",
    "\\": "'\\' is not allowed: line continuations and escapes are not part of cell equations",
}


class GrammarError(BpttError):
    """Text that does not parse; ``str(err)`` is ``line L, column C: reason``.

    Attributes
    ----------
    line, column : int
        1-based position of the offending character.
    reason : str
        What went wrong and what was expected, without the position.
    """

    def __init__(self, line: int, column: int, reason: str):
        super().__init__(f"line {line}, column {column}: {reason}")
        self.line, self.column, self.reason = line, column, reason


@dataclass(frozen=True)
class Token:
    kind: str          # "num", "name", "op", "(", ")", "[", "]", ",", "=", "end"
    text: str
    line: int
    column: int


def _meta(default: int):
    return field(default=default, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class _Node:
    """Position (1-based) and tree depth; neither takes part in ``==`` or ``repr``."""
    line: int = _meta(0)
    column: int = _meta(0)
    depth: int = _meta(1)


@dataclass(frozen=True)
class Num(_Node):
    """A number literal, kept as its source text (e.g. ``"1.5e-3"``)."""
    value: str


@dataclass(frozen=True)
class Name(_Node):
    id: str


@dataclass(frozen=True)
class UnOp(_Node):
    op: str
    operand: _Node


@dataclass(frozen=True)
class BinOp(_Node):
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class Call(_Node):
    func: str
    args: tuple


@dataclass(frozen=True)
class List(_Node):
    items: tuple


@dataclass(frozen=True)
class Assign(_Node):
    """``target = value``: the form of one cell equation."""
    target: Name
    value: _Node


# ----------------------------------------------------------------- tokenizer

class _Scanner:
    """Linear scan of ``text`` into tokens, tracking line and column."""

    def __init__(self, text: str, max_number: int):
        self.text, self.max_number = text, max_number
        self.i, self.line, self.line_start = 0, 1, 0
        self.tokens: list = []

    def col(self, i=None) -> int:
        return (self.i if i is None else i) - self.line_start + 1

    def fail(self, reason: str, i=None):
        raise GrammarError(self.line, self.col(i), reason)

    def emit(self, kind: str, start: int):
        self.tokens.append(Token(kind, self.text[start:self.i], self.line, self.col(start)))

    def after_operand(self) -> bool:
        return bool(self.tokens) and self.tokens[-1].kind in ("num", "name", ")", "]")

    def run(self) -> list:
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            if c in WHITESPACE:
                self._space(c)
            elif c in DIGITS or (c == "." and self._digit_at(self.i + 1) and not self.after_operand()):
                self._number()
            elif c in NAME_START:
                self._name()
            elif c == ".":
                self._dot()
            else:
                self._symbol(c)
        self.tokens.append(Token("end", "", self.line, self.col()))
        return self.tokens

    def _space(self, c):
        self.i += 1
        if c == "\n":
            self.line, self.line_start = self.line + 1, self.i

    def _digit_at(self, i) -> bool:
        return i < len(self.text) and self.text[i] in DIGITS

    def _digits(self, start):
        while self._digit_at(self.i):
            self.i += 1
            if self.i - start > self.max_number:
                self.fail(f"number is too long (more than {self.max_number} characters)", start)

    def _number(self):
        start, text = self.i, self.text
        self._digits(start)
        if self.i < len(text) and text[self.i] == ".":
            self.i += 1
            self._digits(start)
        if self.i < len(text) and text[self.i] in "eE":
            self.i += 1
            if self.i < len(text) and text[self.i] in "+-":
                self.i += 1
            if not self._digit_at(self.i):
                self.fail("expected digits after the exponent 'e' of a number")
            self._digits(start)
        if self.i - start > self.max_number:
            self.fail(f"number is too long (more than {self.max_number} characters)", start)
        self.emit("num", start)

    def _name(self):
        start, text = self.i, self.text
        while self.i < len(text) and text[self.i] in NAME_CHARS:
            self.i += 1
        word = text[start:self.i]
        if word.startswith("__"):
            self.fail(f"name {word!r} is not allowed: names starting with '__' are reserved", start)
        if keyword.iskeyword(word):
            self.fail(f"{word!r} is a Python keyword and is not part of cell equations", start)
        self.emit("name", start)

    def _dot(self):
        if self.tokens and self.tokens[-1].kind == "num":
            self.fail("unexpected '.'; a number has at most one decimal point")
        if self.after_operand():
            self.fail("'.' is not allowed: attribute access is not part of cell equations")
        self.fail("unexpected '.'; expected an operand (write decimals as 0.5)")

    def _symbol(self, c):
        start = self.i
        for op in OPERATORS:
            if self.text.startswith(op, start):
                self.i += len(op)
                return self.emit("op", start)
        if c in PUNCT:
            self.i += 1
            return self.emit(PUNCT[c], start)
        if c in FORBIDDEN:
            self.fail(FORBIDDEN[c])
        shown = repr(c) if c.isprintable() else f"{c!r} (U+{ord(c):04X})"
        hint = "; names use ASCII letters, digits and '_'" if c.isalpha() else ""
        self.fail(f"unexpected character {shown}{hint}")


def tokenize(text: str, *, max_length: int = MAX_LENGTH, max_number: int = MAX_NUMBER) -> list:
    """Split ``text`` into tokens, ending with an ``end`` token.

    Parameters
    ----------
    text : str
        The source text.
    max_length : int
        Longest accepted input, in characters.
    max_number : int
        Longest accepted number literal, in characters.

    Returns
    -------
    list of Token

    Raises
    ------
    GrammarError
        On characters outside the grammar or a bound exceeded.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    if len(text) > max_length:
        head = text[:max_length]
        line, column = head.count("\n") + 1, max_length - head.rfind("\n")
        raise GrammarError(line, column, f"input is too long ({len(text)} characters; "
                                         f"at most {max_length})")
    return _Scanner(text, max_number).run()


# -------------------------------------------------------------------- parser

def _describe(tok: Token) -> str:
    kinds = {"end": "end of input", "num": f"number {tok.text}", "name": f"name {tok.text!r}"}
    return kinds.get(tok.kind, repr(tok.text))


class _Parser:
    """Precedence climbing over a token list with explicit depth bounds."""

    def __init__(self, tokens: list, max_depth: int):
        self.tokens, self.k, self.max_depth, self.level = tokens, 0, max_depth, 0

    def peek(self) -> Token:
        return self.tokens[self.k]

    def advance(self) -> Token:
        tok = self.tokens[self.k]
        self.k += 1
        return tok

    def too_deep(self, tok: Token):
        raise GrammarError(tok.line, tok.column,
                           f"expression is nested too deeply (more than {self.max_depth} levels)")

    def node(self, cls, tok: Token, *args):
        kids = []
        for a in args:
            kids.extend(a if isinstance(a, tuple) else [a] if isinstance(a, _Node) else [])
        depth = 1 + max((c.depth for c in kids), default=0)
        if depth > self.max_depth:
            self.too_deep(tok)
        return cls(*args, line=tok.line, column=tok.column, depth=depth)

    def unexpected(self, tok: Token, expected: str):
        where = _describe(tok)
        if tok.kind == "[" and expected.startswith("an operator"):
            reason = "'[' after an operand is not allowed: subscripts are not part of cell equations"
        elif tok.kind in ("num", "name", "(") and expected.startswith("an operator"):
            reason = (f"unexpected {where}; expected {expected} "
                      "(implicit multiplication is not supported: write '*')")
        else:
            reason = f"unexpected {where}; expected {expected}"
        raise GrammarError(tok.line, tok.column, reason)

    def expect(self, kind: str, expected: str) -> Token:
        tok = self.peek()
        if tok.kind != kind:
            self.unexpected(tok, expected)
        return self.advance()

    def expr(self, min_prec: int = 0):
        self.level += 1
        if self.level > self.max_depth:
            self.too_deep(self.peek())
        left = self.prefix()
        while True:
            tok = self.peek()
            if tok.kind != "op" or BINARY[tok.text][0] < min_prec:
                break
            prec, right_assoc = BINARY[tok.text]
            self.advance()
            right = self.expr(prec if right_assoc else prec + 1)
            left = self.node(BinOp, tok, tok.text, left, right)
        self.level -= 1
        return left

    def prefix(self):
        tok = self.advance()
        if tok.kind == "num":
            return self.node(Num, tok, tok.text)
        if tok.kind == "name":
            if self.peek().kind == "(":
                return self.node(Call, tok, tok.text, self.items(")", self.advance()))
            return self.node(Name, tok, tok.text)
        if tok.kind == "op" and tok.text in "+-":
            return self.node(UnOp, tok, tok.text, self.expr(UNARY_PREC))
        if tok.kind == "(":
            inner = self.expr()
            self.expect(")", f"an operator or ')' to close '(' at line {tok.line}, column {tok.column}")
            return inner
        if tok.kind == "[":
            return self.node(List, tok, self.items("]", tok))
        self.unexpected(tok, "an operand")

    def items(self, close: str, opener: Token) -> tuple:
        out = []
        if self.peek().kind == close:
            self.advance()
            return ()
        what = (f"an operator, ',' or '{close}' to close '{opener.text}' "
                f"at line {opener.line}, column {opener.column}")
        while True:
            out.append(self.expr())
            tok = self.peek()
            if tok.kind == close:
                self.advance()
                return tuple(out)
            self.expect(",", what)


def _parser(text, max_length, max_depth, max_number) -> _Parser:
    if not 1 <= max_depth <= DEPTH_CEILING:
        raise ValueError(f"max_depth must be between 1 and {DEPTH_CEILING}")
    if max_length < 1 or max_number < 1:
        raise ValueError("max_length and max_number must be positive")
    return _Parser(tokenize(text, max_length=max_length, max_number=max_number), max_depth)


def parse_expression(text: str, *, max_length: int = MAX_LENGTH, max_depth: int = MAX_DEPTH,
                     max_number: int = MAX_NUMBER):
    """Parse one expression into an AST.

    Parameters
    ----------
    text : str
        Source text such as ``"tanh(W @ x + b)"``.
    max_length : int
        Longest accepted input in characters (default 2000).
    max_depth : int
        Deepest accepted nesting (default 64, at most 200); parentheses,
        calls, unary signs and operator chains each add a level.
    max_number : int
        Longest accepted number literal in characters (default 30).

    Returns
    -------
    Num, Name, UnOp, BinOp, Call or List
        An immutable tree; every node carries ``line`` and ``column``.

    Raises
    ------
    GrammarError
        With a one-line ``line L, column C: ...`` message.
    """
    parser = _parser(text, max_length, max_depth, max_number)
    if parser.peek().kind == "end":
        parser.unexpected(parser.peek(), "an expression")
    tree = parser.expr()
    parser.expect("end", "an operator or end of input")
    return tree


def parse_assignment(text: str, *, max_length: int = MAX_LENGTH, max_depth: int = MAX_DEPTH,
                     max_number: int = MAX_NUMBER) -> Assign:
    """Parse ``name = expression`` (one cell equation).

    Parameters are as for :func:`parse_expression`.

    Returns
    -------
    Assign
        ``target`` is a :class:`Name`, ``value`` the expression tree.

    Raises
    ------
    GrammarError
        When the text is not of the form ``name = expression``.
    """
    parser = _parser(text, max_length, max_depth, max_number)
    first = parser.peek()
    if first.kind != "name":
        parser.unexpected(first, "a name to define (the form is 'name = expression')")
    parser.advance()
    parser.expect("=", f"'=' after {first.text!r} (the form is 'name = expression')")
    if parser.peek().kind == "end":
        parser.unexpected(parser.peek(), "an expression after '='")
    value = parser.expr()
    parser.expect("end", "an operator or end of input")
    target = Name(first.text, line=first.line, column=first.column)
    return Assign(target, value, line=first.line, column=first.column)


def is_name(text: str) -> bool:
    """True if ``text`` is a single name the grammar accepts (not a keyword or ``__dunder``)."""
    try:
        toks = tokenize(text, max_length=200)
    except GrammarError:
        return False
    return len(toks) == 2 and toks[0].kind == "name" and toks[0].text == text


def dump(node) -> str:
    """Fully parenthesised prefix form, e.g. ``(+ a (* b c))``; handy in tests and messages."""
    out, stack = [], [node]
    while stack:  # iterative: no recursion on user-controlled depth
        item = stack.pop()
        if isinstance(item, (str, Num, Name)):
            out.append(item.value if isinstance(item, Num) else getattr(item, "id", item))
            continue
        head, kids = _head(item)
        parts = ["(" + head, *(p for kid in kids for p in (" ", kid)), ")"]
        stack.extend(reversed(parts))
    return "".join(out)


def _head(item):
    heads = {UnOp: lambda n: ("neg" if n.op == "-" else "pos", (n.operand,)),
             BinOp: lambda n: (n.op, (n.left, n.right)), Call: lambda n: ("call " + n.func, n.args),
             List: lambda n: ("list", n.items), Assign: lambda n: ("=", (n.target, n.value))}
    if type(item) not in heads:
        raise TypeError(f"not an AST node: {item!r}")
    return heads[type(item)](item)

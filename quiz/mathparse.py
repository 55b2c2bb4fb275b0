"""Tokenizer and Pratt parser for typed maths: text to a tuple tree, and back (``show``).

Input is normalised (``σ`` → sigmoid, ``−`` → ``-``, ``²`` → ``^2``,
full-width punctuation), tokenized, and parsed into tuples; implicit
multiplication is made explicit (``2x``, ``4(n+1)``, ``σ(x)(1−σ(x))``).
No SymPy here: :mod:`quiz.mathinput` builds SymPy objects from the tree.
"""
from __future__ import annotations

import re
import unicodedata

from .model import InvalidAnswer

MAX_LENGTH = 2000
MAX_DEPTH = 64
MAX_NUMBER = 30
MAX_NAMES = 50

FUNCTIONS = ("exp", "log", "ln", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "sech",
             "sigmoid", "relu", "abs")
CONSTANTS = ("e", "pi")
GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "mu", "rho", "tau", "phi", "omega")
ALIASES = {"ln": "log", "sigma": "sigmoid"}
UNICODE = {"−": "-", "–": "-", "·": "*", "×": "*", "⊙": "*", "∗": "*", "÷": "/", "σ": "sigmoid",
           "π": "pi", "²": "^2", "³": "^3", "⁴": "^4", "⁻¹": "^(-1)", "√": "sqrt", "ℯ": "e", "**": "^"}
TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")
OPS = set("+-*/^()[],")


ZH = [  # Chinese for the messages students meet most; others stay English
    (r"expected '(.)' but found (.*); check the brackets", r"缺少 '\1'（遇到了 \2）；请检查括号"),
    (r"expected a number, got an expression in (.*)", r"这里要填一个数，你写的是含 \1 的式子"),
    (r"expected a number, a name or '\(' but found (.*)", r"此处应为数字、变量名或 '('，却遇到了 \1"),
    (r"unexpected '(.*)'; check the operators and brackets", r"多余的 '\1'；请检查运算符和括号"),
    (r"expected a matrix like .*", "这里要填矩阵，例如 [[1,0],[0,1]]，或向量 [1, 2]"),
    (r"rows have different lengths .*", "各行的元素个数不同，每行要一样多"),
    (r"write (\w+)\(\.\.\.\) with parentheses.*", r"\1 后面要加括号，例如 \1(x)"),
    (r"unknown name '(.*?)'.*", r"不认识的名字 '\1'；乘积请用 * 分开，函数只支持 exp、log、sqrt、tanh、sigmoid 等"),
    (r"'(.)' is not allowed in an answer.*", r"答案中不能出现 '\1'"),
    (r"quotes are not allowed.*", "答案中不能有引号"),
    (r"the answer is empty.*", "答案为空；请输入答案"),
    (r"two numbers in a row.*", "两个数连在一起了；一个数只能有一个小数点，数之间请用 *"),
]


def _fail(msg):
    zh = None
    for pat, rep in ZH:
        if re.fullmatch(pat, msg):
            zh = re.sub(pat, rep, msg).replace("the end", "结尾")
            break
    raise InvalidAnswer(msg, zh)


def normalise(raw: str) -> str:
    """Unicode maths symbols to ASCII, full-width forms folded (NFKC after superscripts)."""
    s = raw
    for k, v in UNICODE.items():
        s = s.replace(k, v)
    return unicodedata.normalize("NFKC", s).replace("**", "^")


def tokenize(raw: str) -> list:
    """Tokens ``(kind, text)`` with kind num, name, op; anything else is refused."""
    if len(raw) > MAX_LENGTH:
        _fail(f"the answer is longer than {MAX_LENGTH} characters; shorten it")
    s, out, pos = normalise(raw).strip(), [], 0
    while pos < len(s):
        m = TOKEN.match(s, pos)
        num, name, other = m.groups()
        pos = m.end()
        if num:
            _check_number(num)
            out.append(("num", num))
        elif name:
            _check_name(name)
            out.append(("name", name))
        elif other and other in OPS:
            out.append(("op", other))
        elif other:
            _fail(_refusal(other))
    return out


def _check_number(text):
    if len(text) > MAX_NUMBER:
        _fail(f"a number has more than {MAX_NUMBER} characters; write it with an exponent, e.g. 1e-6")


def _check_name(name):
    import keyword
    if keyword.iskeyword(name):
        _fail(f"'{name}' is a programming keyword, not maths; write a formula")
    if name.startswith("__") or len(name) > 30:
        _fail(f"'{name[:30]}' is not a maths name; use letters like x, n_h, W_hh")


def _refusal(ch):
    if ch == ".":
        return "'.' after a name is not allowed: attribute access is not maths"
    if ch in "'\"":
        return "quotes are not allowed: write maths, not strings"
    if ch == "!":
        return "factorials are not supported; write the product out"
    return f"'{ch}' is not allowed in an answer; use numbers, names, + - * / ^, ( ) and [ ]"


# ------------------------------------------------------------------ parser

class _Parser:
    """Pratt parser over tokens into tuples: ("num", s) ("name", s) ("neg", a)
    ("+"|"-"|"*"|"/"|"^", a, b) ("call", f, [args]) ("list", [items])."""

    def __init__(self, tokens):
        self.toks, self.i, self.depth, self.names = tokens, 0, 0, 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text):
        tok = self.take()
        if tok != ("op", text):
            _fail(f"expected '{text}' but found {tok[1] or 'the end'}; check the brackets")

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            _fail(f"the answer is nested more than {MAX_DEPTH} levels deep; simplify it")

    def parse(self):
        if not self.toks:
            _fail("the answer is empty; type an answer")
        node = self.sum()
        if self.i != len(self.toks):
            _fail(f"unexpected '{self.peek()[1]}'; check the operators and brackets")
        return node

    def sum(self):
        node = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            node = (self.take()[1], node, self.product())
        return node

    def _starts_atom(self):
        kind, text = self.peek()
        return kind in ("num", "name") or (kind == "op" and text in "([")

    def product(self):
        node = self.unary()
        while True:
            if self.peek() in (("op", "*"), ("op", "/")):
                node = (self.take()[1], node, self.unary())
            elif self._starts_atom():
                if self.peek()[0] == "num" and self.toks[self.i - 1][0] == "num":
                    _fail(f"two numbers in a row ('{self.toks[self.i - 1][1]}' then '{self.peek()[1]}'); "
                          "use one decimal point and * between numbers")
                node = ("*", node, self.power())
            else:
                return node

    def unary(self):
        self.enter()
        if self.peek() in (("op", "-"), ("op", "+")):
            sign = self.take()[1]
            node = self.unary()
            node = ("neg", node) if sign == "-" else node
        else:
            node = self.power()
        self.depth -= 1
        return node

    def power(self):
        base = self.atom()
        if self.peek() == ("op", "^"):
            self.take()
            self.enter()
            exp = self.unary()
            self.depth -= 1
            return ("^", base, exp)
        return base

    def atom(self):
        kind, text = self.take()
        if kind == "num":
            return ("num", text)
        if kind == "name":
            return self.name(text)
        if (kind, text) == ("op", "("):
            self.enter()
            node = self.sum()
            self.expect(")")
            self.depth -= 1
            return node
        if (kind, text) == ("op", "["):
            return ("list", self.items("]"))
        _fail(f"expected a number, a name or '(' but found {text or 'the end'}")

    def items(self, close):
        self.enter()
        out = []
        if self.peek() != ("op", close):
            out.append(self.sum())
            while self.peek() == ("op", ","):
                self.take()
                out.append(self.sum())
        self.expect(close)
        self.depth -= 1
        return out

    def name(self, text):
        self.names += 1
        if self.names > MAX_NAMES:
            _fail(f"the answer uses more than {MAX_NAMES} names; simplify it")
        fname = ALIASES.get(text, text)
        if fname in FUNCTIONS:
            return self.call(fname)
        if text in CONSTANTS or text in GREEK or "_" in text or len(text) == 1 or not text.isalpha():
            return ("name", text)
        return _split_letters(text)

    def call(self, fname):
        power = None
        if self.peek() == ("op", "^"):  # tanh^2(x) means tanh(x)^2
            self.take()
            power = self.atom()
        if self.peek() != ("op", "("):
            _fail(f"write {fname}(...) with parentheses, e.g. {fname}(x)")
        self.take()
        args = self.items(")")
        if len(args) != 1:
            _fail(f"{fname} takes one argument, got {len(args)}")
        node = ("call", fname, args)
        return ("^", node, power) if power is not None else node


def _split_letters(text):
    """``ab`` is read as ``a*b`` (shown in read_as); unknown longer words are refused."""
    if len(text) > 3:
        _fail(f"unknown name '{text}'; functions allowed: {', '.join(FUNCTIONS)}; "
              "write products with * (e.g. a*b)")
    node = ("name", text[0])
    for ch in text[1:]:
        node = ("*", node, ("name", ch))
    return node


def parse(raw: str):
    """The tuple tree of ``raw``; raises :class:`InvalidAnswer`."""
    if not isinstance(raw, str):
        _fail("the answer must be text")
    return _Parser(tokenize(raw)).parse()


# ------------------------------------------------------------------ printing

PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4}


def show(node) -> str:
    """The tree as unambiguous text in the same grammar (``2*x``, ``tanh(x)^2``)."""
    tag = node[0]
    if tag in ("num", "name"):
        return node[1]
    if tag == "call":
        return f"{node[1]}({show(node[2][0])})"
    if tag == "list":
        return "[" + ", ".join(show(n) for n in node[1]) + "]"
    if tag == "neg":
        return "-" + _wrap(node[1], 3, strict=True)
    p = PREC[tag]
    left = _wrap(node[1], p, strict=tag == "^")
    right = _wrap(node[2], p, strict=tag in "-/")
    if right.startswith("-") and tag != "^":
        right = f"({right})"  # a*(-b), a - (-b): never two operators in a row
    sep = "^" if tag == "^" else f" {tag} " if p == 1 else tag
    return f"{left}{sep}{right}"


def _wrap(node, p, strict=False):
    q = PREC.get(node[0], 9)
    text = show(node)
    return f"({text})" if q < p or (strict and q == p) else text

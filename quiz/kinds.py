"""Answer kinds: how a raw answer is read (``parse``) and judged (``grade``).

Each kind works on a JSON-able *answer spec* ``{"kind": name, ...}``:

=========== ===============================================================
number      ``value``, ``rtol`` (default 1e-3), ``atol`` (default 0)
expression  ``value`` (text in the answer grammar), exact symbolic equality
matrix      ``value`` (nested lists; a vector is a flat list), ``rtol``, ``atol``
choice      ``options`` [{key, en, zh}], ``correct`` [keys], ``multiple`` bool
truefalse   ``value`` bool
text        ``accepted`` [strings, both languages]
ordering    ``items`` [{key, en, zh}], ``order`` [keys]
=========== ===============================================================
"""
from __future__ import annotations

import re
import unicodedata

from .model import InvalidAnswer, Verdict

DEFAULT_RTOL = 1e-3
MAX_ANSWER = 2000


def _say(lang, en, zh):
    return zh if lang == "zh" else en


def _check_size(raw: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidAnswer("the answer is empty; type an answer, or 'skip'", "答案为空；请输入答案，或输入 skip 跳过")
    if len(raw) > MAX_ANSWER:
        raise InvalidAnswer(f"the answer is longer than {MAX_ANSWER} characters; shorten it", f"答案超过 {MAX_ANSWER} 个字符，请精简")
    return raw.strip()


class Kind:
    """Base: ``parse(raw, spec) -> (value, read_as)``, ``grade(value, spec, lang) -> Verdict``."""
    name = ""

    def parse(self, raw, spec):
        raise NotImplementedError

    def grade(self, value, spec, lang="en") -> Verdict:
        raise NotImplementedError

    def expected(self, spec, lang="en") -> str:
        """The expected answer as a student would type it."""
        raise NotImplementedError


def _verdict(ok, lang, read_as="", score=None, why=""):
    status = "correct" if ok else "incorrect"
    fb = _say(lang, "Correct." if ok else "Not correct.", "正确。" if ok else "不正确。")
    return Verdict(status, (fb + " " + why).strip(), read_as, float(ok) if score is None else score)


def close(a: float, b: float, rtol: float, atol: float) -> bool:
    """|a - b| <= atol + rtol * |b| (b is the expected value), as numpy.isclose."""
    return abs(a - b) <= atol + rtol * abs(b)


class Number(Kind):
    name = "number"

    def parse(self, raw, spec):
        from .mathinput import read_number
        return read_number(_check_size(raw))

    def grade(self, value, spec, lang="en"):
        rtol, atol = float(spec.get("rtol", DEFAULT_RTOL)), float(spec.get("atol", 0.0))
        return _verdict(close(value, float(spec["value"]), rtol, atol), lang)

    def expected(self, spec, lang="en"):
        return f"{float(spec['value']):.6g}"


class Expression(Kind):
    name = "expression"

    def parse(self, raw, spec):
        from .mathinput import read_expression
        return read_expression(_check_size(raw))

    def grade(self, value, spec, lang="en"):
        from .mathinput import equivalent, read_expression
        expected, _ = read_expression(spec["value"])
        return _verdict(equivalent(expected, value), lang)

    def expected(self, spec, lang="en"):
        return spec["value"]


class Matrix(Kind):
    name = "matrix"

    def parse(self, raw, spec):
        from .mathinput import read_matrix
        return read_matrix(_check_size(raw))

    def grade(self, value, spec, lang="en"):
        import numpy as np
        want = np.asarray(spec["value"], dtype=float)
        if value.shape != want.shape:
            why = _say(lang, f"expected shape {want.shape}, got {value.shape}.",
                       f"形状应为 {want.shape}，你的答案是 {value.shape}。")
            return _verdict(False, lang, score=0.0, why=why)
        rtol, atol = float(spec.get("rtol", DEFAULT_RTOL)), float(spec.get("atol", 0.0))
        ok = np.abs(value - want) <= atol + rtol * np.abs(want)
        return _verdict(bool(ok.all()), lang, score=float(ok.mean()))

    def expected(self, spec, lang="en"):
        from .mathinput import format_matrix
        return format_matrix(spec["value"])


def _keys(raw: str, keys: list) -> list:
    """'b, d' / 'bd' / 'B D' / '2 4' -> ['b', 'd'] for options keyed a, b, c, ..."""
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    parts = [p for p in re.split(r"[\s,;，、]+", text) if p]
    if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha():
        parts = list(parts[0])
    out = []
    for p in parts:
        if p.isdigit() and 1 <= int(p) <= len(keys):
            p = keys[int(p) - 1]
        if p not in keys:
            raise InvalidAnswer(f"'{p}' is not one of the options {', '.join(keys)}", f"“{p}”不是选项之一（可选：{'、'.join(keys)}）")
        out.append(p)
    return out


class Choice(Kind):
    name = "choice"

    def parse(self, raw, spec):
        keys = [o["key"] for o in spec["options"]]
        picked = _keys(_check_size(raw), keys)
        if len(set(picked)) != len(picked):
            raise InvalidAnswer("an option is given twice; list each option once", "有选项重复了，每个选项只写一次")
        if not spec.get("multiple") and len(picked) != 1:
            raise InvalidAnswer("pick exactly one option, e.g. 'b'", "这是单选题，请只写一个选项，例如 b")
        return sorted(picked), ", ".join(sorted(picked))

    def grade(self, value, spec, lang="en"):
        right, picked = set(spec["correct"]), set(value)
        if not spec.get("multiple"):
            return _verdict(picked == right, lang)
        wrong = len(picked - right)
        score = max(0.0, (len(picked & right) - wrong) / len(right))
        return _verdict(picked == right, lang, score=score)

    def expected(self, spec, lang="en"):
        return ", ".join(sorted(spec["correct"]))


TRUE = {"true", "t", "yes", "y", "1", "对", "是", "正确", "真", "√", "✓"}
FALSE = {"false", "f", "no", "n", "0", "错", "否", "错误", "假", "×", "✗"}


class TrueFalse(Kind):
    name = "truefalse"

    def parse(self, raw, spec):
        word = unicodedata.normalize("NFKC", _check_size(raw)).strip().lower().rstrip(".。!！")
        if word in TRUE:
            return True, "true"
        if word in FALSE:
            return False, "false"
        raise InvalidAnswer("answer true or false (t/f, yes/no, 对/错)", "请回答 对 或 错（也可写 true/false）")

    def grade(self, value, spec, lang="en"):
        return _verdict(value == bool(spec["value"]), lang)

    def expected(self, spec, lang="en"):
        return _say(lang, "true" if spec["value"] else "false", "对" if spec["value"] else "错")


ARTICLES = re.compile(r"\b(the|a|an)\b")


def normalize_text(s: str) -> str:
    """Case, width, punctuation, articles and spacing do not matter; hyphens are spaces."""
    s = unicodedata.normalize("NFKC", s).casefold()
    s = re.sub(r"[-_/]", " ", s)
    s = "".join(c for c in s if not unicodedata.category(c).startswith("P"))
    s = ARTICLES.sub(" ", s)
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", s)


class Text(Kind):
    name = "text"

    def parse(self, raw, spec):
        s = normalize_text(_check_size(raw))
        if not s:
            raise InvalidAnswer("the answer has no words; type a word or phrase", "答案里没有文字，请输入一个词或短语")
        return s, s

    def grade(self, value, spec, lang="en"):
        return _verdict(value in {normalize_text(a) for a in spec["accepted"]}, lang)

    def expected(self, spec, lang="en"):
        han = [a for a in spec["accepted"] if re.search(r"[\u4e00-\u9fff]", a)]
        latin = [a for a in spec["accepted"] if a not in han]
        pick = (han or latin) if lang == "zh" else (latin or han)
        return pick[0]


class Ordering(Kind):
    name = "ordering"

    def parse(self, raw, spec):
        keys = [o["key"] for o in spec["items"]]
        got = _keys(_check_size(raw), keys)
        if sorted(got) != sorted(keys):
            raise InvalidAnswer(f"give every step exactly once, e.g. '{' '.join(keys)}'", f"每个步骤恰好写一次，例如 {' '.join(keys)}")
        return got, " ".join(got)

    def grade(self, value, spec, lang="en"):
        want = {k: i for i, k in enumerate(spec["order"])}
        pairs = [(a, b) for i, a in enumerate(value) for b in value[i + 1:]]
        score = sum(want[a] < want[b] for a, b in pairs) / max(1, len(pairs))
        return _verdict(list(value) == list(spec["order"]), lang, score=score)

    def expected(self, spec, lang="en"):
        return " ".join(spec["order"])


KINDS = {k.name: k() for k in (Number, Expression, Matrix, Choice, TrueFalse, Text, Ordering)}


def kind_of(spec: dict) -> Kind:
    """The kind object for an answer spec."""
    try:
        return KINDS[spec["kind"]]
    except KeyError:
        raise InvalidAnswer(f"unknown answer kind {spec.get('kind')!r}; use one of {', '.join(KINDS)}") from None


def grade_answer(spec: dict, raw: str, lang: str = "en") -> Verdict:
    """Parse and grade ``raw`` under the time limit; unreadable input gives an ``invalid`` verdict."""
    from .limits import deadline
    kind = kind_of(spec)
    try:
        with deadline():
            value, read_as = kind.parse(raw, spec)
            verdict = kind.grade(value, spec, lang)
    except InvalidAnswer as err:
        return Verdict("invalid", err.text(lang), "", 0.0)
    except (ValueError, TypeError, ArithmeticError):  # SymPy could not evaluate it (off a function's domain)
        return Verdict("invalid", _say(lang, "this answer cannot be evaluated (is a function used off its domain?); "
                                             "write it differently", "无法计算这个答案（函数是否超出了定义域？）；请换一种写法"),
                       "", 0.0)
    except (RecursionError, MemoryError, OverflowError):
        return Verdict("invalid", _say(lang, "this answer is too large to check; write it in a simpler form",
                                       "答案太大，无法检查；请写成更简单的形式"), "", 0.0)
    return Verdict(verdict.status, verdict.feedback, read_as, verdict.score)

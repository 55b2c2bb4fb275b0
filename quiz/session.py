"""The interactive quiz loop, with input and output passed in so tests can drive it.

``run(items, store, ask, say, lang, day)`` asks each question until it gets a
readable answer (or ``hint`` / ``skip`` / ``quit``), grades it, records it,
and returns the tally.  ``ask`` raising EOFError or KeyboardInterrupt ends the
session; everything graded so far is already stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .present import render
from .schedule import quality

WORDS = {
    "header": ("Question {k}/{n}  [{topic}, difficulty {d}]", "第 {k}/{n} 题  [{topic}，难度 {d}]"),
    "correct": ("✓ correct", "✓ 正确"),
    "incorrect": ("✗ not correct", "✗ 不正确"),
    "invalid": ("? could not read that: {msg} (no penalty, try again)", "? 无法识别：{msg}。不扣分，请重新输入。"),
    "read_as": ("read as: {x}", "识别为：{x}"),
    "expected": ("expected: {x}", "正确答案：{x}"),
    "solution": ("Solution: {x}", "解析：{x}"),
    "hint": ("Hint: {x}", "提示：{x}"),
    "no_hint": ("No hint for this one.", "这道题没有提示。"),
    "skipped": ("Skipped.", "已跳过。"),
    "commands": ("(type your answer, or: hint, skip, quit)", "（输入答案，或输入 hint 提示、skip 跳过、quit 退出）"),
    "summary": ("Done: {a} answered, {c} correct, {s} skipped, score {p}.",
                "结束：作答 {a} 题，答对 {c} 题，跳过 {s} 题，得分 {p}。"),
    "by_topic": ("  {t}: {c}/{a} correct", "  {t}：{a} 题中答对 {c} 题"),
    "due": ("Due for review by tomorrow: {n} (bptt quiz --review).", "到明天要复习 {n} 题（bptt quiz --review）。"),
}
HELP = {
    "number": ("a number; 1/4, 2^-3, e^-1 are fine", "一个数；可写 1/4、2^-3、e^-1"),
    "expression": ("a formula, e.g. 2x(1-x), σ(x), tanh^2(x)", "一个式子，例如 2x(1-x)、σ(x)、tanh^2(x)"),
    "matrix": ("a matrix [[a, b], [c, d]] or a vector [a, b]", "矩阵 [[a, b], [c, d]] 或向量 [a, b]"),
    "choice": ("the letter of your choice", "选项字母"),
    "multiple": ("all letters that apply, e.g. a c", "所有正确选项的字母，例如 a c"),
    "truefalse": ("true or false", "对 或 错（true/false）"),
    "text": ("a word or short phrase", "一个词或短语"),
    "ordering": ("the letters in order, e.g. c a b", "按顺序写出字母，例如 c a b"),
}
HINT, SKIP, QUIT = ("hint", "提示"), ("skip", "跳过"), ("quit", "exit", "q", "退出")


def say_in(lang, key, **kw):
    en, zh = WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


@dataclass
class Tally:
    """What happened in a session."""
    answered: int = 0
    correct: int = 0
    skipped: int = 0
    score: float = 0.0
    topics: dict = field(default_factory=dict)
    missed: list = field(default_factory=list)

    def add(self, topic, status, score):
        a, c = self.topics.get(topic, (0, 0))
        if status == "skipped":
            self.skipped += 1
            return
        self.answered += 1
        self.correct += status == "correct"
        self.score += score
        self.topics[topic] = (a + 1, c + (status == "correct"))


def _kind_help(shown, spec, lang):
    key = "multiple" if spec.get("multiple") else spec["kind"]
    en, zh = HELP[key]
    return zh if lang == "zh" else en


def show_question(k, n, q, shown, spec, lang, say):
    say("")
    say(say_in(lang, "header", k=k, n=n, topic=q.topic, d=q.difficulty))
    say(shown["text"])
    for key, text in shown["choices"]:
        say(f"  {key}) {text}")
    say(f"[{_kind_help(shown, spec, lang)}]  {say_in(lang, 'commands')}")


def ask_one(q, v, shown, ask, say, lang):
    """Read answers until one is gradable; returns (status, verdict_or_None, raw, hinted) or None on quit."""
    hinted = False
    while True:
        raw = ask("> ").strip()
        low = raw.lower()
        if low in HINT:
            hinted = True
            say(say_in(lang, "hint", x=shown["hint"]) if shown["hint"].strip() else say_in(lang, "no_hint"))
            continue
        if low in SKIP:
            return "skipped", None, raw, hinted
        if low in QUIT:
            return None
        verdict = q.grade(v, raw, lang)
        if verdict.status == "invalid":
            say(say_in(lang, "invalid", msg=verdict.feedback.rstrip("。")))
            continue
        return verdict.status, verdict, raw, hinted


def feedback(verdict, shown, status, lang, say):
    if status == "skipped":
        say(say_in(lang, "skipped"))
    else:
        say(say_in(lang, status))
        if verdict.read_as:
            say(say_in(lang, "read_as", x=verdict.read_as))
    if status != "correct":
        say(say_in(lang, "expected", x=shown["expected"]))
    say(say_in(lang, "solution", x=shown["solution"]))


def run(items, store, ask, say, lang, day) -> Tally:
    """Ask ``items`` [(question, variant)] in turn; record each answer in ``store`` at once."""
    tally = Tally()
    try:
        for k, (q, v) in enumerate(items, start=1):
            shown = render(q, v, lang, "terminal")
            show_question(k, len(items), q, shown, v.answer, lang, say)
            got = ask_one(q, v, shown, ask, say, lang)
            if got is None:
                break
            status, verdict, raw, hinted = got
            score = verdict.score if verdict else 0.0
            store.record(q, v, raw, status, score, hinted, quality(status, hinted), day)
            tally.add(q.topic, status, score)
            if status != "correct":
                tally.missed.append(q.id)
            feedback(verdict, shown, status, lang, say)
    except (EOFError, KeyboardInterrupt):
        say("")
    return tally


def summary(tally, lang, say, due=None):
    """The end-of-session report; ``due`` is how many questions are due tomorrow (default: those missed)."""
    pct = f"{100 * tally.score / tally.answered:.0f}%" if tally.answered else "–"
    say("")
    say(say_in(lang, "summary", a=tally.answered, c=tally.correct, s=tally.skipped, p=pct))
    for topic, (a, c) in sorted(tally.topics.items()):
        say(say_in(lang, "by_topic", t=topic, a=a, c=c))
    due = len(tally.missed) if due is None else due
    if due:
        say(say_in(lang, "due", n=due))

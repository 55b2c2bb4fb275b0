"""Every question's own sample answers: correct ones pass, incorrect fail, invalid are invalid.

One parametrized test over the whole built-in bank (PrairieLearn style), for
several seeds each, plus the bank's structural checks.
"""
import pytest

from quiz.bank import TOPICS, builtin
from quiz.model import LANGS
from quiz.present import render

QUESTIONS = builtin()
SEEDS = (0, 1, 7)


@pytest.mark.parametrize("q", QUESTIONS, ids=[q.id for q in QUESTIONS])
@pytest.mark.parametrize("seed", SEEDS)
def test_samples_grade_as_labelled(q, seed):
    v = q.generate(seed)
    assert v.samples.get("correct"), f"{q.id} has no correct sample"
    assert v.samples.get("incorrect") or v.answer["kind"] == "truefalse", f"{q.id} has no incorrect sample"
    for status in ("correct", "incorrect", "invalid"):
        for raw in v.samples.get(status, []):
            got = q.grade(v, raw)
            assert got.status == status, f"{q.id} seed {seed}: {raw!r} graded {got.status}: {got.feedback}"


@pytest.mark.parametrize("q", QUESTIONS, ids=[q.id for q in QUESTIONS])
def test_renders_in_both_languages_and_expected_is_correct(q):
    v = q.generate(3)
    for lang in LANGS:
        for target in ("terminal", "latex"):
            out = render(q, v, lang, target)
            assert out["text"].strip() and out["solution"].strip()
        assert q.grade(v, out["expected"], lang).status == "correct"


def test_variants_are_reproducible_and_json():
    for q in QUESTIONS:
        a, b = q.generate(11), q.generate(11)
        assert a.dumps() == b.dumps()


def test_bank_covers_topics_and_ids_are_unique():
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    assert {q.topic for q in QUESTIONS} <= set(TOPICS)


def test_example_user_bank_samples_pass():
    from pathlib import Path
    from quiz.bank import load_bank
    qs = load_bank(Path(__file__).parents[1] / "quiz" / "examples" / "my_bank.yaml")
    assert len(qs) == 3
    for q in qs:
        for seed in SEEDS:
            v = q.generate(seed)
            for status in ("correct", "incorrect", "invalid"):
                for raw in v.samples.get(status, []):
                    assert q.grade(v, raw).status == status, (q.id, raw)
    assert isinstance(qs[0].generate(1).answer["rtol"], float)


@pytest.mark.parametrize("text, message", [
    ("- id: [unclosed\n", "not valid YAML"),
    ("{}", "non-empty YAML list"),
    ("- id: a\n  topic: lstm\n  text: x\n  solution: y\n", "exactly one of 'answer' or 'generator'"),
    ("- id: a\n  topic: nope\n  text: x\n  solution: y\n  answer: {kind: number, value: 1}\n", "unknown topic"),
    ("- id: a\n  topic: lstm\n  text: x\n  solution: y\n  answer: {kind: essay, value: 1}\n", "unknown answer kind"),
    ("- id: a\n  topic: lstm\n  text: x\n  solution: y\n  generator: {name: nope}\n", "unknown generator"),
    ("- id: a\n  topic: lstm\n  text: x\n  solution: y\n  answer: {kind: number, value: 1, rtol: tiny}\n", "rtol must be a number"),
    ("- id: a\n  topic: lstm\n  text: x\n  solution: y\n  answer: {kind: choice, options: [{key: a, en: A, zh: A}], correct: [b]}\n",
     "correct keys"),
    ("- id: a\n  topic: lstm\n  text: {en: x}\n  solution: y\n  answer: {kind: number, value: 1}\n", "'zh'"),
    ("- id: a\n  topic: lstm\n  text: x\n  solution: y\n  answer: {kind: number, value: 1}\n"
     "- id: a\n  topic: lstm\n  text: x\n  solution: y\n  answer: {kind: number, value: 1}\n", "appears twice"),
])
def test_broken_banks_name_the_problem(text, message):
    from quiz.bank import BankError, parse_bank
    with pytest.raises(BankError, match=message):
        parse_bank(text, "my.yaml")


def test_bad_expr_in_bank_is_reported_and_templates_are_sandboxed():
    from quiz.bank import BankError, parse_bank
    from derive.errors import BpttError
    q = parse_bank("- id: a\n  topic: lstm\n  text: x\n  solution: y\n  params: {a: 2}\n"
                   "  answer: {kind: number, expr: '__import__(1)'}\n", "my.yaml")[0]
    with pytest.raises(BankError, match="answer expr"):
        q.generate(0)
    q = parse_bank("- id: b\n  topic: lstm\n  text: \"{{ ''.__class__.__mro__ }}\"\n  solution: y\n"
                   "  answer: {kind: number, value: 1}\n", "my.yaml")[0]
    with pytest.raises(BpttError):
        render(q, q.generate(0), "en")


def test_terminal_text_has_no_leftover_latex_commands():
    import re
    left = set()
    for q in QUESTIONS:
        for lang in LANGS:
            r = render(q, q.generate(2), lang, "terminal")
            for text in [r["text"], r["hint"], r["solution"]] + [c for _, c in r["choices"]]:
                left.update(re.findall(r"\\[A-Za-z]+", text))
    assert not left


def test_terminal_fractions_and_arrows():
    from quiz.present import terminal_text
    assert terminal_text(r"$\frac{\partial h_j}{\partial h_{j-1}}$, $f \leftrightarrow z$, $\tfrac14$") == \
        "∂h_j/∂h_{j-1}, f ↔ z, 1/4"

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

"""The question model: a question, one generated variant of it, and a verdict.

A :class:`Question` is data (texts as Jinja templates in English and Chinese,
tags, an answer spec) plus a *maker* that turns a ``numpy.random.Generator``
into a :class:`Variant`: the generated parameters, the expected answer and the
variant's own sample answers.  Grading goes through the answer kind named by
the spec (:mod:`quiz.kinds`); user text is never evaluated.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from derive.errors import BpttError

LANGS = ("en", "zh")
STATUSES = ("correct", "incorrect", "invalid")


class InvalidAnswer(BpttError):
    """An answer that could not be read; costs the student nothing.

    ``str(err)`` is the English message; ``err.text("zh")`` the Chinese one when given.
    """

    def __init__(self, en: str, zh: str | None = None):
        super().__init__(en)
        self.zh = zh

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" and self.zh else str(self)


@dataclass(frozen=True)
class Verdict:
    """The result of grading one answer.

    Attributes
    ----------
    status : str
        ``"correct"``, ``"incorrect"`` or ``"invalid"`` (unreadable: re-ask, no penalty).
    feedback : str
        One or two sentences for the student.
    read_as : str
        How the input was read (e.g. ``2*x`` for ``2x``); empty when not applicable.
    score : float
        Credit in [0, 1]; partial for multiple choice, ordering and matrices.
    """
    status: str
    feedback: str = ""
    read_as: str = ""
    score: float = 0.0

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def to_json(self) -> dict:
        return {"correct": self.correct, "status": self.status, "feedback": self.feedback,
                "read_as": self.read_as, "score": round(self.score, 6)}


@dataclass(frozen=True)
class Variant:
    """One generated instance of a question; everything needed to show and grade it again.

    ``params`` are what the templates show, ``answer`` is the answer spec
    (``{"kind": ..., ...}``, JSON-able), ``samples`` maps ``correct`` /
    ``incorrect`` / ``invalid`` to example answers for the self-test.
    """
    qid: str
    seed: int
    params: dict
    answer: dict
    samples: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"qid": self.qid, "seed": self.seed, "params": self.params,
                "answer": self.answer, "samples": self.samples}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict) -> "Variant":
        return cls(data["qid"], int(data["seed"]), data["params"], data["answer"], data.get("samples", {}))


Maker = Callable[..., dict]  # maker(rng) -> {"params": ..., "answer": ..., "samples": ...}


@dataclass(frozen=True)
class Question:
    """A question: texts, tags and a maker of variants.

    Attributes
    ----------
    id : str
        Stable identifier, ``topic.name`` (used by progress, exports and GUIDs).
    topic : str
        One of the topics in :data:`quiz.bank.TOPICS`.
    cells : tuple of str
        Cells the question is about (``rnn``, ``lstm``, ``gru``); may be empty.
    difficulty : int
        1 (recall) to 3 (multi-step computation).
    text, hint, solution : dict
        ``{"en": jinja, "zh": jinja}``; inline maths in ``$...$`` (LaTeX).
    kind : str
        The answer kind (:data:`quiz.kinds.KINDS`).
    maker : callable
        ``maker(rng) -> {"params", "answer", "samples"}``.
    """
    id: str
    topic: str
    cells: tuple
    difficulty: int
    text: dict
    hint: dict
    solution: dict
    kind: str
    maker: Maker
    source: str = "builtin"

    def generate(self, rng_or_seed) -> Variant:
        """A variant from a ``numpy.random.Generator`` (or an int seed, which makes one)."""
        import numpy as np
        seed = rng_or_seed if isinstance(rng_or_seed, int) else int(rng_or_seed.integers(0, 2**31 - 1))
        made = self.maker(np.random.default_rng(seed))
        return Variant(self.id, seed, made["params"], made["answer"], made.get("samples", {}))

    def parse(self, raw: str, variant: Variant):
        """The answer read into a value of the variant's kind; raises :class:`InvalidAnswer`."""
        from .kinds import kind_of
        return kind_of(variant.answer).parse(raw, variant.answer)

    def grade(self, variant: Variant, raw: str, lang: str = "en") -> Verdict:
        """Grade ``raw`` against ``variant`` (bounded in time; never raises on bad input)."""
        from .kinds import grade_answer
        return grade_answer(variant.answer, raw, lang)

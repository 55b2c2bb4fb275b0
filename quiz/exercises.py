"""Pick and render exercises for documents (handouts, sheets, exports).

Everything is decided by the seed: the same arguments give the same
questions, variants and texts.
"""
from __future__ import annotations

import zlib

import numpy as np


def seed_for(*parts) -> int:
    """A stable 31-bit seed from strings/ints (crc32, not Python's salted ``hash``)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode("utf-8")) & 0x7FFFFFFF


def choose(questions, n: int, rng: np.random.Generator) -> list:
    """``n`` distinct questions (all of them when ``n`` is larger), in a random but stable order."""
    qs = list(questions)
    idx = rng.permutation(len(qs))[: max(0, n)]
    return [qs[int(i)] for i in idx]


def make_variants(questions, rng: np.random.Generator) -> list:
    """One variant per question, each from its own child seed."""
    return [(q, q.generate(rng)) for q in questions]


def rendered(pairs, lang: str, target: str) -> list:
    """Dicts for templates: ``qid``, ``number``, ``text``, ``choices``, ``expected``, ``solution``, ``hint``, ``kind``."""
    from .present import render
    out = []
    for k, (q, v) in enumerate(pairs, start=1):
        out.append(dict(render(q, v, lang, target), qid=q.id, number=k, topic=q.topic, variant=v.to_json()))
    return out


def for_cells(cells, n: int, seed: int, lang: str, target: str, bank=None) -> list:
    """``n`` rendered exercises about ``cells`` (plus cell-independent ones), for a handout.

    Questions tagged with one of ``cells`` come first; untagged ones fill up.
    """
    from .bank import builtin
    qs = list(bank if bank is not None else builtin())
    rng = np.random.default_rng(seed_for("exercises", seed, *cells))
    tagged = [q for q in qs if set(q.cells) & set(cells)]
    other = [q for q in qs if not q.cells]
    picked = choose(tagged, n, rng)
    picked += choose(other, n - len(picked), rng)
    return rendered(make_variants(picked, rng), lang, target)

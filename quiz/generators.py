"""Computational question generators, registered by name for banks to use.

A generator is ``fn(rng, **options) -> {"params", "answer", "samples"}``:
it draws numbers with the ``numpy.random.Generator`` it is given (never the
global RNG), computes the answer with the derive engine or NumPy, and
returns plain JSON-able data.  It writes no markup: the bank's Jinja text
formats the numbers.
"""
from __future__ import annotations

GENERATORS: dict = {}
GENERATOR_KINDS: dict = {}


def generator(name: str, kind: str):
    """Register ``fn`` under ``name``; ``kind`` is the answer kind it produces."""
    def wrap(fn):
        GENERATORS[name] = fn
        GENERATOR_KINDS[name] = kind
        return fn
    return wrap

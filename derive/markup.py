"""Markup (prose with inline LaTeX between ``$``) to Unicode for the terminal; no SymPy, so the quiz starts fast."""
from __future__ import annotations

import re

_TEX_TEXT = [
    (r"\\operatorname\{(\w+)\}", r"\1"), (r"\\mathbb\{1\}", "1"), (r"\\mathbf\{1\}", "1"),
    (r"\\bar\{(\w)\}", "\\1\u0304"), (r"\\dot\{(\w)\}", "\\1\u0307"), (r"\\tilde\{(\w)\}", "\\1\u0303"),
    (r"\^\{\\top\}", "ᵀ"), (r"\^\{\\odot 2\}", "⊙²"), (r"\^2", "²"), (r"\^\{(\w)\}", r"^\1"),
    (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2"), (r"\\lVert ?", "‖"), (r" ?\\rVert", "‖"),
    (r"\\tanh", "tanh"), (r"\\log", "log"), (r"\\sigma", "σ"), (r"\\gamma", "γ"), (r"\\delta", "δ"),
    (r"\\partial ?", "∂"), (r"\\odot", "⊙"), (r"\\times", "×"), (r"\\le", "≤"), (r"\\ge", "≥"),
    (r"\\sum", "Σ"), (r"\\prod", "∏"), (r"\\approx", "≈"), (r"\\ldots", "…"), (r"'", "′"), (r" - ", " − "),
    (r"\^\{([^{}]*)\}", r"^(\1)"), (r"‖_2", "‖₂"),
]


def tex_to_text(markup: str) -> str:
    """Unicode for markup: math between ``$`` is rewritten, prose kept."""
    parts = markup.split("$")
    for k in range(1, len(parts), 2):
        s = parts[k]
        for pat, rep in _TEX_TEXT:
            s = re.sub(pat, rep, s)
        parts[k] = s
    return "".join(parts)


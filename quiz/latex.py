"""Compile LaTeX to PDF with latexmk + xelatex, reproducibly, with one-line errors.

``SOURCE_DATE_EPOCH=0`` and ``FORCE_SOURCE_DATE=1`` fix the dates xelatex
writes; the PDF ID is derived from the content.  The PDF is written
atomically; on failure the ``.tex`` is kept next to the requested output
and the first TeX error line is shown.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from derive.errors import BpttError

PACKAGES = "texlive-xetex texlive-lang-chinese texlive-fonts-recommended fonts-noto-cjk latexmk"
TIMEOUT = 300


def tex_available() -> bool:
    return bool(shutil.which("latexmk") and shutil.which("xelatex"))


def _require_tex():
    if not tex_available():
        raise BpttError("latexmk and xelatex are not installed; install them with "
                        f"'sudo apt-get install {PACKAGES}', or use --format tex to write the LaTeX source")


def first_error(log: str) -> str:
    """The first ``! ...`` line of a TeX log (with its ``l.N`` line when present)."""
    lines = log.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("!"):
            where = next((m.group(0) for m in (re.match(r"l\.\d+", x) for x in lines[k + 1:k + 8]) if m), "")
            return f"{line.strip()} {where}".strip()
    return "see the log for details"


def _env():
    env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "0"), FORCE_SOURCE_DATE="1")
    env.pop("TEXINPUTS", None)
    return env


def run_latexmk(tex: str, workdir: Path, files: dict | None = None, name: str = "doc") -> Path:
    """Compile ``tex`` inside ``workdir`` (with extra ``files``); returns the PDF path there."""
    _require_tex()
    for fname, data in (files or {}).items():
        (workdir / fname).write_bytes(data)
    (workdir / f"{name}.tex").write_text(tex, encoding="utf-8")
    cmd = ["latexmk", "-xelatex", "-interaction=nonstopmode", "-halt-on-error",
           f"{name}.tex"]
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BpttError(f"LaTeX did not finish within {TIMEOUT} s") from None
    pdf = workdir / f"{name}.pdf"
    if proc.returncode != 0 or not pdf.exists():
        log = (workdir / f"{name}.log")
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else proc.stdout
        raise BpttError(f"LaTeX failed: {first_error(text)}")
    return pdf


def compile_pdf(tex: str, out_pdf, files: dict | None = None) -> None:
    """Compile ``tex`` to ``out_pdf``; on failure keep ``<out_pdf>.tex`` and raise one line."""
    from derive.arrays_io import write_bytes
    out_pdf = Path(out_pdf)
    with tempfile.TemporaryDirectory(prefix="bptt-tex-") as tmp:
        try:
            pdf = run_latexmk(tex, Path(tmp), files)
        except BpttError as err:
            kept = out_pdf.with_suffix(".tex")
            if tex_available():
                write_bytes(kept, tex.encode("utf-8"))
                raise BpttError(f"{err}; the LaTeX source is kept in {kept}") from None
            raise
        write_bytes(out_pdf, pdf.read_bytes())

"""Compile LaTeX to PDF with latexmk + xelatex, reproducibly, with one-line errors.

``SOURCE_DATE_EPOCH=0`` and ``FORCE_SOURCE_DATE=1`` fix the dates xelatex
writes, and xdvipdfmx then derives the PDF ID from them and the content, so
the same source gives the same bytes.  The PDF is written atomically; on
failure the ``.tex`` (and the files it includes) is kept next to the
requested output and the first TeX error line is shown.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from derive.errors import BpttError

PACKAGES = "texlive-xetex texlive-lang-chinese fonts-noto-cjk latexmk"
TIMEOUT = 300  # seconds for the whole latexmk run


def tex_available() -> bool:
    return bool(shutil.which("latexmk") and shutil.which("xelatex"))


def _require_tex():
    if not tex_available():
        raise BpttError("latexmk and xelatex are not installed; install them with "
                        f"'sudo apt-get install {PACKAGES}', or use --format tex to write the LaTeX source")


def first_error(log: str) -> str:
    """The first ``! ...`` line of a TeX log, with its ``l.N <text up to the error>`` line when present."""
    lines = log.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("!"):
            where = next((x.strip() for x in lines[k + 1:k + 8] if re.match(r"l\.\d+ ", x)), "")
            where = where if len(where) <= 90 else where[:45] + " ... " + where[-40:]
            return f"{line.strip()} {where}".strip()
    return "see the log for details"


def _env():
    env = dict(os.environ, SOURCE_DATE_EPOCH=os.environ.get("SOURCE_DATE_EPOCH", "0"), FORCE_SOURCE_DATE="1")
    env.pop("TEXINPUTS", None)
    return env


def _place(files: dict | None, folder: Path) -> None:
    """Write ``files`` (relative POSIX names, subfolders allowed) under ``folder``."""
    from derive.arrays_io import write_bytes
    for fname, data in sorted((files or {}).items()):
        rel = PurePosixPath(fname)
        if rel.is_absolute() or ".." in rel.parts:
            raise BpttError(f"bad file name for LaTeX: {fname!r} (use a relative path inside the document folder)")
        target = folder.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(str(target), data)


def _latexmk(cmd, workdir) -> tuple:
    """Run latexmk in its own process group, so a timeout also stops the xelatex it started."""
    with subprocess.Popen(cmd, cwd=workdir, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True) as proc:
        try:
            out, _ = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise BpttError(f"LaTeX did not finish within {TIMEOUT} s") from None
    return proc.returncode, out


def run_latexmk(tex: str, workdir: Path, files: dict | None = None, name: str = "doc") -> Path:
    """Compile ``tex`` inside ``workdir`` (with extra ``files``); returns the PDF path there."""
    _require_tex()
    _place(files, workdir)
    (workdir / f"{name}.tex").write_text(tex, encoding="utf-8")
    code, out = _latexmk(["latexmk", "-xelatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                         workdir)
    pdf = workdir / f"{name}.pdf"
    if code != 0 or not pdf.exists():
        log = workdir / f"{name}.log"
        err = first_error(log.read_text(encoding="utf-8", errors="replace") if log.exists() else out)
        hint = " (install fonts-noto-cjk)" if "cannot be found" in err and "CJK" in err else ""
        raise BpttError(f"LaTeX failed: {err}{hint}")
    return pdf


def compile_pdf(tex: str, out_pdf, files: dict | None = None) -> None:
    """Compile ``tex`` to ``out_pdf`` (written atomically).

    Parameters
    ----------
    tex : str
        A complete xelatex document.
    out_pdf : str or Path
    files : dict, optional
        Relative file name -> bytes the document includes (figures), placed next to it.

    Raises
    ------
    BpttError
        One line: TeX missing (naming the Debian packages), a timeout, or the first ``!`` line of
        the log; then ``<out_pdf stem>.tex`` and ``files`` are kept next to ``out_pdf``.
    """
    from derive.arrays_io import write_bytes
    out_pdf = Path(out_pdf)
    with tempfile.TemporaryDirectory(prefix="bptt-tex-") as tmp:
        try:
            pdf = run_latexmk(tex, Path(tmp), files)
        except BpttError as err:
            if not tex_available():
                raise
            kept = out_pdf.with_suffix(".tex")
            _place(files, kept.parent)
            write_bytes(str(kept), tex.encode("utf-8"))
            raise BpttError(f"{err}; the LaTeX source is kept in {kept}") from None
        write_bytes(str(out_pdf), pdf.read_bytes())

"""``bptt sheets`` (one exam PDF per student, with a key) and ``bptt mark``."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import click

from derive.errors import BpttError

WORDS = {
    "title": ("RNN exercises", "循环神经网络练习"),
    "instructions": ("Write each answer on its line. Numbers to 4 significant figures; formulas as you would type "
                     "them (e.g. 2x(1-x), sigmoid(x)); choices as letters.",
                     "把答案写在横线上。数值保留 4 位有效数字；式子按键盘输入的写法（如 2x(1-x)、sigmoid(x)）；选择题写字母。"),
    "answer": ("Answer:", "答："),
    "key": ("Answer key", "参考答案"),
    "key_sub": ("seed {seed}, {n} questions per student", "随机种子 {seed}，每人 {n} 题"),
}
KEPT_SOURCES = ("sheets.tex", "key.tex")  # what a failed LaTeX run leaves for the teacher to inspect


def _w(key, lang, **kw):
    en, zh = WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


def _who(s):
    from .present import LATEX_PROSE
    esc = lambda t: "".join(LATEX_PROSE.get(c, c) for c in t)
    return esc(f"{s.name} ({s.id})" if s.name else s.id)


# ---------------------------------------------------------------- the output folder

def _check_dir(out: Path):
    """-o may be new, empty, an earlier sheets folder (has key.csv), or hold only a failed run's sources."""
    if out.exists() and not out.is_dir():
        raise BpttError(f"{out} is a file; -o must name a folder for the sheets")
    names = {p.name for p in out.iterdir()} if out.is_dir() else set()
    if names and "key.csv" not in names and not names <= set(KEPT_SOURCES):
        raise BpttError(f"{out} is not empty and holds no earlier sheets (no key.csv); choose an empty or new folder")


def _previous_outputs(out: Path) -> list:
    """Files an earlier ``bptt sheets`` wrote here, key.csv (the mark of a complete set) first."""
    from .sheets import previous_ids
    names = ["key.csv", "key.pdf", *KEPT_SOURCES] + [f"{sid}.pdf" for sid in previous_ids(out / "key.csv")]
    return [out / n for n in names if (out / n).is_file()]


def _commit(out: Path, files: dict):
    """Replace earlier outputs by ``files`` (name -> bytes), key.csv last; on failure remove what was written."""
    from derive.arrays_io import write_bytes
    try:
        out.mkdir(parents=True, exist_ok=True)
        for p in _previous_outputs(out):
            p.unlink()
    except OSError as err:
        raise BpttError(f"cannot prepare {out} ({err.strerror}); choose a writable folder") from None
    written = []
    try:
        for name in sorted(files, key=lambda n: n == "key.csv"):
            write_bytes(str(out / name), files[name])
            written.append(out / name)
    except BpttError:
        for p in written:
            p.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- PDFs

def _try_latex(tex: str, name: str) -> tuple:
    """(PDF path in a temporary folder, None) or (None, the one-line error)."""
    import shutil
    from .latex import run_latexmk
    tmp = Path(tempfile.mkdtemp(prefix="bptt-sheets-"))
    try:
        return run_latexmk(tex, tmp, name=name), None
    except BpttError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        return None, err


def _compile(sheet_tex: str, key_tex: str, n_students: int, out: Path) -> tuple:
    """(per-student PDF bytes, key PDF bytes): both documents compiled side by side (2 CPUs).

    On a LaTeX failure the failing ``.tex`` is kept in ``out`` and the error names it.
    """
    import shutil
    from concurrent.futures import ThreadPoolExecutor
    from .latex import _require_tex
    _require_tex()
    if not (shutil.which("pdfseparate") and shutil.which("pdfunite")):
        raise BpttError("pdfseparate and pdfunite are missing; install poppler-utils, or use --format tex")
    docs = {"sheets": sheet_tex, "key": key_tex}
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(docs, pool.map(lambda name: _try_latex(docs[name], name), docs)))
    try:
        failed = [name for name, (_, err) in done.items() if err]
        if failed:
            _commit(out, {f"{name}.tex": docs[name].encode("utf-8") for name in failed})
            kept = " and ".join(str(out / f"{name}.tex") for name in failed)
            raise BpttError(f"{done[failed[0]][1]}; the LaTeX source is kept in {kept}")
        return _split(done["sheets"][0], n_students), fixed_id(done["key"][0].read_bytes())
    finally:
        for pdf, _ in done.values():
            if pdf is not None:
                shutil.rmtree(pdf.parent, ignore_errors=True)


def _split(pdf: Path, n_students: int) -> list:
    """One PDF per student from the page where its ``BPTTSHEET`` mark was logged to the next one."""
    from concurrent.futures import ThreadPoolExecutor
    work = pdf.parent
    log = (work / "sheets.log").read_text(encoding="utf-8", errors="replace")
    starts = [int(m) for m in re.findall(r"BPTTSHEET:(\d+)", log)][-n_students:]
    total = int(re.search(r"Pages:\s+(\d+)", _run(["pdfinfo", str(pdf)])).group(1))
    if len(starts) != n_students:
        raise BpttError(f"found {len(starts)} sheet starts for {n_students} students in the LaTeX log; "
                        "use --format tex and compile by hand")
    _run(["pdfseparate", str(pdf), str(work / "p-%d.pdf")])
    ranges = list(zip(starts, starts[1:] + [total + 1]))
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(lambda kr: _unite(work, kr[0], *kr[1]), enumerate(ranges)))


def _unite(work: Path, k: int, first: int, end: int) -> bytes:
    pages = [str(work / f"p-{i}.pdf") for i in range(first, end)]
    target = work / f"s-{k}.pdf"
    if len(pages) == 1:
        return fixed_id(Path(pages[0]).read_bytes())
    _run(["pdfunite", *pages, str(target)])
    return fixed_id(target.read_bytes())


def _run(cmd) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise BpttError(f"{cmd[0]} failed: {(proc.stderr.strip().splitlines() or ['no message'])[0]}")
    return proc.stdout


PDF_ID = re.compile(rb"/ID \[\s*(?:\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>)\s*(?:\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>)\s*\]",
                    re.S)


def fixed_id(pdf: bytes) -> bytes:
    """Replace the trailer's file /ID (random in poppler's output) by a hash of the content."""
    import hashlib
    digest = hashlib.md5(PDF_ID.sub(b"", pdf)).hexdigest().encode()
    return PDF_ID.sub(b"/ID [<" + digest + b"><" + digest + b">]", pdf, count=1)


# ---------------------------------------------------------------- commands

def _render(name, ctx):
    from .handout_render import _source, tex_env
    return tex_env().from_string(_source(name)).render(**ctx)


def _blocks(students, qs, n, seed, lang):
    """Template blocks per student (precomputed strings) and the key rows."""
    from .handout import _expected
    from .handout_text import kind_label
    from .sheets import key_rows, student_items
    blocks, rows = [], []
    for s in students:
        items = student_items(qs, s, n, seed, lang)
        for it in items:
            it.update(kind_label=kind_label(it["variant"]["answer"], lang),
                      expected_shown=_expected(it["expected"], "latex"), qid_shown=_expected(it["qid"], "latex"))
        blocks.append({"title": _w("title", lang), "who": _who(s), "questions": items})
        rows += key_rows(s, items)
    return blocks, rows


@click.command("sheets")
@click.option("--roster", required=True, type=click.Path(dir_okay=False), help="CSV with columns id,name.")
@click.option("--n", "n", type=click.IntRange(min=1, max=100), default=10, show_default=True, help="Questions per student.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--topic", help="Only questions on this topic.")
@click.option("--bank", type=click.Path(dir_okay=False), help="Use your own YAML bank.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "tex"]), default="pdf", show_default=True,
              help="pdf: one PDF per student and key.pdf; tex: the LaTeX sources only.")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False), help="Output folder.")
def sheets_cmd(roster, n, seed, lang, topic, bank, fmt, out):
    """One exam sheet per student, each with its own questions and numbers, and the answer key.

    A student's sheet depends only on --seed and the student's id, so it can
    be regenerated. Writes <id>.pdf per student, key.pdf and key.csv (for
    bptt mark) into the folder, replacing an earlier set there; key.csv is
    written last, so a folder without it is not a complete set. If LaTeX
    fails, its first error is shown and the .tex is kept in the folder.
    """
    from .bank import builtin, load_bank, select
    from .sheets import key_csv, read_roster
    students = read_roster(roster)
    qs = select(load_bank(bank) if bank else builtin(), topic=topic)
    out = Path(out)
    _check_dir(out)
    blocks, rows = _blocks(students, qs, n, seed, lang)
    common = {"zh": lang == "zh", "instructions": _w("instructions", lang), "answer_label": _w("answer", lang)}
    sheet_tex = _render("sheet.tex.j2", dict(common, students=blocks))
    key_tex = _render("key.tex.j2", dict(common, students=blocks, title=_w("key", lang),
                                         subtitle=_w("key_sub", lang, seed=seed, n=n)))
    if fmt == "tex":
        files = {"sheets.tex": sheet_tex.encode("utf-8"), "key.tex": key_tex.encode("utf-8")}
    else:
        pdfs, key_pdf = _compile(sheet_tex, key_tex, len(students), out)
        files = dict({f"{s.id}.pdf": data for s, data in zip(students, pdfs)}, **{"key.pdf": key_pdf})
    _commit(out, dict(files, **{"key.csv": key_csv(rows)}))
    click.echo(f"wrote {len(students)} sheets and the key to {out}")


@click.command("mark")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False), help="key.csv written by bptt sheets.")
@click.option("--responses", required=True, type=click.Path(dir_okay=False),
              help="CSV with columns student_id,question,answer.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("-o", "--output", required=True, help="grades.csv; the per-question summary goes to <name>_summary.csv.")
def mark_cmd(key_path, responses, lang, output):
    """Mark students' responses with the quiz's graders (partial credit where the kind allows it).

    Writes one row per student (score per question, total) and a summary per
    question id for the teacher (mean score, number correct, most common wrong
    answer), which is also printed. Unreadable answers score 0.
    """
    from derive.arrays_io import write_bytes
    from .sheets import grades_csv, mark, read_key, read_responses, summary_csv, summary_rows
    key = read_key(key_path)
    marks = mark(key, read_responses(responses, key), lang)
    rows = summary_rows(marks)
    summary = f"{os.path.splitext(output)[0]}_summary.csv"
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise BpttError(f"cannot write {output}: its folder does not exist; create it or choose another -o")
    write_bytes(summary, summary_csv(rows))
    try:
        write_bytes(output, grades_csv(marks))
    except BpttError:
        os.remove(summary)
        raise
    for r in rows:
        click.echo(f"{r['qid']}: mean {r['mean_score']:.2f} over {r['students']}, {r['correct']} correct"
                   + (f", most common wrong answer {r['most_common_wrong']!r}" if r["most_common_wrong"] else ""))
    click.echo(f"wrote {output} and {summary}")

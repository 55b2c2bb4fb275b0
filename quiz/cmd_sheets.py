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


def _w(key, lang, **kw):
    en, zh = WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


def _who(s):
    from .present import LATEX_PROSE
    esc = lambda t: "".join(LATEX_PROSE.get(c, c) for c in t)
    return esc(f"{s.name} ({s.id})" if s.name else s.id)


def _prepare_dir(out: Path):
    if out.exists() and not out.is_dir():
        raise BpttError(f"{out} is a file; -o must name a folder for the sheets")
    if out.is_dir() and any(out.iterdir()) and not (out / "key.csv").exists():
        raise BpttError(f"{out} is not empty and holds no earlier sheets (no key.csv); choose an empty or new folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BpttError(f"cannot create {out} ({err.strerror}); choose a writable folder") from None
    if not os.access(out, os.W_OK):
        raise BpttError(f"{out} is not writable; choose another folder")


def _split(pdf: Path, starts: list, total: int, workdir: Path) -> list:
    """Page ranges [start, next start) of ``pdf`` as separate PDFs (poppler's pdfseparate + pdfunite)."""
    subprocess.run(["pdfseparate", str(pdf), str(workdir / "p-%d.pdf")], check=True, capture_output=True)
    ends = starts[1:] + [total + 1]
    out = []
    for k, (a, b) in enumerate(zip(starts, ends)):
        pages = [str(workdir / f"p-{i}.pdf") for i in range(a, b)]
        target = workdir / f"s-{k}.pdf"
        if len(pages) == 1:
            target.write_bytes(Path(pages[0]).read_bytes())
        else:
            subprocess.run(["pdfunite", *pages, str(target)], check=True, capture_output=True)
        out.append(fixed_id(target.read_bytes()))
    return out


PDF_ID = re.compile(rb"/ID \[\s*(?:\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>)\s*(?:\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>)\s*\]",
                    re.S)


def fixed_id(pdf: bytes) -> bytes:
    """Replace the trailer's file /ID (random in poppler's output) by a hash of the content."""
    import hashlib
    digest = hashlib.md5(PDF_ID.sub(b"", pdf)).hexdigest().encode()
    return PDF_ID.sub(b"/ID [<" + digest + b"><" + digest + b">]", pdf, count=1)


def _compile_sheets(tex: str, n_students: int) -> list:
    import shutil
    from .latex import run_latexmk
    if not (shutil.which("pdfseparate") and shutil.which("pdfunite")):
        raise BpttError("pdfseparate and pdfunite are missing; install poppler-utils, or use --format tex")
    with tempfile.TemporaryDirectory(prefix="bptt-sheets-") as tmp:
        work = Path(tmp)
        pdf = run_latexmk(tex, work, name="sheets")
        log = (work / "sheets.log").read_text(encoding="utf-8", errors="replace")
        starts = [int(m) for m in re.findall(r"BPTTSHEET:(\d+)", log)][-n_students:]
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        total = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        return _split(pdf, starts, total, work)


def _render(name, ctx):
    from .handout_render import _source, tex_env
    return tex_env().from_string(_source(name)).render(**ctx)


@click.command("sheets")
@click.option("--roster", required=True, type=click.Path(dir_okay=False), help="CSV with columns id,name.")
@click.option("--n", "n", type=click.IntRange(min=1, max=60), default=10, show_default=True, help="Questions per student.")
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
    be regenerated. Writes <id>.pdf per student, key.csv (for bptt mark) and
    key.pdf into the folder; key.csv is written last.
    """
    from derive.arrays_io import write_bytes
    from .bank import builtin, load_bank, select
    from .handout import _expected
    from .handout_text import kind_label
    from .sheets import key_csv, key_rows, read_roster, student_items
    students = read_roster(roster)
    qs = select(load_bank(bank) if bank else builtin(), topic=topic)
    out = Path(out)
    _prepare_dir(out)
    blocks, rows = [], []
    for s in students:
        items = student_items(qs, s, n, seed, lang)
        for it in items:
            it["kind_label"] = kind_label(it["variant"]["answer"], lang)
            it["expected_shown"] = _expected(it["expected"], "latex")
            it["qid_shown"] = _expected(it["qid"], "latex")
        blocks.append({"title": _w("title", lang), "who": _who(s), "questions": items})
        rows += key_rows(s, items)
    common = {"zh": lang == "zh", "instructions": _w("instructions", lang), "answer_label": _w("answer", lang)}
    sheet_tex = _render("sheet.tex.j2", dict(common, students=blocks))
    key_tex = _render("key.tex.j2", dict(common, students=blocks, title=_w("key", lang),
                                         subtitle=_w("key_sub", lang, seed=seed, n=n)))
    if fmt == "tex":
        write_bytes(out / "sheets.tex", sheet_tex.encode("utf-8"))
        write_bytes(out / "key.tex", key_tex.encode("utf-8"))
    else:
        pdfs = _compile_sheets(sheet_tex, len(students))
        from .latex import compile_pdf
        compile_pdf(key_tex, out / "key.pdf")
        for s, data in zip(students, pdfs):
            write_bytes(out / f"{s.id}.pdf", data)
    write_bytes(out / "key.csv", key_csv(rows))
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
    answer), which is also printed.
    """
    from derive.arrays_io import write_bytes
    from .sheets import grades_csv, mark, read_key, read_responses, summary_csv, summary_rows
    key = read_key(key_path)
    marks = mark(key, read_responses(responses, key), lang)
    rows = summary_rows(marks)
    stem = os.path.splitext(output)[0]
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise BpttError(f"cannot write {output}: its folder does not exist; create it or choose another -o")
    write_bytes(f"{stem}_summary.csv", summary_csv(rows))
    write_bytes(output, grades_csv(marks))
    for r in rows:
        click.echo(f"{r['qid']}: mean {r['mean_score']:.2f} over {r['students']}, {r['correct']} correct"
                   + (f", most common wrong answer {r['most_common_wrong']!r}" if r["most_common_wrong"] else ""))
    click.echo(f"wrote {output} and {stem}_summary.csv")

"""Per-student exam sheets from a roster, their answer key, and marking of responses.

Each student's questions and numbers come from ``seed_for("sheet", seed, id)``,
so a sheet can be regenerated from the seed and the id alone.  All sheets are
compiled as one xelatex document and split per student by page ranges.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

import numpy as np

from derive.errors import BpttError

from .exercises import choose, make_variants, rendered, seed_for

SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
KEY_FIELDS = ("student_id", "name", "number", "qid", "expected", "answer_spec", "variant")


@dataclass(frozen=True)
class Student:
    id: str
    name: str


def read_roster(path) -> list:
    """Students from a CSV with an ``id`` column (and optionally ``name``); ids unique, non-empty, file-safe."""
    rows = _read_csv(path, "roster", ("id",))
    out, seen = [], {}
    for k, row in enumerate(rows, start=2):
        sid = (row.get("id") or "").strip()
        if not sid:
            raise BpttError(f"roster {path}, line {k}: empty student id; give every student an id")
        if not SAFE_ID.match(sid):
            raise BpttError(f"roster {path}, line {k}: id {sid!r} may only use letters, digits, '.', '_' and '-' "
                            "(it names the student's PDF)")
        if sid in seen:
            raise BpttError(f"roster {path}, line {k}: id {sid!r} already used on line {seen[sid]}; ids must be unique")
        seen[sid] = k
        out.append(Student(sid, (row.get("name") or "").strip()))
    if not out:
        raise BpttError(f"roster {path} has no students; add lines 'id,name'")
    return out


def _read_csv(path, what, required) -> list:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise BpttError(f"{what} {path} needs a header with columns {', '.join(required)} "
                                f"(missing {', '.join(missing)})")
            return list(reader)
    except FileNotFoundError:
        raise BpttError(f"{what} file {path} does not exist; check the path") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise BpttError(f"cannot read {what} {path} ({err}); it must be a UTF-8 CSV file") from None
    except OSError as err:
        raise BpttError(f"cannot read {what} file {path} ({err.strerror}); check the path") from None


def student_items(questions, student, n, seed, lang, target="latex") -> list:
    """The rendered exercises of one student's sheet."""
    rng = np.random.default_rng(seed_for("sheet", seed, student.id))
    return rendered(make_variants(choose(questions, n, rng), rng), lang, target)


def key_rows(student, items) -> list:
    return [{"student_id": student.id, "name": student.name, "number": it["number"], "qid": it["qid"],
             "expected": it["expected"], "answer_spec": json.dumps(it["variant"]["answer"], ensure_ascii=False,
                                                                   sort_keys=True),
             "variant": json.dumps(it["variant"], ensure_ascii=False, sort_keys=True)} for it in items]


def key_csv(rows) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=KEY_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


# ---------------------------------------------------------------- marking

def read_key(path) -> dict:
    """(student_id, number) -> key row, with the answer spec parsed and checked."""
    from .kinds import KINDS
    rows = _read_csv(path, "key", KEY_FIELDS[:5] + ("answer_spec",))
    out = {}
    for k, row in enumerate(rows, start=2):
        try:
            spec, num = json.loads(row["answer_spec"] or ""), int(row["number"] or "")
        except ValueError:
            spec, num = None, None
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS or num is None:
            raise BpttError(f"key {path}, line {k}: not a row written by bptt sheets; regenerate the key")
        out[(row["student_id"], num)] = dict(row, spec=spec)
    if not out:
        raise BpttError(f"key {path} has no questions; give the key.csv written by bptt sheets")
    return out


def previous_ids(path) -> list:
    """Student ids of an earlier key.csv (empty if there is none or it cannot be read)."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            ids = {(row.get("student_id") or "") for row in csv.DictReader(fh)}
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return sorted(i for i in ids if SAFE_ID.match(i))


QUESTION = re.compile(r"^[qQ]?(\d+)$")


def read_responses(path, key) -> dict:
    """(student_id, number) -> answer text; unknown students or questions, or a second answer, name the line."""
    rows = _read_csv(path, "responses", ("student_id", "question", "answer"))
    students = {sid for sid, _ in key}
    out, seen = {}, {}
    for k, row in enumerate(rows, start=2):
        sid, q = (row["student_id"] or "").strip(), (row["question"] or "").strip()
        m = QUESTION.match(q)
        if sid not in students:
            raise BpttError(f"responses {path}, line {k}: unknown student {sid!r}; is this the right --key?")
        if not m or (sid, int(m.group(1))) not in key:
            raise BpttError(f"responses {path}, line {k}: student {sid!r} has no question {q!r} on their sheet")
        at = (sid, int(m.group(1)))
        if at in seen:
            raise BpttError(f"responses {path}, line {k}: a second answer for student {sid!r} question {q} "
                            f"(first on line {seen[at]}); keep one")
        seen[at] = k
        out[at] = row["answer"] or ""
    return out


def mark(key: dict, responses: dict, lang: str = "en"):
    """Per-answer verdicts: list of dicts (student_id, name, number, qid, answer, status, score)."""
    from .kinds import grade_answer
    out = []
    for (sid, num), row in sorted(key.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        raw = responses.get((sid, num))
        v = grade_answer(row["spec"], raw, lang) if raw is not None and raw.strip() else None
        out.append({"student_id": sid, "name": row["name"], "number": num, "qid": row["qid"],
                    "answer": raw or "", "status": v.status if v else "blank", "score": v.score if v else 0.0})
    return out


def grades_csv(marks) -> bytes:
    """One row per student: score per question, total and maximum."""
    nums = sorted({m["number"] for m in marks})
    students = {}
    for m in marks:
        students.setdefault((m["student_id"], m["name"]), {})[m["number"]] = m["score"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student_id", "name"] + [f"q{n}" for n in nums] + ["total", "max"])
    for (sid, name), sc in sorted(students.items()):
        w.writerow([sid, name] + [f"{sc.get(n, 0.0):g}" for n in nums] + [f"{sum(sc.values()):g}", len(nums)])
    return buf.getvalue().encode("utf-8")


def summary_rows(marks) -> list:
    """Per question id: how many answered it, mean score, and the most common wrong answer."""
    from collections import Counter
    by = {}
    for m in marks:
        by.setdefault(m["qid"], []).append(m)
    rows = []
    for qid, ms in sorted(by.items()):
        wrong = Counter(m["answer"].strip() for m in ms if m["status"] == "incorrect")
        common = min(wrong.items(), key=lambda kv: (-kv[1], kv[0]))[0] if wrong else ""
        rows.append({"qid": qid, "students": len(ms), "mean_score": round(sum(m["score"] for m in ms) / len(ms), 4),
                     "correct": sum(m["status"] == "correct" for m in ms),
                     "invalid_or_blank": sum(m["status"] in ("invalid", "blank") for m in ms),
                     "most_common_wrong": common})
    return rows


def summary_csv(rows) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["qid"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")

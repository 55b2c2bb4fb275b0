"""Anki decks with genanki: fixed model and deck ids, note GUIDs from the question id.

Re-importing a newer export updates the same notes instead of duplicating them
(the GUID is ``guid_for("bptt", qid, lang)``: not the seed, so new numbers
update the card).  Every kind goes in: the learner grades their own card.
The .apkg bytes are reproducible: genanki gets a fixed timestamp (note and card
ids, ``mod`` fields) and the zip is rewritten with fixed entry dates.
"""
from __future__ import annotations

import html
import io
import os
import re
import tempfile
import zipfile

from .exercises import seed_for
from .export import shown

MODEL_ID = 1607392319 + seed_for("bptt-anki-model") % 1000
DECK_ID = 2059400110 + seed_for("bptt-anki-deck") % 1000
TIMESTAMP = 1_700_000_000.0
CSS = ".card { font-family: 'Noto Serif CJK SC', Georgia, serif; font-size: 18px; text-align: left; }"


def _model():
    import genanki
    return genanki.Model(
        MODEL_ID, "bptt question",
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Solution"}, {"name": "Id"}],
        templates=[{"name": "Card 1", "qfmt": "{{Question}}",
                    "afmt": "{{FrontSide}}<hr id=answer><b>{{Answer}}</b><br><br>{{Solution}}"}],
        css=CSS)


def guid(qid: str, lang: str) -> str:
    import genanki
    return genanki.guid_for("bptt", qid, lang)


def _front(s) -> str:
    items = "".join(f"<li>({k}) {t}</li>" for k, t in s["choices"])
    return s["text"] + (f"<ul style='list-style:none'>{items}</ul>" if items else "")


def document(pairs, lang: str) -> bytes:
    """The .apkg for [(question, variant)]: fields Question (text and options), Answer, Solution, Id."""
    import genanki
    model = _model()
    name = "bptt: RNN, LSTM, GRU" if lang == "en" else "bptt：循环神经网络"
    deck = genanki.Deck(DECK_ID + (1 if lang == "zh" else 0), name)
    for q, v in pairs:
        s = shown(q, v, lang)
        deck.add_note(genanki.Note(model=model, fields=[_front(s), s["expected"], s["solution"], html.escape(q.id)],
                                   guid=guid(q.id, lang), tags=[re.sub(r"\s+", "_", t) for t in (q.topic, *q.cells)]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "deck.apkg")
        genanki.Package(deck).write_to_file(path, timestamp=TIMESTAMP)
        return _fixed_zip(path)


def _fixed_zip(path) -> bytes:
    """The same zip with every entry dated 1980-01-01 (zip files store modification times)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), src.read(info.filename))
    return out.getvalue()

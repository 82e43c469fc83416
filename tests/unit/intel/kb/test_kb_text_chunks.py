"""Tokenizer, sentence spans and chunkers: verbatim slices, unique anchors, stable ids."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from quantdesk.core.errors import DataError, NotFoundError
from quantdesk.intel.kb.chunks import Chunk, file_chunks, html_text, markdown_chunks, plain_chunks
from quantdesk.intel.kb.sources import user_chunks
from quantdesk.intel.kb.text import code_spans, numbers, sentence_spans, slug, stem, tokenize


def test_stem_merges_the_forms_people_use() -> None:
    for group in (("volatility", "volatilities"), ("write", "writing"), ("rate", "rates", "rated"),
                  ("lost", "lose", "losing", "losses", "loss"), ("stop", "stopped", "stops")):
        assert len({stem(w) for w in group}) == 1, group
    assert stem("analysis") == "analysis" and stem("bonus") == "bonus"
    assert stem("boxes") == "box"


def test_tokenize_drops_stopwords_and_keeps_compound_names() -> None:
    terms = tokenize("What is the max_drawdown_pct of sma_cross on BTC/USDT in 2018-03?")
    assert "what" not in terms and "the" not in terms
    for t in ("max_drawdown_pct", "drawdown", "sma_cross", "btc/usdt", "btc", "usdt", "2018-03"):
        assert t in terms


def test_sentence_spans_are_verbatim_and_skip_abbreviations() -> None:
    text = "The RSI is bounded, e.g. by 0 and 100. It was made in 1978!\n\n- first item\n- second item"
    parts = [text[a:b] for a, b in sentence_spans(text)]
    assert parts == ["The RSI is bounded, e.g. by 0 and 100.", "It was made in 1978!", "- first item",
                     "- second item"]
    for a, b in sentence_spans(text):
        assert text[a:b] == text[a:b].strip() and text[a:b] in text


def test_code_spans_and_slug_and_numbers() -> None:
    text = "Prose.\n\n```python\nx = 1\n```\n    indented\nmore prose"
    found = [text[a:b] for a, b in code_spans(text)]
    assert found == ["```python\nx = 1\n```", "    indented"]
    assert slug("Relative Strength Index (RSI)") == "relative-strength-index-rsi"
    assert slug("Win rate, profit factor and expectancy") == "win-rate-profit-factor-and-expectancy"
    assert numbers("fell 12.34% from 1,000.50 in 2018") == {"12.34", "1000.50", "2018"}


MD = """# Guide

Intro paragraph.

## Setup

Install it.

## Setup

Again, a second section with the same heading.

### Details

Deep text.
"""


def test_markdown_chunks_one_per_section_unique_anchors_verbatim() -> None:
    chunks = markdown_chunks(MD, "docs/guide.md", "doc")
    assert [c.anchor for c in chunks] == ["guide", "setup", "setup-1", "details"]
    assert chunks[3].title == "Guide > Setup > Details"
    for c in chunks:
        assert c.text in MD  # a verbatim slice of the file


def test_long_sections_split_at_paragraphs_never_inside_code() -> None:
    para = "Word " * 100
    code = "```\n" + "\n\n".join(f"line {i}" for i in range(200)) + "\n```"
    text = f"## Big\n\n{para}\n\n{para}\n\n{code}\n\n{para}\n"
    chunks = markdown_chunks(text, "x.md", "doc")
    assert len(chunks) >= 3 and chunks[0].anchor == "big" and chunks[1].anchor == "big-part2"
    assert sum(c.text.count("```") for c in chunks) == 2
    assert any(c.text.startswith("```") and c.text.rstrip().endswith("```") for c in chunks)


def test_chunk_ids_are_stable_and_change_with_content() -> None:
    a = Chunk("docs/a.md", "x", "T", "some text", "doc")
    assert a.id == Chunk("docs/a.md", "x", "T", "some text", "doc").id
    assert a.id != Chunk("docs/a.md", "x", "T", "other text", "doc").id
    assert a.id != Chunk("docs/b.md", "x", "T", "some text", "doc").id
    assert Chunk.from_dict(a.as_dict()) == a


def test_html_headings_become_sections_and_scripts_vanish() -> None:
    title, text = html_text("<html><head><title>My notes</title><script>var x=1;</script></head><body>"
                            "<h1>Funding</h1><p>Longs pay shorts &amp; more.</p><h2>Risk</h2><p>Careful.</p>"
                            "</body></html>")
    assert title == "My notes" and "var x" not in text
    chunks = markdown_chunks(text, "/n.html", "user")
    assert [c.anchor for c in chunks] == ["funding", "risk"] and "Longs pay shorts & more." in chunks[0].text


def _pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page (independent of pypdf's writer)."""
    objs: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font = 3 + 2 * len(pages)
    for i, line in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode()
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                    f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        objs.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_user_files_of_every_type(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Plan\n\nBuy the dip only above the 200-day average.\n")
    (tmp_path / "b.txt").write_text("First paragraph about funding.\n\nSecond paragraph about fees.\n")
    (tmp_path / "c.html").write_text("<h1>Journal</h1><p>Stopped out twice in March.</p>")
    (tmp_path / "d.pdf").write_bytes(_pdf(["Kelly sizing notes page one", "Second page on drawdowns"]))
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "e.md").write_text("# Secret\n\nnot read")
    (tmp_path / "f.bin").write_bytes(zlib.compress(b"x"))
    chunks = user_chunks(tmp_path)
    by = {(Path(c.source).name, c.anchor): c for c in chunks}
    assert set(by) == {("a.md", "plan"), ("b.txt", "part-1"), ("c.html", "journal"), ("d.pdf", "page-1"),
                       ("d.pdf", "page-2")}
    assert all(Path(c.source).is_absolute() and c.kind == "user" for c in chunks)
    assert "Kelly sizing notes page one" in by[("d.pdf", "page-1")].text
    assert "Second page on drawdowns" in by[("d.pdf", "page-2")].text


def test_bad_user_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        user_chunks(tmp_path / "missing")
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(DataError, match=r"x\.csv: unsupported file type \.csv"):
        user_chunks(tmp_path / "x.csv")
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf at all")
    with pytest.raises(DataError, match=r"bad\.pdf: not a readable PDF"):
        file_chunks(tmp_path / "bad.pdf", "bad")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.txt: not UTF-8"):
        file_chunks(tmp_path / "latin.txt", "latin")
    # in a folder, one unreadable file is skipped, the others are read
    (tmp_path / "ok.md").write_text("# Ok\n\nfine text here")
    assert [c.anchor for c in user_chunks(tmp_path)] == ["ok"]


def test_plain_chunks_number_their_parts() -> None:
    chunks = plain_chunks(("para " * 200 + "\n\n") * 3, "/n.txt", "user", title="n.txt")
    assert [c.anchor for c in chunks] == [f"part-{i}" for i in range(1, len(chunks) + 1)] and len(chunks) >= 2

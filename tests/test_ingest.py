"""Reading files: metadata from text headers, HTML, PDF, JSONL, and bad files skipped."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SEEDS, write

from qa.ingest import Document, Skipped, load


def _load(*paths: Path) -> tuple[list[Document], list[Skipped]]:
    items = list(load(paths))
    return ([i for i in items if isinstance(i, Document)],
            [i for i in items if isinstance(i, Skipped)])


def test_seed_article_has_date_title_and_no_cruft() -> None:
    docs, skipped = _load(SEEDS)
    assert not skipped
    (doc,) = docs
    assert doc.date == "2008-03-18"
    assert doc.title == "US, Russian officials take conciliatory tone in missile talks"
    assert doc.text.startswith("Moscow - Top US and Russian officials")
    assert "No comments" not in doc.text
    assert doc.text.endswith("target the Polish and Czech sites.")
    assert len(doc.sha256) == 64


def test_doc_id_is_stable_and_sha_tracks_content(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Title\n\nSome body text here.")
    first = _load(path)[0][0]
    again = _load(path)[0][0]
    assert first.doc_id == again.doc_id and first.sha256 == again.sha256
    write(path, "Title\n\nSome other body text.")
    changed = _load(path)[0][0]
    assert changed.doc_id == first.doc_id and changed.sha256 != first.sha256


def test_markdown_heading_and_front_matter(tmp_path: Path) -> None:
    a = write(tmp_path / "a.md", "# Heading here\n\nBody of a.")
    b = write(tmp_path / "b.md", "---\ntitle: From front matter\ndate: 2024-02-03\n---\nBody b.")
    docs, _ = _load(a, b)
    assert [(d.title, d.date, d.text) for d in docs] == [
        ("Heading here", None, "Body of a."),
        ("From front matter", "2024-02-03", "Body b."),
    ]


def test_html_article_extracted(tmp_path: Path) -> None:
    body = " ".join(["The council approved the new bridge over the river on Monday."] * 4)
    html = (
        "<html><head><title>Bridge approved</title>"
        "<meta name='author' content='Jane Doe'>"
        "<meta property='article:published_time' content='2024-05-01'></head>"
        f"<body><nav>Home | About</nav><article><h1>Bridge approved</h1><p>{body}</p>"
        "<p>Work starts next spring, the mayor said in a statement to reporters.</p>"
        "</article></body></html>"
    )
    (doc,), _ = _load(write(tmp_path / "a.html", html))
    assert doc.title == "Bridge approved"
    assert doc.date == "2024-05-01"
    assert doc.author == "Jane Doe"
    assert "new bridge" in doc.text and "Work starts next spring" in doc.text
    assert "Home | About" not in doc.text


def test_pdf_pages_are_kept(tmp_path: Path) -> None:
    pdf = tmp_path / "two.pdf"
    pdf.write_bytes(_two_page_pdf(["First page talks about apples.", "Second page is pears."]))
    (doc,), skipped = _load(pdf)
    assert not skipped
    assert "apples" in doc.text and "pears" in doc.text
    assert doc.page_at(doc.text.index("apples")) == 1
    assert doc.page_at(doc.text.index("pears")) == 2


def test_beir_jsonl(tmp_path: Path) -> None:
    rows = [
        {"_id": "d1", "title": "One", "text": "First text.", "metadata": {"publish_date": "2022-06-16"}},
        {"_id": "d2", "title": "", "text": "Second text."},
        {"_id": "d3", "title": "Empty", "text": ""},
    ]
    path = write(tmp_path / "corpus.jsonl",
                 "\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    docs, skipped = _load(path)
    assert [(d.doc_id, d.title, d.date) for d in docs] == [
        ("d1", "One", "2022-06-16"), ("d2", "d2", None)]
    reasons = {s.source.rsplit(":", 1)[1]: s.reason for s in skipped}
    assert reasons["3"] == "empty text"
    assert reasons["4"].startswith("not JSON")


def test_bad_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", "Good\n\nA good document.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / ".hidden.txt").write_text("hidden files are ignored")
    docs, skipped = _load(tmp_path)
    # A Latin-1 file is read in its encoding (charset-normalizer finds it).
    assert [d.title for d in docs] == ["Good", "Le café de la gare"]
    assert docs[1].text == LATIN1_TEXT.split("\n\n", 1)[1]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert reasons == {
        "binary.txt": "binary content in a text file",
        "broken.pdf": reasons["broken.pdf"],
        "empty.txt": "empty file",
        "image.png": reasons["image.png"],
    }
    assert reasons["broken.pdf"].startswith("unreadable PDF")
    assert reasons["image.png"].startswith("unsupported file type .png")


LATIN1_TEXT = ("Le café de la gare\n\nLe café est très agréable à Paris, où l'été dure "
               "longtemps. Les élèves y préparent leurs exposés.")


def _two_page_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of text per page (Helvetica)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        page_id, content_id = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_id} 0 R")
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 {{font}} 0 R >> >> /Contents {content_id} 0 R >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    font_id = len(objects) + 1
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    objects = [o.replace("{font}", str(font_id)) for o in objects]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out

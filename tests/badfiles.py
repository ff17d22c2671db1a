"""A corpus of bad, odd and hostile files, generated on the spot: every kind of thing an unlucky
user or an attacker could put in a folder to be indexed.

Each `Kind` makes its files in a folder of its own and says what must happen: skipped with a
reason containing `skipped`, or read as a document that passes `check`. Used by
tests/test_badfiles.py (each kind alone, then all of them through `qa index`).
"""

from __future__ import annotations

import codecs
import io
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.ingest import Document

#: The limits the corpus is read with (small, so the "too large" files stay small).
MAX_FILE_BYTES = 3_000_000
MAX_DOCUMENT_CHARS = 2_500_000
MAX_PASSAGE_CHARS = 3000

BODY = "Zebras arrived from Kenya by plane. They eat hay and carrots every morning."


@dataclass(frozen=True)
class Kind:
    """One kind of bad file: how to make it, and what reading it must give."""

    name: str
    make: Callable[[Path], None]
    #: A part of the reason it is skipped for (None: it must be read as a document).
    skipped: str | None = None
    #: For a document: what must hold of it.
    check: Callable[[Document], bool] | None = None
    #: Skipped lines it makes (a JSONL file may make one per bad line).
    lines: int = 1


def put(folder: Path, name: str, data: bytes | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def text_doc(body: str = BODY, title: str = "Zoo news") -> str:
    return f"{title}\n\n{body}"


# PDFs ----------------------------------------------------------------------------------------


def simple_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of text per page (Helvetica)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        page_id, content_id = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_id} 0 R")
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET" if text else ""
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


def encrypted_pdf(algorithm: str, user_password: str = "") -> bytes:
    """A one-page PDF encrypted with pypdf (`AES-128`, `AES-256`, `RC4-128`)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(simple_pdf(["Zebras came from Kenya."]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret",
                   algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# Special files --------------------------------------------------------------------------------


def fifo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.txt")


def unix_socket(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX)
    here = Path.cwd()
    os.chdir(folder)  # a socket path is limited to ~107 bytes: bind by a relative name
    try:
        sock.bind("socket.txt")
    finally:
        os.chdir(here)
        sock.close()


def link(folder: Path, name: str, target: str | Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink(target, folder / name)


def loop(folder: Path) -> None:
    link(folder, "a.txt", "b.txt")
    link(folder, "b.txt", "a.txt")


def folder_cycle(folder: Path) -> None:
    put(folder / "sub", "inside.txt", text_doc())
    link(folder / "sub", "back", "..")


def outside_folder(folder: Path) -> None:
    elsewhere = folder.parent.parent / f"elsewhere-{folder.name}"
    put(elsewhere, "secret.txt", text_doc("The secret is 42."))
    link(folder, "elsewhere", elsewhere)


def link_inside(folder: Path) -> None:
    put(folder / ".store", "kept.txt", text_doc())
    link(folder, "kept.txt", ".store/kept.txt")


def linked_folder_inside(folder: Path) -> None:
    put(folder / ".shelf", "kept.txt", text_doc())
    link(folder, "shelf", ".shelf")


def bad_name(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(text_doc().encode())


def pending_upload(folder: Path) -> None:
    put(folder, "upload-1a2b.txt", text_doc())
    put(folder, ".upload-1a2b.txt.pending", "")


def jsonl(*rows: object) -> Callable[[Path], None]:
    """A corpus file of these rows (dicts and lists as JSON, str and bytes as they are); the
    good row gets an id of its own per folder, so corpora side by side don't collide."""
    def make(folder: Path) -> None:
        lines = [r if isinstance(r, bytes | str) else
                 json.dumps(dict(GOOD_ROW, _id=f"ok-{folder.name}") if r is GOOD_ROW else r)
                 for r in rows]
        put(folder, "corpus.jsonl", b"\n".join(
            x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n")
    return make


GOOD_ROW = {"_id": "ok", "title": "Fine", "text": BODY}


def _has(*parts: str) -> Callable[[Document], bool]:
    return lambda d: all(p in d.text or p == d.title for p in parts)


KINDS: list[Kind] = [
    # Empty, binary, the wrong type.
    Kind("empty", lambda f: put(f, "empty.txt", b""), "empty file"),
    Kind("whitespace", lambda f: put(f, "blank.txt", b"  \n\t \r\n"), "empty file"),
    Kind("nul-early", lambda f: put(f, "bin.txt", b"\x00\x01\x02binary"), "binary content"),
    Kind("html-binary", lambda f: put(f, "page.html", b"<html>\x00\x00\x00"), "binary content"),
    Kind("png", lambda f: put(f, "image.png", b"\x89PNG\r\n\x1a\n"), "unsupported file type .png"),
    Kind("no-suffix", lambda f: put(f, "README", text_doc()), "unsupported file type (none)"),
    Kind("controls-only", lambda f: put(f, "ctl.txt", b"\x01\x02\x03\x1b"), "no text content"),
    Kind("title-only", lambda f: put(f, "t.md", "# Just a heading\n"), "no text content"),
    Kind("utf16-broken", lambda f: put(f, "odd.txt", codecs.BOM_UTF16_LE + b"a\x00\x00\xd8"),
         "not valid UTF-16"),
    Kind("html-scripts", lambda f: put(f, "s.html", "<html><script>var a=1;</script></html>"),
         "no "),
    # Too large.
    Kind("over-size", lambda f: put(f, "big.txt", "word " * (MAX_FILE_BYTES // 5 + 10)),
         "QA_MAX_FILE_BYTES"),
    Kind("over-chars", lambda f: put(f, "long.txt", "Title\n\n" + "a b " * (MAX_DOCUMENT_CHARS // 4 + 10)),
         "QA_MAX_DOCUMENT_CHARS"),
    # PDFs.
    Kind("pdf-not-really", lambda f: put(f, "fake.pdf", b"%PDF-1.4 not really"), "unreadable PDF"),
    Kind("pdf-garbage", lambda f: put(f, "junk.pdf", bytes(range(256)) * 8), "unreadable PDF"),
    Kind("pdf-no-eof", lambda f: put(f, "noeof.pdf", simple_pdf(["Zebras came from Kenya."])
                                     .replace(b"%%EOF", b"")), "unreadable PDF"),
    Kind("pdf-half", lambda f: put(f, "half.pdf", simple_pdf(["Zebras came from Kenya."])[:300]),
         "unreadable PDF"),
    Kind("pdf-password", lambda f: put(f, "locked.pdf", encrypted_pdf("AES-128", "secret")),
         "needs a password"),
    Kind("pdf-no-text", lambda f: put(f, "scan.pdf", simple_pdf([""])), "no extractable text"),
    # Special files and links.
    Kind("fifo", fifo, "FIFO"),
    Kind("socket", unix_socket, "a socket"),
    Kind("dangling-link", lambda f: link(f, "gone.txt", "nowhere.txt"), "broken symlink"),
    Kind("link-loop", loop, "symlink loop", lines=2),
    Kind("self-link", lambda f: link(f, "me.txt", "me.txt"), "symlink loop"),
    Kind("link-to-etc-passwd", lambda f: link(f, "passwd.txt", "/etc/passwd"),
         "outside the folder being indexed"),
    Kind("link-to-folder-outside", outside_folder, "outside the folder being indexed"),
    Kind("folder-cycle", folder_cycle, "symlink loop", check=_has("Zebras")),
    Kind("bad-file-name", bad_name, "not valid UTF-8"),
    Kind("pending-upload", pending_upload, "interrupted before it was indexed"),
    # BEIR corpora with bad lines (the good line around them is read).
    Kind("jsonl-id-null", jsonl({"_id": None, "text": BODY}, GOOD_ROW), "_id must be"),
    Kind("jsonl-id-object", jsonl({"_id": {"a": 1}, "text": BODY}, GOOD_ROW), "_id must be"),
    Kind("jsonl-id-bool", jsonl({"_id": True, "text": BODY}, GOOD_ROW), "_id must be"),
    Kind("jsonl-id-blank", jsonl({"_id": "  ", "text": BODY}, GOOD_ROW), "_id must be"),
    Kind("jsonl-no-id", jsonl({"text": BODY}, GOOD_ROW), "no _id field"),
    Kind("jsonl-array", jsonl([1, 2, 3], GOOD_ROW), "no _id field"),
    Kind("jsonl-not-json", jsonl("{not json", GOOD_ROW), "not JSON"),
    Kind("jsonl-deep", jsonl("[" * 100_000 + "]" * 100_000, GOOD_ROW), "not JSON"),
    Kind("jsonl-bad-utf8", jsonl(b'{"_id": "x", "text": "caf\xe9"}', GOOD_ROW), "not UTF-8"),
    Kind("jsonl-empty-text", jsonl({"_id": "e", "text": ""}, GOOD_ROW), "empty text"),
    Kind("jsonl-long-line", jsonl({"_id": "l", "text": "x" * (MAX_DOCUMENT_CHARS + 10)},
                                  GOOD_ROW), "a line longer than"),
    # Read, and read right.
    Kind("utf16-le-bom", lambda f: put(f, "u16le.txt", text_doc().encode("utf-16")),
         check=_has("Zoo news", "Zebras arrived")),
    Kind("utf16-be-bom", lambda f: put(f, "u16be.txt", codecs.BOM_UTF16_BE
                                       + text_doc().encode("utf-16-be")),
         check=_has("Zoo news", "Zebras arrived")),
    Kind("utf32-bom", lambda f: put(f, "u32.txt", text_doc().encode("utf-32")),
         check=_has("Zoo news", "Zebras arrived")),
    Kind("utf8-bom", lambda f: put(f, "bom.txt", codecs.BOM_UTF8 + text_doc().encode()),
         check=lambda d: d.title == "Zoo news"),
    Kind("windows-1252", lambda f: put(f, "cp.txt", (
        "Le café de la gare\n\nLe café est très agréable à Paris, où l'été dure longtemps. "
        "Les élèves y préparent leurs exposés.").encode("cp1252")),
         check=_has("Le café de la gare", "très agréable à Paris")),
    Kind("nul-late", lambda f: put(f, "late.txt", (text_doc("A" * 9000 + ". ") + "\x00"
                                                   + "Tail after the NUL.").encode()),
         check=lambda d: "\x00" not in d.text and d.text.endswith("Tail after the NUL.")),
    Kind("front-matter-unclosed", lambda f: put(f, "fm.md", "---\ntitle: Lost\n\nBody text here."),
         check=lambda d: d.title != "---" and "Body text here." in d.text),
    Kind("rule-then-title", lambda f: put(f, "rule.md", "---\n\nReal title\n\nBody text here."),
         check=lambda d: d.title == "Real title"),
    Kind("cr-line-endings", lambda f: put(f, "mac.txt", "Old Mac\r\rZebras ate hay."),
         check=lambda d: d.title == "Old Mac" and d.text == "Zebras ate hay."),
    Kind("pdf-aes-128", lambda f: put(f, "aes128.pdf", encrypted_pdf("AES-128")),
         check=_has("Zebras came from Kenya.")),
    Kind("pdf-aes-256", lambda f: put(f, "aes256.pdf", encrypted_pdf("AES-256")),
         check=_has("Zebras came from Kenya.")),
    Kind("pdf-rc4", lambda f: put(f, "rc4.pdf", encrypted_pdf("RC4-128")),
         check=_has("Zebras came from Kenya.")),
    Kind("pdf-eof-cut", lambda f: put(f, "cut.pdf", simple_pdf(["Zebras came from Kenya."])
                                      .replace(b"%%EOF", b"%%EO")),
         check=_has("Zebras came from Kenya.")),
    Kind("hash-in-folder", lambda f: put(f / "C#", "notes.txt", text_doc()),
         check=lambda d: "/C#/notes.txt" in d.source),
    Kind("hash-in-name", lambda f: put(f, "issue#12.txt", text_doc()),
         check=lambda d: d.source.endswith("issue#12.txt")),
    Kind("newline-in-name", lambda f: put(f, "two\nlines.txt", text_doc()),
         check=lambda d: d.source.endswith("two\nlines.txt")),
    Kind("unicode-name", lambda f: put(f, "naïve-日本語 ✓.txt", text_doc()),
         check=lambda d: d.source.endswith("naïve-日本語 ✓.txt")),
    Kind("longest-name", lambda f: put(f, "n" * 251 + ".txt", text_doc()),
         check=_has("Zebras arrived")),
    Kind("upper-suffix", lambda f: put(f, "LOUD.TXT", text_doc()), check=_has("Zebras arrived")),
    Kind("link-inside", link_inside, check=_has("Zebras arrived")),
    Kind("linked-folder-inside", linked_folder_inside, check=_has("Zebras arrived")),
    Kind("two-mb-word", lambda f: put(f, "blob.txt", text_doc("Intro. " + "x" * 2_000_000)),
         check=lambda d: len(d.text) > 2_000_000),
    Kind("jsonl-nul-escape", jsonl({"_id": "n", "text": "Zebras\u0000 ate hay."}),
         check=lambda d: d.text == "Zebras ate hay."),
    Kind("jsonl-lone-surrogate", jsonl('{"_id": "s\\ud800", "text": "Zebras \\udc00 ate."}'),
         check=lambda d: d.text == "Zebras \ufffd ate." and d.doc_id == "s\ufffd"),
    Kind("jsonl-bom", jsonl(b"\xef\xbb\xbf" + json.dumps(GOOD_ROW).encode()),
         check=lambda d: d.doc_id == "ok"),
    Kind("jsonl-id-zero", jsonl({"_id": 0, "text": BODY}), check=lambda d: d.doc_id == "0"),
]

"""Turning a text file's bytes into text: by its byte-order mark, as UTF-8, or in the encoding
charset-normalizer finds (Latin-1, Windows-1252, …)."""

from __future__ import annotations

import codecs

from ..errors import IngestError

#: A NUL byte this early in a file without a byte-order mark means it is not text.
_BINARY_PROBE = 8192
#: Byte-order marks, longest first (a UTF-32 LE mark starts like a UTF-16 LE one).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_WIDE_ENCODINGS = ("utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le")
_PREFERRED = {"cp1252": 0, "latin_1": 1}
#: Encodings whose "chaos" (charset-normalizer's measure of mess) differs by less fit equally.
_CHAOS_TIE = 0.01


def decode_text(data: bytes) -> str:
    """The text of a text file's bytes: by its byte-order mark (UTF-8, UTF-16, UTF-32), as
    UTF-8, or else in the encoding charset-normalizer finds (Latin-1, Windows-1252, …).

    Raises:
        IngestError: binary content, or no encoding fits.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as err:
                raise IngestError(f"not valid {encoding.removesuffix('-sig').upper()} text "
                                  f"(bad bytes at offset {err.start})") from None
    if b"\x00" in data[:_BINARY_PROBE]:
        raise IngestError("binary content in a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = err.start
    text = _detect(data)
    if text is None:
        raise IngestError(f"not text: not UTF-8 (bad byte at offset {bad}) and no other "
                          "encoding fits")
    return text


def _detect(data: bytes) -> str | None:
    """The text of `data` in the encoding charset-normalizer finds likeliest. When several
    fit equally well (common for Western text), Windows-1252, then Latin-1, is taken: by far
    the most common legacy encodings. UTF-16 and UTF-32 are ruled out, as text in them
    without a byte-order mark would be full of NUL bytes."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data, cp_exclusion=list(_WIDE_ENCODINGS)))
    if not matches:
        return None
    least = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos <= least + _CHAOS_TIE]
    tied.sort(key=lambda m: (_PREFERRED.get(m.encoding, len(_PREFERRED)), -m.coherence))
    return str(tied[0])

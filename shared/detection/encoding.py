"""Which text encoding a file's bytes are in: byte order marks, byte patterns, a declaration the bytes confirm, and
charset-normalizer's statistics, corrected where short or lying text misleads them.

The order follows what browsers and Apache Tika do: a BOM wins; a `<meta charset>` or XML `encoding=` is believed
only when the bytes agree with it (a page declaring UTF-8 whose bytes are not UTF-8 is detected from its bytes).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import NamedTuple

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio
from charset_normalizer.utils import is_multi_byte_encoding


class EncodingGuess(NamedTuple):
    encoding: str | None
    confidence: float  # 1.0 when the bytes leave no doubt (a BOM, valid UTF-8)
    method: str


_TIE_PREFERENCE = ("cp1252", "latin_1", "iso8859_15")
# The HTML standard looks for a declaration in the first 1024 bytes; an XML declaration is at the very start.
_DECLARATION_BYTES = 1024
_DECLARED = re.compile(
    rb"<\?xml[^>]{0,200}?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']"
    rb"|<meta[^>]{0,200}?\bcharset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})",
    re.I,
)
# WHATWG Encoding Standard labels that name a superset in practice (https://encoding.spec.whatwg.org/#names-and-labels).
_WHATWG = {
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "iso8859-1": "cp1252",
    "iso-8859-9": "cp1254", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs",
    "shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "windows-31j": "cp932", "euc-kr": "cp949",
    "iso-8859-11": "cp874", "tis-620": "cp874", "iso-8859-8-i": "iso8859_8",
}  # fmt: skip
# Code pages of old platforms (Mac, HP, DOS) that short Western text often decodes in as cleanly as in Windows-1252.
_RARE_SINGLE_BYTE = frozenset({
    "mac-roman", "mac-iceland", "mac-latin2", "mac-turkish", "mac-greek", "mac-cyrillic", "hp-roman8", "cp437",
    "cp850", "cp852", "cp858", "cp775", "cp1125", "kz1048", "ptcp154", "cp1006", "cp864", "cp865", "cp860", "cp861",
    "cp862", "cp863", "cp869", "cp737", "iso8859-10", "iso8859-3", "iso8859-13", "iso8859-14", "iso8859-16",
})  # fmt: skip
# EBCDIC code pages that decode any byte string: charset-normalizer cannot tell them apart, their punctuation can.
_EBCDIC = frozenset({"cp037", "cp500", "cp1140", "cp273", "cp1026", "cp875"})
_EBCDIC_PUNCTUATION = "[]!|^"
_EBCDIC_RARE = "¢¬"
_ISO_2022_ESCAPES = {
    "iso2022_jp_2": (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D", b"\x1b$A", b"\x1b$(C"),
    "iso2022_kr": (b"\x1b$)C",),
}
_WORD = re.compile(r"[^\W\d_]{2,}")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_HALFWIDTH_KATAKANA = re.compile("[\uff61-\uff9f]")
# Fewer characters than this outside ASCII is too little evidence for a multi-byte (CJK) code page.
_MIN_MULTIBYTE_CHARACTERS = 4


def guess_encoding(sample: bytes, truncated: bool = False) -> EncodingGuess:
    """The codec that decodes `sample`, how sure the guess is, and how it was made."""
    if sample.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf-8-sig", 1.0, "byte order mark")
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return EncodingGuess("utf-32", 1.0, "byte order mark")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingGuess("utf-16", 1.0, "byte order mark")
    wide = _utf16_without_bom(sample, truncated)
    if wide is not None:
        return EncodingGuess(wide, 0.95, "NUL bytes in every other position: UTF-16 without a byte order mark")
    escaped = _iso2022(sample)
    if escaped is not None:
        return escaped
    utf8 = _valid_utf8(sample, truncated)
    declared = _declared(sample, utf8, truncated)
    if declared is not None:
        return declared
    if utf8:
        return EncodingGuess("utf-8", 1.0, "valid UTF-8")
    return _statistical(sample)


def _valid_utf8(sample: bytes, truncated: bool) -> bool:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return truncated and exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data"
    return True


def _decodes(sample: bytes, codec: str, truncated: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(codec)(errors="strict").decode(sample, final=not truncated)
    except UnicodeDecodeError:
        return None


def _utf16_without_bom(sample: bytes, truncated: bool) -> str | None:
    """UTF-16 text without a BOM (an X12 interchange saved by Windows tools): mostly ASCII, so one byte of each pair
    is NUL. Binary files have NULs too, but not in one position of every pair with printable text between them."""
    window = sample[:4096]
    window = window[: len(window) - len(window) % 2]
    if len(window) < 8:
        return None
    even, odd = window[0::2], window[1::2]
    pairs = len(window) // 2
    for codec, zeros, text in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.7 * pairs and text.count(0) <= 0.01 * pairs:
            decoded = _decodes(sample[: len(sample) - len(sample) % 2], codec, truncated)
            if decoded is None:
                continue
            controls = sum(1 for ch in decoded[:2048] if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\x1c\x1d\x1e\x1f")
            if controls <= 0.02 * min(len(decoded), 2048):
                return codec
    return None


def _iso2022(sample: bytes) -> EncodingGuess | None:
    if sample.isascii() and b"\x1b" in sample:
        for codec, escapes in _ISO_2022_ESCAPES.items():
            if any(escape in sample for escape in escapes) and _decodes(sample, codec, False) is not None:
                return EncodingGuess(codecs.lookup(codec).name, 0.9, "ISO-2022 escape sequences")
    if sample.isascii() and b"~{" in sample and b"~}" in sample and _decodes(sample, "hz", False) is not None:
        return EncodingGuess("hz", 0.8, "HZ shift sequences (~{ ... ~})")
    return None


def _declared(sample: bytes, utf8: bool, truncated: bool) -> EncodingGuess | None:
    """A charset declared by an XML prolog or an HTML <meta>, when the bytes agree with it."""
    match = _DECLARED.search(sample[:_DECLARATION_BYTES])
    if match is None:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii").lower()
    if utf8 and not sample.isascii():
        return None  # multi-byte UTF-8 sequences do not happen by chance: the declaration is stale
    for name in dict.fromkeys((label, _WHATWG.get(label, label))):  # as labelled, else the superset browsers use
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        if codec in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32") or not _ascii_compatible(codec):
            return None  # UTF-8 is confirmed by its bytes alone; a file read this far as ASCII is not UTF-16
        text = _decodes(sample, codec, truncated)
        if text is None:
            continue
        if not sample.isascii() and mess_ratio(text[:65536], maximum_threshold=1.0) > 0.2:
            return None
        return EncodingGuess(codec, 0.95, f"declared in the file ({label}) and consistent with its bytes")
    return None


def _ascii_compatible(codec: str) -> bool:
    try:
        return "ascii text <>=\"'".encode(codec) == b"ascii text <>=\"'"
    except (UnicodeEncodeError, LookupError):
        return False


def _statistical(sample: bytes) -> EncodingGuess:
    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return EncodingGuess(None, 0.0, "charset-normalizer found no encoding")
    method = f"charset-normalizer over {len(sample):,} bytes"
    confidence = round(max(0.0, 1.0 - best.chaos) * (0.5 + 0.5 * min(1.0, best.coherence + 0.5)), 2)
    chosen = best.encoding
    if is_multi_byte_encoding(chosen) and not _credible_multibyte(sample, chosen):
        single = [match for match in matches if not is_multi_byte_encoding(match.encoding)]
        fallback = _single_byte_fallback(sample, [match.encoding for match in single])
        if fallback is None:
            return EncodingGuess(codecs.lookup(chosen).name, min(confidence, 0.5), method)
        return EncodingGuess(fallback, min(confidence, 0.7),
                             f"{method}; too few characters for {chosen}, read as the single-byte {fallback}")
    if is_multi_byte_encoding(chosen):
        return EncodingGuess(codecs.lookup(chosen).name, confidence, method)
    if codecs.lookup(chosen).name in _EBCDIC:
        ebcdic = _ebcdic(sample)
        return EncodingGuess(ebcdic, min(confidence, 0.8), f"{method}; EBCDIC, {ebcdic} by its punctuation")
    near = [match for match in matches if not is_multi_byte_encoding(match.encoding)
            and match.chaos <= best.chaos + 0.1]
    # Short text leaves charset-normalizer's statistics weak: a Greek text read in a Cyrillic code page (or the
    # reverse) shows itself by words whose letter case is mixed, which no language writes.
    pick, inversions = best, _case_inversions(str(best))
    ranked = sorted(near, key=lambda match: _case_inversions(str(match)))
    if ranked and _case_inversions(str(ranked[0])) < inversions:
        pick, inversions = ranked[0], _case_inversions(str(ranked[0]))
        method = f"{method}; {best.encoding} mixes letter case inside words, {pick.encoding} does not"
        confidence = min(confidence, 0.7)
    # charset-normalizer cannot tell single-byte code pages apart when they decode the sample equally well
    # (cp1250 and cp1252 share most letters); the most common one wins such a tie.
    tied = {match.encoding for match in matches if (match.chaos, match.coherence) == (pick.chaos, pick.coherence)}
    for preferred in _TIE_PREFERENCE:
        if preferred in tied:
            return EncodingGuess(codecs.lookup(preferred).name, confidence, method)
    # Single-byte code pages often decode a sample equally cleanly, and charset-normalizer may not even list the
    # most common one: Windows-1252 is preferred when its decoding is as clean as the best candidate's.
    margin = 0.05 if codecs.lookup(pick.encoding).name in _RARE_SINGLE_BYTE else 0.01
    for preferred in _TIE_PREFERENCE:
        decoded = _decodes(sample, preferred, False)
        if decoded is not None and mess_ratio(decoded, maximum_threshold=1.0) <= pick.chaos + margin \
                and _case_inversions(decoded) <= inversions:
            return EncodingGuess(codecs.lookup(preferred).name, min(confidence, 0.7),
                                 f"{method}; {preferred} decodes it as cleanly as {pick.encoding}")
    return EncodingGuess(codecs.lookup(pick.encoding).name, confidence, method)


def _credible_multibyte(sample: bytes, codec: str) -> bool:
    """A CJK guess needs CJK text: one or two high bytes in Western text decode as a stray character (Shift_JIS
    reads a lone © byte as the half-width katakana ｩ), and UTF-16/32 without a BOM is found by its NUL pattern."""
    if codecs.lookup(codec).name.startswith(("utf-16", "utf-32")):
        return False
    text = _decodes(sample, codec, True)
    if text is None:
        return True
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if len(wide) < _MIN_MULTIBYTE_CHARACTERS or len(_HALFWIDTH_KATAKANA.findall(text)) * 2 >= len(wide):
        return False
    # CJK text runs character after character; accented letters misread as CJK stand alone between ASCII letters.
    in_runs = sum(len(run) for run in _NON_ASCII_RUN.findall(text) if len(run) >= 2)
    return in_runs * 2 >= len(wide)


def _single_byte_fallback(sample: bytes, candidates: list[str]) -> str | None:
    for codec in (*_TIE_PREFERENCE, *candidates):
        decoded = _decodes(sample, codec, False)
        if decoded is not None and mess_ratio(decoded, maximum_threshold=1.0) < 0.2:
            return codecs.lookup(codec).name
    return None


def _case_inversions(text: str) -> int:
    """Words outside ASCII whose letter case is neither lower, upper nor title case ("еллзнйкЮ", "ЕККГМИЙч"):
    what a text read in the wrong code page of another alphabet shows. ASCII words (iPhone, McDonald) are left out."""
    return sum(1 for word in _WORD.findall(text[:65536])
               if not word.isascii() and any(ch.islower() for ch in word) and any(ch.isupper() for ch in word[1:]))


def _ebcdic(sample: bytes) -> str:
    """cp037 (US) and cp500 (International) differ only in [ ] ! | ^ ¢ ¬: the reading with common punctuation and
    balanced brackets wins; cp037 on a tie, being the more common."""

    def score(text: str) -> int:
        common = sum(text.count(ch) for ch in _EBCDIC_PUNCTUATION)
        return common - 3 * sum(text.count(ch) for ch in _EBCDIC_RARE) - 2 * abs(text.count("[") - text.count("]"))

    return max(("cp037", "cp500"), key=lambda codec: score(sample.decode(codec)))

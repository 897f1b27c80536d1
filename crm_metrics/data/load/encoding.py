"""The file's encoding: UTF-8, or a single-byte Windows code page told apart by its text; a file
mixing two encodings; transcoding to UTF-8 for DuckDB's reader."""
from __future__ import annotations

import codecs
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from crm_metrics.data.load.reading import CHUNK

# The names a user may give (``--encoding``) -> the encoding read.
ENCODING_NAMES = {
    "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8",
    "windows-1251": "windows-1251", "cp1251": "windows-1251",
    "windows-1252": "windows-1252", "cp1252": "windows-1252",
    "latin-1": "windows-1252", "latin1": "windows-1252", "iso-8859-1": "windows-1252",
}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def is_utf8_file(path: Path) -> bool:
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                dec.decode(chunk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def guess_single_byte(sample: bytes) -> str:
    """Windows-1251 (Cyrillic) or Windows-1252 (Western): Cyrillic text has runs of high bytes
    forming whole words; Western text has isolated accented letters inside ASCII words."""
    runs = re.findall(rb"[\xc0-\xff]{3,}", sample)
    high = len(re.findall(rb"[\x80-\xff]", sample))
    in_runs = sum(len(r) for r in runs)
    return "windows-1251" if high and in_runs / high > 0.5 else "windows-1252"


def detect_encoding(path: Path, is_utf8: bool | None = None) -> str:
    if is_utf8_file(path) if is_utf8 is None else is_utf8:
        return "utf-8"
    with open(path, "rb") as f:
        sample = f.read(1024 * 1024)
    return guess_single_byte(sample)


# A well-formed multi-byte UTF-8 sequence. In windows-1251/1252 text such pairs are rare (an
# upper-case accented letter followed by a symbol), so a file that is not UTF-8 but has one is
# looked at line by line.
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class MixedEncoding:
    """A file whose lines are in two encodings: some UTF-8, some not."""
    first_line: int     # the first line with a non-ASCII character
    first_utf8: bool    # whether that line is UTF-8
    changed_line: int   # the first line encoded the other way

    def message(self, single_byte: str) -> str:
        utf8, other = "UTF-8", f"not UTF-8 (it reads as {single_byte})"
        a, b = (utf8, other) if self.first_utf8 else (other, utf8)
        return (f"the file mixes two encodings: line {self.first_line} is {a} but line {self.changed_line} "
                f"is {b}, so one of them would be stored garbled (e.g. Zürich as ZÃ¼rich); save the whole "
                f"file in one encoding (UTF-8), or name the encoding if the file really is {single_byte}")


def mixed_encoding(path: Path) -> MixedEncoding | None:
    """For a file that is not valid UTF-8: the first line whose encoding differs from the first
    non-ASCII line's (UTF-8 or not), or None when no line is UTF-8 with non-ASCII text (a plain
    single-byte file). Run only on files that are not UTF-8; a quick search for any UTF-8 sequence
    spares the line-by-line pass for ordinary windows-125x files."""
    tail = b""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            if UTF8_SEQUENCE.search(tail + chunk):
                break
            tail = chunk[-3:]  # a sequence cut at the chunk's end
        else:
            return None
    first: tuple[int, bool] | None = None
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8 = True
            except UnicodeDecodeError:
                utf8 = False
            if first is None:
                first = (no, utf8)
            elif utf8 != first[1]:
                return MixedEncoding(first[0], first[1], no)
    return None


def transcode(path: Path, encoding: str, tmpdir: str) -> Path:
    out = Path(tmpdir) / (uuid.uuid4().hex + ".csv")
    with open(path, encoding=encoding, errors="strict", newline="") as src, \
            open(out, "w", encoding="utf-8", newline="") as dst:
        for chunk in iter(lambda: src.read(CHUNK), ""):
            dst.write(chunk)
    return out



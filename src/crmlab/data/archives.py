"""Compressed and archived downloads: ``sales.csv.gz``, ``export.zip``, read as the file they hold.

Warehouses and shop back-ends hand out gzip, bzip2, xz or zstd files, and a
browser saves a report as a ``.zip``. The compression is told by the file's
first bytes, not by its name. The staged copy is opened into the staging
folder once, and everything after reads the file it holds; the raw copy
keeps the archive as it came, under its own checksum.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from crmlab.core.config import COMPRESSION_SUFFIXES
from crmlab.data.errors import DataError, Problem

# The part every Office Open XML document (an .xlsx workbook) holds: such a zip is a workbook, not an archive.
OFFICE_DOCUMENT = "[Content_Types].xml"
# The first bytes of each kind of file, as their formats define them.
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
         (b"PK\x03\x04", "zip"))


def packing_of(path: Path) -> str | None:
    """``gzip``, ``bzip2``, ``xz``, ``zstd`` or ``zip`` when the file's first bytes say so, else None.

    Examples
    --------
    >>> import gzip, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "sales.csv"  # the name does not say it is compressed
    >>> path.write_bytes(gzip.compress(b"a,b\\n1,2\\n")) and packing_of(path)
    'gzip'
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


def packed_note(kind: str, name: str) -> str:
    """What the profile says of a packed source."""
    what = "a zip archive" if kind == "zip" else f"{kind}-compressed"
    return f"The file is {what}; {name} was read from it (the raw copy keeps the file as it came)."


def _stream(kind: str, path: Path):
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)


def _data_members(archive: zipfile.ZipFile) -> list[str]:
    """The files of a zip that can hold data: not folders, not macOS's resource forks, not hidden files."""
    return [info.filename for info in archive.infolist() if not info.is_dir()
            and not info.filename.startswith("__MACOSX/") and not PurePosixPath(info.filename).name.startswith(".")]


def open_packed(path: Path, into: Path, *, member: str | None, label: str) -> Path | None:
    """The file a compressed or zipped ``path`` holds, written into the folder ``into``; None for a plain file.

    ``label`` names the user's file in messages. A zip must hold one data
    file, or ``member`` must name one of its files.

    Raises
    ------
    DataError
        A zip with no data file, with several and no ``member``, or without
        the ``member`` named; an archive that cannot be read through.
    """
    kind = packing_of(path)
    if kind is None:
        if member:
            raise DataError([Problem("", f"is not a zip file, but dataset.member names '{member}' in it", 0, 0)],
                            source=label)
        return None
    into.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                if OFFICE_DOCUMENT in archive.namelist():
                    return None  # an Excel workbook is itself a zip of XML parts: it is read as the workbook
                members = _data_members(archive)
                chosen = member or (members[0] if len(members) == 1 else None)
                if chosen is None or chosen not in members:
                    listed = ", ".join(members)
                    if member:
                        why = f"holds no file named '{member}' (set dataset.member to one of: {listed or 'none'})"
                    elif members:
                        why = (f"is a zip file holding {len(members)} files ({listed}); set dataset.member to the "
                               "one to read")
                    else:
                        why = "is a zip file holding no data file"
                    raise DataError([Problem("", why, 0, 0)], source=label)
                target = into / PurePosixPath(chosen).name
                with archive.open(chosen) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
            return target
        name = path.name
        for suffix in COMPRESSION_SUFFIXES:
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        target = into / name
        with _stream(kind, path) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        return target
    except _read_errors() as exc:
        raise DataError([Problem("", f"is a {kind} file that cannot be read through ({exc})", 0, 0)],
                        source=label) from None


def _read_errors() -> tuple[type[Exception], ...]:
    """What the libraries raise for an archive that cannot be read through (a cut download, say)."""
    import zstandard

    return OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile, zstandard.ZstdError

"""Reading a user's own export (CSV, Excel, Parquet) as it really comes.

Real exports are not what ``pd.read_csv(path)`` expects: they are saved in
Windows-1252 by a till system, separated by semicolons with decimal commas
in much of Europe, carry ids with leading zeros that an integer parser
would eat, repeat their header where two extracts were pasted together, and
end lines with a trailing delimiter. This module reads such a file into a
table of text columns (or typed columns for Parquet and Excel) and says
what it had to decide, so the profile report can show it. Every problem is
a :class:`crmlab.data.DataError`-style message naming the user's file,
never a traceback.

Decisions when the config is silent:

* encoding: UTF-16 or UTF-32 when a byte-order mark or the pattern of zero
  bytes says so (Excel's "Unicode Text" is UTF-16), else UTF-8 (with or
  without a byte-order mark), else Windows-1252;
* delimiter: the one of ``, ; TAB |`` that splits the first lines into the
  same number of fields, more than one;
* decimal mark (:func:`sniff_decimal`): a comma when amounts are written
  like ``3,50`` and none like ``1,234.50``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
FALLBACK_ENCODING = "cp1252"
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16",
                  "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "utf-32": "UTF-32", "utf-32-le": "UTF-32 LE",
                  "utf-32-be": "UTF-32 BE"}
# Byte-order marks, longest first: UTF-32 LE's begins with UTF-16 LE's. The codecs named read the mark themselves.
BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
                    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# What a header shows when a UTF-16, UTF-32 or UTF-8 file is decoded as a one-byte encoding.
MISDECODED = ("\x00", "ÿþ", "þÿ", "ï»¿", "\ufeff")
SNIFF_BYTES = 1 << 16
N_EXAMPLES = 5


class ReadError(ValueError):
    """The file cannot be read as a table; ``what`` says why, ``examples`` where."""

    def __init__(self, what: str, examples: list[str] | None = None):
        self.what, self.examples = what, examples or []
        super().__init__(what)


@dataclass
class SourceTable:
    """A file read as a table, with what the reader decided on the way (``notes``, for the profile report)."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- encoding


def _locate(path: Path, offset: int) -> tuple[int, int, bytes]:
    """1-based line number and column of byte ``offset``, and the start of that line."""
    line_no, line_start, done = 1, 0, 0
    with open(path, "rb") as fh:
        while done < offset:
            block = fh.read(min(1 << 20, offset - done))
            if not block:
                break
            line_no += block.count(b"\n")
            if b"\n" in block:
                line_start = done + block.rindex(b"\n") + 1
            done += len(block)
        fh.seek(line_start)
        line = fh.read(120).split(b"\n", 1)[0]
    return line_no, offset - line_start + 1, line


def first_undecodable(path: Path, encoding: str) -> int | None:
    """Byte offset of the first byte ``encoding`` cannot decode, or None when the file decodes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(1 << 20)
            # Bytes of a character cut by the previous block are decoded again with this one.
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return done - pending + exc.start
            if not block:
                return None
            done += len(block)


def detect_unicode(head: bytes) -> tuple[str, str] | None:
    r"""A UTF-16 or UTF-32 encoding the first bytes of a file show, and how they show it; None when they show none.

    A byte-order mark says so outright. Without one, text that is mostly
    ASCII (as headers, dates and amounts are) leaves a zero byte beside every
    character: every other byte in UTF-16, three of four in UTF-32, on the
    side of the byte order.

    Examples
    --------
    >>> detect_unicode("Name\tDate".encode("utf-16"))
    ('utf-16', 'byte-order mark')
    >>> detect_unicode("Name\tDate\n".encode("utf-16-be"))
    ('utf-16-be', 'zero bytes')
    >>> detect_unicode("Name,Date".encode("utf-8")) is None
    True
    """
    for mark, encoding in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return (encoding, "byte-order mark") if encoding != "utf-8-sig" else None
    head = head[:len(head) - len(head) % 4]
    if len(head) < 8:
        return None
    zero = [head[i::4].count(0) / len(head[i::4]) for i in range(4)]
    if min(zero[1:]) > 0.9 and zero[0] < 0.1:
        return "utf-32-le", "zero bytes"
    if min(zero[:3]) > 0.9 and zero[3] < 0.1:
        return "utf-32-be", "zero bytes"
    even, odd = (zero[0] + zero[2]) / 2, (zero[1] + zero[3]) / 2
    if odd > 0.9 and even < 0.1:
        return "utf-16-le", "zero bytes"
    if even > 0.9 and odd < 0.1:
        return "utf-16-be", "zero bytes"
    return None


def choose_encoding(path: Path, configured: str | None) -> tuple[str, list[str]]:
    """The encoding to read ``path`` with, and a note when it is not plain UTF-8.

    Raises
    ------
    ReadError
        When the configured encoding (or, without one, both UTF-8 and
        Windows-1252) cannot decode the file; names the line.
    """
    candidates = [configured] if configured else ["utf-8-sig", FALLBACK_ENCODING]
    detected = None
    if not configured:
        with open(path, "rb") as fh:
            detected = detect_unicode(fh.read(4096))
        if detected:
            candidates = [detected[0]]
    failures = []
    for encoding in candidates:
        offset = first_undecodable(path, encoding)
        if offset is None:
            notes = []
            if detected:
                notes.append(f"The file is {ENCODING_NAMES[encoding]} (detected from its {detected[1]}; set "
                             "dataset.encoding to override).")
            elif not configured and encoding == FALLBACK_ENCODING:
                notes.append("The file is not valid UTF-8; it was read as Windows-1252 (set dataset.encoding "
                             "if another encoding is meant).")
            return encoding, notes
        failures.append((encoding, offset))
    encoding, offset = failures[0]
    line_no, column, line = _locate(path, offset)
    tried = " or ".join(ENCODING_NAMES.get(e, e) for e, _ in failures)
    hint = ("set dataset.encoding to the file's encoding" if not configured
            else f"dataset.encoding is '{configured}'; is the file saved in another encoding?")
    raise ReadError(f"cannot be decoded as {tried} ({hint})",
                    [f"line {line_no}, byte {column}: {line!r}"])


# --------------------------------------------------------------------------- dialect


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's lines into the same number of fields (more than one).

    Examples
    --------
    >>> sniff_delimiter("a;b;c\\n1;2,5;3\\n4;5;6\\n")
    ';'
    >>> sniff_delimiter('id,name\\n1,"Smith; John"\\n2,"Doe; Jane"\\n')
    ','
    """
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end in the middle of a record
    text = "".join(lines[:200])
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
        except csv.Error:
            continue
        if not counts:
            continue
        header = counts[0]
        if header < 2:
            continue
        # Trailing delimiters add one empty field to data lines; they still count as consistent.
        consistent = sum(c in (header, header + 1) for c in counts) / len(counts)
        score = (consistent, header)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _amount_pattern(decimal: str) -> re.Pattern:
    group = "." if decimal == "," else ","
    # An exponent too: exports written from floating-point columns carry values like 4.4e-16.
    return re.compile(rf"^[+-]?(\d{{1,3}}(\{group}\d{{3}})+|\d*)(\{decimal}\d+)?([eE][+-]?\d+)?$")


def sniff_decimal(values: list[pd.Series]) -> str:
    """``","`` when amounts are written with a decimal comma (``3,50``), else ``"."``.

    Examples
    --------
    >>> sniff_decimal([pd.Series(["3,50", "1.234,00", "7"])])
    ','
    >>> sniff_decimal([pd.Series(["3.50", "1,234.00", "7"])])
    '.'
    """
    comma_decimal, point_decimal = decimal_shapes(values)
    return "," if comma_decimal and not point_decimal else "."


def decimal_shapes(values: list[pd.Series]) -> tuple[bool, bool]:
    """Whether any amount is written like a decimal comma (``3,50``), and any like a decimal point (``3.50``).

    For a file read in chunks: the shapes of all chunks together decide, as :func:`sniff_decimal` decides on one.
    """
    text = pd.concat([v.dropna().astype(str).str.strip() for v in values]) if values else pd.Series([], dtype=str)
    # "1,234" and "1.234" could be either (a thousands group); only other shapes decide.
    comma_decimal = text.str.contains(r"\d,(?:\d{1,2}|\d{4,})$|^[+-]?,\d+$", regex=True)
    point_decimal = text.str.contains(r"\d\.(?:\d{1,2}|\d{4,})$|^[+-]?\.\d+$", regex=True)
    return bool(comma_decimal.any()), bool(point_decimal.any())


def parse_amounts(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Amount text as numbers; thousands separators go, ``decimal`` is the decimal mark. NaN where unreadable.

    Examples
    --------
    >>> parse_amounts(pd.Series(["1.234,50", "-3,5", "7"]), ",").tolist()
    [1234.5, -3.5, 7.0]
    >>> parse_amounts(pd.Series(["1,234.50", "abc", "4.4e-16"]), ".").tolist()
    [1234.5, nan, 4.4e-16]
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.strip().str.replace("\u00a0", "", regex=False)
    text = text.str.replace(r"(?<=\d)[ '](?=\d{3}\b)", "", regex=True)  # 1 234,50 and 1'234.50
    well_formed = text.str.fullmatch(_amount_pattern(decimal).pattern).fillna(False)
    group = "." if decimal == "," else ","
    cleaned = text.where(well_formed).str.replace(group, "", regex=False)
    if decimal == ",":
        cleaned = cleaned.str.replace(",", ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def id_text(values: pd.Series) -> pd.Series:
    """Ids as the text they were written as: ``00012000`` stays itself, ``12000.0`` from a spreadsheet is ``12000``.

    Examples
    --------
    >>> id_text(pd.Series(["00012000", " 12000 ", None])).tolist()
    ['00012000', '12000', <NA>]
    >>> id_text(pd.Series([12000.0, 7.0])).tolist()
    ['12000', '7']
    """
    if pd.api.types.is_integer_dtype(values):
        return values.astype("string")
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna() % 1 == 0
        if whole.all():
            return values.astype("Int64").astype("string")
        return values.astype("string")

    def one(value):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return pd.NA
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # a spreadsheet cell holding a number
        return str(value).strip()

    return values.map(one).astype("string")


# --------------------------------------------------------------------------- files


def csv_dialect(path: Path, *, encoding: str | None = None,
                delimiter: str | None = None) -> tuple[str, str, list[str]]:
    """The encoding and delimiter to read ``path`` with, and notes on what was detected.

    Reads the file once to check its encoding (block by block) and its first
    64 KiB to sniff the delimiter; never loads it.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise ReadError("is empty (0 bytes): it has no header and no data rows")
    encoding, notes = choose_encoding(path, encoding)
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(SNIFF_BYTES)
    if not sample.strip():
        raise ReadError("holds only blank lines: it has no header and no data rows")
    header = sample.split("\n", 1)[0]
    if any(sign in header for sign in MISDECODED):
        raise ReadError(f"has a header that looks mis-decoded as {ENCODING_NAMES.get(encoding, encoding)} "
                        f"(it begins {header[:24]!r}): set dataset.encoding to the file's encoding (Excel's "
                        "'Unicode Text' export is utf-16)")
    if delimiter is None:
        delimiter = sniff_delimiter(sample)
        if delimiter != ",":
            notes.append(f"The file is {DELIMITER_NAMES[delimiter]}-separated (detected; set dataset.delimiter "
                         "to override).")
    return encoding, delimiter, notes


def _tidy_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    # The empty column a trailing delimiter on the header line makes.
    return frame.loc[:, [not (c.startswith("Unnamed: ") and frame[c].isna().all()) for c in frame.columns]]


def read_csv(path: Path, *, encoding: str | None = None, delimiter: str | None = None) -> SourceTable:
    """Read a delimited text file into text columns (ids keep their leading zeros).

    Blank rows and copies of the header row (two extracts pasted into one
    file) are dropped and counted; a trailing delimiter at the end of lines
    is tolerated; quoted fields may hold the delimiter and line breaks.
    """
    path = Path(path)
    encoding, delimiter, notes = csv_dialect(path, encoding=encoding, delimiter=delimiter)
    try:
        frame = pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str,
                            # index_col=False: a trailing delimiter must not turn the first column into an index
                            index_col=False, skip_blank_lines=True, engine="c", low_memory=False)
    except pd.errors.EmptyDataError:
        raise ReadError("has no header row and no data rows") from None
    except pd.errors.ParserError as exc:
        width = _width_with_trailing_delimiters(path, encoding, delimiter, exc)
        frame = pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str, index_col=False,
                            usecols=range(width), skip_blank_lines=True, engine="c", low_memory=False)
    table = SourceTable(_tidy_columns(frame), notes=notes)
    return _drop_layout_rows(table)


def read_csv_chunks(path: Path, encoding: str, delimiter: str, rows: int, width: int | None = None):
    """The file's rows as text frames of at most ``rows`` rows each, in file order, layout rows still in.

    For files too large to load. ``width`` (the header's number of fields)
    reads only that many fields of each line, for files with trailing
    delimiters.

    Raises
    ------
    TrailingDelimiters
        When some lines end with empty extra fields: read again with its ``width``.
    ReadError
        When the file cannot be read as a table.
    """
    try:
        reader = pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str, index_col=False,
                             usecols=range(width) if width else None, skip_blank_lines=True, engine="c",
                             chunksize=rows)
        with reader:
            for frame in reader:
                yield _tidy_columns(frame)
    except pd.errors.EmptyDataError:
        raise ReadError("has no header row and no data rows") from None
    except pd.errors.ParserError as exc:
        if width:
            raise _parser_error(exc, delimiter) from None
        raise TrailingDelimiters(_width_with_trailing_delimiters(path, encoding, delimiter, exc)) from None


class TrailingDelimiters(Exception):
    """Some lines end with empty extra fields; ``width`` is the header's number of fields."""

    def __init__(self, width: int):
        self.width = width
        super().__init__(width)


def _width_with_trailing_delimiters(path: Path, encoding: str, delimiter: str, exc: Exception) -> int:
    """The header's number of fields, when the only extra fields are empty ones (some lines end with a delimiter).

    Pandas accepts a trailing delimiter only when the first data line has one
    too; here every line is checked (streaming), and a line whose extra fields hold text
    is an error naming it.
    """
    if not re.search(r"Expected \d+ fields in line \d+", str(exc)):
        raise _parser_error(exc, delimiter) from None
    with open(path, encoding=encoding, newline="") as fh:
        rows = csv.reader(fh, delimiter=delimiter)
        width = len(next(rows))
        overfull = [(rows.line_num, len(row)) for row in rows
                    if len(row) > width and any(f.strip() for f in row[width:])]
    if overfull:
        lines = ", ".join(f"line {line} ({n} fields)" for line, n in overfull[:N_EXAMPLES])
        raise ReadError(f"has {len(overfull):,} line(s) with more fields than the header's {width} "
                        f"(separated by '{DELIMITER_NAMES.get(delimiter, delimiter)}'): an unquoted delimiter "
                        "inside a value, or a wrong dataset.delimiter", [lines])
    return width


def _parser_error(exc: Exception, delimiter: str) -> ReadError:
    text = str(exc)
    if "EOF inside string" in text:
        found = re.search(r"starting at row (\d+)", text)
        where = [f"row {int(found.group(1)) + 1}"] if found else []
        return ReadError("has a quoted value that is never closed (a stray double quote)", where)
    return ReadError(f"cannot be read as a {DELIMITER_NAMES.get(delimiter, delimiter)}-separated table: "
                     f"{text.splitlines()[-1]}")


def layout_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the rows that are blank (every field empty) and of those that repeat the header."""
    if frame.empty:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    blank = frame.isna().all(axis=1)
    if frame.dtypes.map(lambda d: d == object or pd.api.types.is_string_dtype(d)).all():
        blank |= frame.apply(lambda s: s.astype("string").str.strip().fillna("") == "").all(axis=1)
    header_names = pd.Series([str(c) for c in frame.columns], index=frame.columns)
    repeated = frame.astype("string").apply(lambda s: s.str.strip() == header_names[s.name]).fillna(False).all(axis=1)
    return blank.to_numpy(), (repeated & ~blank).to_numpy()


LAYOUT_WHAT = ("blank rows (every field empty) were dropped",
               "rows repeat the header (extracts pasted together) and were dropped")


def layout_note(count: int, first_rows: list[int], what: str) -> str:
    """The note on dropped layout rows; ``first_rows`` are 0-based data-row positions (the file line is 2 more)."""
    rows = ", ".join(str(i + 2) for i in first_rows[:N_EXAMPLES])
    return f"{count:,} {what} (file lines near {rows})."


def _drop_layout_rows(table: SourceTable) -> SourceTable:
    frame = table.frame
    if frame.empty:
        return table
    blank, repeated = layout_rows(frame)
    for mask, what in zip((blank, repeated), LAYOUT_WHAT):
        if mask.any():
            table.notes.append(layout_note(int(mask.sum()), np.flatnonzero(mask)[:N_EXAMPLES].tolist(), what))
    table.frame = frame.loc[~(blank | repeated)].reset_index(drop=True)
    return table


def read_excel(path: Path, *, sheet: str | int | None = None) -> SourceTable:
    """Read one sheet of an ``.xlsx`` workbook (the first unless ``sheet`` names another)."""
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise ReadError("is an Excel file, and reading it needs the openpyxl package") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a corrupt or mislabelled file raises one of several zip/xml errors
        hint = "; save it as .xlsx (the old .xls format is not read)" if Path(path).suffix.lower() == ".xls" else ""
        raise ReadError(f"cannot be opened as an Excel workbook ({type(exc).__name__}: {exc}){hint}") from None
    names = book.sheetnames
    book.close()
    if sheet is None:
        chosen = names[0]
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise ReadError(f"has no sheet number {sheet} (it has {len(names)}: {', '.join(names)})")
        chosen = names[sheet]
    elif sheet in names:
        chosen = sheet
    else:
        raise ReadError(f"has no sheet '{sheet}' (it has: {', '.join(names)}); set dataset.sheet")
    frame = _tidy_columns(pd.read_excel(path, sheet_name=chosen, dtype=object, engine="openpyxl"))
    notes = [f"Read the sheet '{chosen}' of {len(names)}."] if len(names) > 1 else []
    return _drop_layout_rows(SourceTable(frame, notes=notes))


def read_parquet(path: Path) -> SourceTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a file that is not Parquet
        raise ReadError(f"cannot be read as Parquet ({type(exc).__name__}: {exc})") from None
    return SourceTable(frame)


def read_source(path: Path, fmt: str, *, encoding: str | None = None, delimiter: str | None = None,
                sheet: str | int | None = None) -> SourceTable:
    """Read ``path`` as ``fmt`` (``csv``, ``excel`` or ``parquet``)."""
    if fmt == "csv":
        return read_csv(path, encoding=encoding, delimiter=delimiter)
    if fmt == "excel":
        return read_excel(path, sheet=sheet)
    return read_parquet(path)

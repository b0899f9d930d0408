"""The one writer of files: complete or not at all, and the names of a prepared dataset's files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

# A prepared dataset's folder holds config.TRANSACTIONS and these.
MANIFEST = "manifest.json"
RETURNS = "returns.parquet"
CUSTOMER_ATTRIBUTES = "customer_attributes.parquet"


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



"""The one configuration schema of crmlab.

A config is a YAML file with these top-level keys::

    dataset:          # where the transactions come from and how to read them
      name: complete_journey
      source: complete_journey
    data_dir: data    # raw/ and processed/ live below it
    notebooks:        # per-notebook parameters, passed to papermill
      profile:
        top_months: 12
    sharing:          # optional: what leadership pages may show
      min_group_customers: 10   # 0: an internal run, pages say "internal: not for sharing"
    engine:           # optional: where the per-line work runs (see crmlab.engine)
      name: duckdb            # default; or spark
      memory_limit: 8GB       # duckdb, for the whole run (default: a fifth of the RAM); spills
                              # to <data_dir>/.engine-tmp beyond it
      master: local[2]        # spark: local[N], spark://host:7077, yarn, ...
      conf: {}                # spark: extra settings

The dataset, engine and sharing sections are checked by :mod:`crmlab.core.schema`
(:func:`~crmlab.core.schema.load_config`), each key against its declared
constraints. Each entry under ``notebooks`` names a notebook and maps its
parameters (or is ``false``: the report is switched off for this dataset);
those are checked against each analysis class's declared constraints by
:func:`crmlab.running.parameters.check_config`, which ``crmlab run`` and
``crmlab data prepare`` call before anything runs. Relative paths are taken
from the working directory (the project root when run through ``make``).

A leaf module: it imports nothing of crmlab, so every other module may read it.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUNDLED_SOURCES = ("complete_journey", "cdnow", "cdnow_sample")
# A user's own data: a file (or Parquet folder), or a table of the Spark cluster.
USER_SOURCES = ("file", "table")
# A table name as Spark's catalog takes it: table, db.table or catalog.db.table.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
FILE_FORMATS = ("csv", "parquet", "excel")
RETURNS_POLICIES = ("exclude", "keep")
ENGINE_NAMES = ("duckdb", "spark")
DUPLICATES_POLICIES = ("drop", "keep")
CANONICAL_COLUMNS = (
    "customer_id",
    "order_id",
    "order_date",
    "product_id",
    "category",
    "quantity",
    "revenue",
    "discount",
)
# Besides the canonical columns, a mapping may name these source columns.
EXTRA_MAPPABLE = ("unit_price", "department", "cost")

# An installed wheel carries the notebooks as package data (setup.py copies them in); a source checkout,
# editable install included, runs them from notebooks/ at the top of the repository.
_PACKAGED_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS_DIR = (_PACKAGED_NOTEBOOKS if _PACKAGED_NOTEBOOKS.is_dir()
                 else Path(__file__).resolve().parents[3] / "notebooks")
# The canonical table in a prepared dataset folder (written by the data layer, scanned by the engine).
TRANSACTIONS = "transactions.parquet"


# Compressed downloads are read through (crmlab.data.archives): the name before these says what they hold.
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
# A zip's format is that of the file inside it.
ARCHIVE_SUFFIXES = (".zip",)


def format_from_suffix(path: str | Path) -> str | None:
    """``csv``, ``parquet`` or ``excel`` from a file name; the bare suffix otherwise.

    A folder is a Parquet folder (part files, as Spark and warehouse exports
    write them). A compression suffix is looked through (``sales.csv.gz`` is
    a CSV file); a zip's format is the file's inside it, known once it is
    opened (None here).

    Examples
    --------
    >>> [format_from_suffix(n) for n in ("sales.CSV", "sales.csv.gz", "book.xlsx.zst", "export.zip", "a.json")]
    ['csv', 'csv', 'excel', None, 'json']
    """
    if Path(path).is_dir():
        return "parquet"
    name = Path(path).name.lower()
    if name.endswith(ARCHIVE_SUFFIXES):
        return None
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    suffix = Path(name).suffix
    return {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".xlsx": "excel", ".xls": "excel"}.get(suffix, suffix.lstrip(".") or None)


class ConfigError(ValueError):
    """A config file that does not fit the schema."""


@dataclass(frozen=True)
class DatasetConfig:
    """Where the transactions come from and how to turn them into the canonical table.

    Parameters
    ----------
    name : str
        Folder name under ``data/raw`` and ``data/processed``.
    source : str
        A bundled dataset (``complete_journey``, ``cdnow``, ``cdnow_sample``),
        ``file`` for a CSV, Parquet or Excel file (or a Parquet folder) of
        your own, or ``table`` for a table the Spark cluster already has
        (with ``engine: {name: spark}``).
    path : str, optional
        The file or folder, when ``source`` is ``file``.
    table : str, optional
        The table (``db.transactions``), when ``source`` is ``table``.
    format : str, optional
        ``csv``, ``parquet`` or ``excel``; taken from the file suffix when absent.
    columns : dict
        Canonical name -> source column, e.g. ``{"customer_id": "CustomerID"}``.
        ``revenue`` may be replaced by ``unit_price``: revenue is then
        quantity x unit price. ``cost`` (the line's cost of goods) is optional;
        with it the value analysis ranks customers by gross margin too.
    date_format : str, optional
        strptime format of ``order_date``; parsed leniently when absent.
    returns : str
        ``exclude`` (default): lines with negative quantity or revenue are
        returns or cancellations, kept out of the table and reported.
        ``keep``: they stay in the table as negative lines.
    duplicates : str
        ``drop`` (default): exact duplicate lines are dropped and counted.
        ``keep``: for sources without order and product ids (CDNOW), where
        two identical lines are two genuine purchases of the same amount.
    observation_end : str, optional
        The date the extract was taken. A line dated after it is an error;
        without it, a line dated after the day of the run is.
    encoding : str, optional
        The text encoding of a CSV file (``utf-8``, ``cp1252``, ``latin-1``,
        ...). When absent: UTF-8 (with or without a byte-order mark), and
        failing that Windows-1252, which the profile report then names.
    delimiter : str, optional
        The CSV field separator, one character; detected among ``, ; TAB |``
        when absent.
    decimal : str, optional
        The decimal mark of amounts in a CSV file, ``.`` or ``,``; detected
        when absent (``3,50`` with no ``1,234.50`` means a decimal comma).
    sheet : str or int, optional
        The Excel sheet to read, by name or 0-based position; the first when absent.
    member : str, optional
        The file to read inside a ``.zip`` that holds several.
    timezone : str, optional
        The IANA time zone orders are counted in (``Europe/Paris``).
        Timestamps carrying a UTC offset are converted to it; timestamps
        without one are taken as already in it. When absent: the zone of the
        first offset seen, or the timestamps' own local time.
    customers_path : str, optional
        A file of customer attributes (demographics), one row per customer.
    customers_id_column : str, optional
        Its customer id column; defaults to the mapped ``customer_id`` name.
    currency : str
        The currency symbol shown with amounts in the reports.
    """

    name: str
    source: str = "complete_journey"
    path: str | None = None
    table: str | None = None
    format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    returns: str = "exclude"
    duplicates: str = "drop"
    observation_end: str | None = None
    customers_path: str | None = None
    customers_id_column: str | None = None
    currency: str = "$"
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | int | None = None
    timezone: str | None = None
    member: str | None = None

    @property
    def file_format(self) -> str | None:
        if self.source == "table":
            return "parquet"  # the table is prepared from a Parquet snapshot of it
        if self.format:
            return self.format
        return format_from_suffix(self.path) if self.path else None

    def fingerprint(self) -> str:
        """A hash of everything that shapes the canonical table, to know when to prepare again."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


MEMORY_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
                "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(text: str) -> int:
    """A memory size as DuckDB writes it ("8GB", "6.5 GiB", "500MB") in bytes.

    Examples
    --------
    >>> memory_bytes("8GB"), memory_bytes("1.5 GiB")
    (8000000000, 1610612736)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in MEMORY_UNITS:
        raise ValueError(f"expected a size such as 8GB, 500MB or 6GiB, got {text!r}")
    return int(float(match.group(1)) * MEMORY_UNITS[unit])


def physical_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# DuckDB's share of the RAM for a whole run when ``engine.memory_limit`` is unset. DuckDB's own
# default (80% per connection, one connection per report running) let complete_journey x100 peak
# at 20.1 GB on a 24 GB machine; the reports' pandas tables and the miner live outside it. With a
# quarter the run still peaked at 8.5 GB there (issue 29 asks a third of the RAM at most), the
# baskets kernel holding about 1.5 GiB of its own beside DuckDB's share: hence a fifth.
DEFAULT_MEMORY_SHARE = 0.2


@dataclass(frozen=True)
class EngineConfig:
    """Where the per-line work runs: the ``engine:`` section of a config.

    Examples
    --------
    >>> EngineConfig.from_mapping({"name": "spark", "conf": {"spark.driver.memory": "4g"}}).master
    'local[2]'
    """

    name: str = "duckdb"
    # DuckDB: its memory limit for the whole run ("8GB"; a fifth of the RAM when unset), shared
    # by the reports that run at the same time; threads (one per core, at least 3, when unset).
    memory_limit: str | None = None
    threads: int | None = None
    # Scratch files: where DuckDB spills beyond its limit, and Spark's local and warehouse folders.
    temp_directory: str | None = None
    # Spark: the master URL and extra settings.
    master: str = "local[2]"
    conf: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, raw: Any) -> "EngineConfig":
        """An ``engine:`` section as a notebook receives it (checked already by :mod:`crmlab.core.schema`)."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ConfigError(f"engine: expected a mapping, got {raw!r}")
        unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"engine: unknown key(s) {unknown}")
        return cls(**{**raw, "conf": dict(raw.get("conf") or {})})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {})}

    def duckdb_memory_limit(self, share: int = 1) -> str:
        """DuckDB's memory limit for one of ``share`` connections running at once.

        ``memory_limit`` when set, else :data:`DEFAULT_MEMORY_SHARE` of the
        RAM, divided among the ``share`` connections: the limit holds for
        the whole run, whatever the number of reports side by side.

        Examples
        --------
        >>> eight = EngineConfig(memory_limit="8GB")
        >>> eight.duckdb_memory_limit(), eight.duckdb_memory_limit(share=2)
        ('8GB', '3814MiB')
        """
        if self.memory_limit and share <= 1:
            return self.memory_limit
        budget = (memory_bytes(self.memory_limit) if self.memory_limit
                  else int(DEFAULT_MEMORY_SHARE * physical_memory()))
        return f"{budget // max(1, share) // 2**20}MiB"


@dataclass(frozen=True)
class Config:
    """A whole run: the dataset, where data lives, and each notebook's parameters."""

    dataset: DatasetConfig
    data_dir: Path = Path("data")
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Reports switched off for this dataset (``name: false`` in the config).
    skipped: list[str] = field(default_factory=list)
    path: Path | None = None
    # Leadership pages suppress groups of fewer customers than this (0: an internal run).
    min_group_customers: int = 10
    engine: EngineConfig = field(default_factory=EngineConfig)

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw" / self.dataset.name

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed" / self.dataset.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": {k: v for k, v in dataclasses.asdict(self.dataset).items()
                        if v not in (None, {})},
            "data_dir": str(self.data_dir),
            "notebooks": self.notebooks,
            "skipped": self.skipped,
            "sharing": {"min_group_customers": self.min_group_customers},
            "engine": self.engine.to_dict(),
        }

    def engine_settings(self, share: int = 1) -> dict[str, Any]:
        """The ``engine:`` section as a notebook gets it: scratch files go below ``data_dir``.

        ``share``: notebooks running at the same time. Each runs its own DuckDB,
        so each gets that fraction of ``memory_limit`` (of a fifth of the
        RAM when unset): the limit holds for the whole run.
        """
        settings = self.engine.to_dict()
        if self.engine.name == "duckdb":
            settings["memory_limit"] = self.engine.duckdb_memory_limit(share)
        if not self.engine.temp_directory:
            settings["temp_directory"] = str((self.data_dir / ".engine-tmp").resolve())
        return settings


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The names and literal defaults of a notebook's ``parameters`` cell.

    Raises
    ------
    ConfigError
        When the notebook has no such cell, more than one, or a default that
        is not a literal (papermill can only override plain assignments).
    """
    nb = json.loads(Path(notebook).read_text())
    cells = [c for c in nb["cells"]
             if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(f"{notebook.name}: expected one cell tagged 'parameters', found {len(cells)}")
    source = "".join(cells[0]["source"])
    params: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            raise ConfigError(f"{notebook.name}: the parameters cell may hold only 'name = literal' lines")
        try:
            params[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError as exc:
            raise ConfigError(
                f"{notebook.name}: parameter {node.targets[0].id!r} is not a literal"
            ) from exc
    return params


def available_notebooks(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """The notebooks in ``notebooks_dir``, by name (the runner orders them by what they need)."""
    return sorted(p.stem for p in Path(notebooks_dir).glob("*.ipynb"))

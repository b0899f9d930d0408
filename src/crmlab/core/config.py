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
      memory_limit: 8GB       # duckdb: spills to <data_dir>/.engine-tmp beyond it
      master: local[2]        # spark: local[N], spark://host:7077, yarn, ...
      conf: {}                # spark: extra settings

``dataset`` is checked against :class:`DatasetConfig`. Each entry under
``notebooks`` names a notebook and maps its parameters (or is ``false``: the
report is switched off for this dataset). The values themselves are checked
against each analysis class's declared constraints by
:func:`crmlab.running.parameters.check_config`, which ``crmlab run`` and ``crmlab data
prepare`` call before anything runs. Relative paths are taken from the
working directory (the project root when run through ``make``).

A leaf module: it imports nothing of crmlab, so every other module may read it.
"""

from __future__ import annotations

import ast
import codecs
import dataclasses
import hashlib
import json
import os
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

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

NOTEBOOKS_DIR = Path(__file__).resolve().parents[3] / "notebooks"
# The canonical table in a prepared dataset folder (written by the data layer, scanned by the engine).
TRANSACTIONS = "transactions.parquet"


def format_from_suffix(path: str | Path) -> str | None:
    """``csv``, ``parquet`` or ``excel`` from a file name; the bare suffix otherwise.

    A folder is a Parquet folder (part files, as Spark and warehouse exports write them).
    """
    if Path(path).is_dir():
        return "parquet"
    suffix = Path(path).suffix.lower()
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

    def __post_init__(self) -> None:
        if self.source not in (*BUNDLED_SOURCES, *USER_SOURCES):
            raise ConfigError(
                f"dataset.source: {self.source!r} is neither a bundled dataset "
                f"({', '.join(BUNDLED_SOURCES)}) nor 'file' or 'table'"
            )
        if self.source == "table":
            if not self.table or not TABLE_NAME.fullmatch(self.table):
                raise ConfigError(f"dataset.table: expected a table name such as db.transactions when "
                                  f"dataset.source is 'table', got {self.table!r}")
            if self.path or self.format:
                raise ConfigError("dataset.path and dataset.format are for files; a table is named by dataset.table")
        elif self.table:
            raise ConfigError("dataset.table is for dataset.source: table")
        if self.source == "file":
            if not self.path:
                raise ConfigError("dataset.path is required when dataset.source is 'file'")
            fmt = self.file_format
            if fmt not in FILE_FORMATS:
                raise ConfigError(
                    f"dataset.format: {fmt!r} is not one of {', '.join(FILE_FORMATS)}"
                )
        if self.returns not in RETURNS_POLICIES:
            raise ConfigError(
                f"dataset.returns: {self.returns!r} is not one of {', '.join(RETURNS_POLICIES)}"
            )
        if self.duplicates not in DUPLICATES_POLICIES:
            raise ConfigError(
                f"dataset.duplicates: {self.duplicates!r} is not one of {', '.join(DUPLICATES_POLICIES)}"
            )
        unknown = sorted(set(self.columns) - set(CANONICAL_COLUMNS) - set(EXTRA_MAPPABLE))
        if unknown:
            raise ConfigError(
                f"dataset.columns: unknown canonical column(s) {unknown}; "
                f"known: {', '.join(CANONICAL_COLUMNS + EXTRA_MAPPABLE)}"
            )
        if "revenue" in self.columns and "unit_price" in self.columns:
            raise ConfigError("dataset.columns: give either 'revenue' or 'unit_price', not both")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ConfigError(f"dataset.encoding: {self.encoding!r} is not an encoding Python knows "
                                  "(e.g. utf-8, cp1252, latin-1)") from None
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ConfigError(f"dataset.delimiter: expected one character (',', ';', '\\t', '|'), "
                              f"got {self.delimiter!r}")
        if self.decimal not in (None, ".", ","):
            raise ConfigError(f"dataset.decimal: expected '.' or ',', got {self.decimal!r}")
        if self.delimiter is not None and self.delimiter == self.decimal:
            raise ConfigError("dataset.delimiter and dataset.decimal cannot be the same character")
        if self.timezone is not None:
            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ConfigError(f"dataset.timezone: {self.timezone!r} is not an IANA time zone "
                                  "(e.g. Europe/Paris, America/New_York, UTC)") from None

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


@dataclass(frozen=True)
class EngineConfig:
    """Where the per-line work runs: the ``engine:`` section of a config.

    Examples
    --------
    >>> EngineConfig.from_mapping({"name": "spark", "conf": {"spark.driver.memory": "4g"}}).master
    'local[2]'
    """

    name: str = "duckdb"
    # DuckDB: its memory limit ("8GB"; DuckDB's own default, 80% of RAM, when unset), shared
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
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ConfigError(f"engine: expected a mapping, got {raw!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"engine: unknown key(s) {unknown}; known: {', '.join(sorted(known))}")
        problems = []
        if raw.get("name", "duckdb") not in ENGINE_NAMES:
            problems.append(f"engine.name: expected one of {', '.join(ENGINE_NAMES)}, got {raw.get('name')!r}")
        for key in ("memory_limit", "temp_directory", "master"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                problems.append(f"engine.{key}: expected text, got {raw[key]!r}")
        if isinstance(raw.get("memory_limit"), str):
            try:
                memory_bytes(raw["memory_limit"])
            except ValueError as exc:
                problems.append(f"engine.memory_limit: {exc}")
        threads = raw.get("threads")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            problems.append(f"engine.threads: expected a whole number >= 1, got {threads!r}")
        if not isinstance(raw.get("conf", {}) or {}, dict):
            problems.append(f"engine.conf: expected a mapping of Spark settings, got {raw.get('conf')!r}")
        if problems:
            raise ConfigError("\n".join(problems))
        return cls(**{**raw, "conf": dict(raw.get("conf") or {})})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {})}


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
        so each gets that fraction of ``memory_limit`` (of DuckDB's default,
        80% of the RAM, when unset): the limit holds for the whole run.
        """
        settings = self.engine.to_dict()
        if self.engine.name == "duckdb" and share > 1:
            budget = (memory_bytes(self.engine.memory_limit) if self.engine.memory_limit
                      else int(0.8 * physical_memory()))
            settings["memory_limit"] = f"{budget // share // 2**20}MiB"
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


def _plain(value: Any) -> Any:
    """YAML reads ``2017-07-02`` as a date; papermill injects text, so dates become ISO text."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def parse_config(raw: dict[str, Any], *, path: Path | None = None,
                 notebooks_dir: Path = NOTEBOOKS_DIR) -> Config:
    """Check a config mapping against the schema and build a :class:`Config`."""
    if not isinstance(raw, dict):
        raise ConfigError("a config must be a mapping with the keys dataset, data_dir, notebooks")
    unknown = sorted(set(raw) - {"dataset", "data_dir", "notebooks", "sharing", "engine"})
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; known: dataset, data_dir, notebooks, sharing, "
                          "engine")
    if "dataset" not in raw or not isinstance(raw["dataset"], dict):
        raise ConfigError("the config needs a 'dataset' mapping")

    fields = {f.name: f for f in dataclasses.fields(DatasetConfig)}
    unknown = sorted(set(raw["dataset"]) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key(s) in dataset: {unknown}; known: {', '.join(fields)}")
    dataset_raw = dict(raw["dataset"])
    dataset_raw.setdefault("name", dataset_raw.get("source", "complete_journey"))
    for key, value in dataset_raw.items():
        if key == "columns":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError("dataset.columns must map canonical names to source column names")
        elif key == "observation_end" and value is not None:
            dataset_raw[key] = str(value)  # YAML reads 2018-06-30 as a date
        elif key == "sheet" and isinstance(value, int) and not isinstance(value, bool):
            continue  # a sheet by position
        elif value is not None and not isinstance(value, str):
            raise ConfigError(f"dataset.{key}: expected text, got {value!r}")
    dataset = DatasetConfig(**dataset_raw)

    notebooks_raw = raw.get("notebooks") or {}
    if not isinstance(notebooks_raw, dict):
        raise ConfigError("'notebooks' must map notebook names to their parameters")
    known = available_notebooks(notebooks_dir)
    notebooks: dict[str, dict[str, Any]] = {}
    skipped = []
    problems = []
    for name, params in notebooks_raw.items():
        if name not in known:
            problems.append(f"notebooks.{name}: no such notebook; known: {', '.join(known)}")
        elif params is False:
            # `baskets: false`: this dataset cannot support the report (e.g. no item ids).
            skipped.append(name)
        elif params is not None and not isinstance(params, dict):
            problems.append(f"notebooks.{name}: expected a mapping of parameters or false, got {params!r}")
        else:
            notebooks[name] = {str(k): _plain(v) for k, v in (params or {}).items()}
    sharing = raw.get("sharing") or {}
    if not isinstance(sharing, dict) or set(sharing) - {"min_group_customers"}:
        problems.append("sharing: expected a mapping with the key min_group_customers")
    min_group = sharing.get("min_group_customers", 10) if isinstance(sharing, dict) else 10
    if isinstance(min_group, bool) or not isinstance(min_group, int) or min_group < 0:
        problems.append(f"sharing.min_group_customers: expected a whole number >= 0, got {min_group!r}")
    try:
        engine = EngineConfig.from_mapping(raw.get("engine"))
        if dataset.source == "table" and engine.name != "spark":
            problems.append(f"dataset.source: 'table' reads {dataset.table} from the Spark cluster, so it needs "
                            "engine: {name: spark, master: ...}")
    except ConfigError as exc:
        problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))

    return Config(dataset=dataset, data_dir=Path(raw.get("data_dir", "data")),
                  notebooks=notebooks, path=path, skipped=skipped, min_group_customers=min_group,
                  engine=engine)


def load_config(path: str | Path, *, notebooks_dir: Path = NOTEBOOKS_DIR) -> Config:
    """Read and check a YAML config file.

    Examples
    --------
    >>> cfg = load_config(NOTEBOOKS_DIR.parent / "configs" / "cdnow.yaml")
    >>> cfg.processed_dir
    PosixPath('data/processed/cdnow')
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_config(raw, path=path, notebooks_dir=notebooks_dir)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None

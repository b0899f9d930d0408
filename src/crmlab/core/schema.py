"""What a config may say, checked by the kit's one checker: every problem of every section at once.

Each key of the ``dataset:``, ``engine:`` and ``sharing:`` sections declares
what it accepts, with the constraints the analyses declare their parameters
with (:mod:`crmlab.core.constraints`), and :func:`parse_config` checks them
all before it builds a :class:`~crmlab.core.config.Config`. The rules between
keys (a file needs a path, a table needs Spark) follow, once each key is of
the right kind. The notebooks' own parameters are checked against their
analysis classes by :func:`crmlab.running.parameters.check_config`.

Examples
--------
>>> parse_config({"dataset": {"source": "cdnow", "returns": "sometimes"}, "engine": {"threads": 0}})
Traceback (most recent call last):
...
crmlab.core.config.ConfigError: dataset.returns: 'sometimes' is not allowed; expected one of 'exclude', 'keep'
engine.threads: 0 is not allowed; expected an integer in [1, inf] or None
"""

from __future__ import annotations

import codecs
import dataclasses
import zoneinfo
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from crmlab.core.config import (
    ARCHIVE_SUFFIXES,
    BUNDLED_SOURCES,
    CANONICAL_COLUMNS,
    DUPLICATES_POLICIES,
    ENGINE_NAMES,
    EXTRA_MAPPABLE,
    FILE_FORMATS,
    NOTEBOOKS_DIR,
    RETURNS_POLICIES,
    TABLE_NAME,
    USER_SOURCES,
    Config,
    ConfigError,
    DatasetConfig,
    EngineConfig,
    available_notebooks,
    format_from_suffix,
    memory_bytes,
)
from crmlab.core.constraints import DateLike, Interval, MappingOf, Matches, OfType, Options, Satisfies, check_parameters

DATASET_CONSTRAINTS: dict[str, list] = {
    "name": [Matches(r"[^/\\]+", "a folder name (no slashes)")],
    "source": [Options({*BUNDLED_SOURCES, *USER_SOURCES})],
    "path": [str, None],
    "table": [Matches(TABLE_NAME.pattern, "a table name such as db.transactions"), None],
    "format": [Options(set(FILE_FORMATS)), None],
    "columns": [MappingOf(OfType(str), OfType(str))],
    "date_format": [str, None],
    "returns": [Options(set(RETURNS_POLICIES))],
    "duplicates": [Options(set(DUPLICATES_POLICIES))],
    "observation_end": [DateLike(), None],
    "customers_path": [str, None],
    "customers_id_column": [str, None],
    "currency": [str],
    "encoding": [Satisfies(codecs.lookup, "an encoding Python knows (e.g. utf-8, cp1252, latin-1)"), None],
    "delimiter": [Matches(r"(?s).", "one character (',', ';', '\\t', '|')"), None],
    "decimal": [Options({".", ","}), None],
    "sheet": [str, Interval(int, 0, None), None],
    "timezone": [Satisfies(zoneinfo.ZoneInfo, "an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)"), None],
    "member": [str, None],
}

ENGINE_CONSTRAINTS: dict[str, list] = {
    "name": [Options(set(ENGINE_NAMES))],
    "memory_limit": [Satisfies(memory_bytes, "a size such as 8GB, 500MB or 6GiB"), None],
    "threads": [Interval(int, 1, None), None],
    "temp_directory": [str, None],
    "master": [str],
    "conf": [OfType(dict), None],
}

# Leadership pages suppress groups of fewer customers than this; 0 makes an internal run.
SHARING_CONSTRAINTS: dict[str, list] = {"min_group_customers": [Interval(int, 0, None)]}


def dataset_problems(raw: dict[str, Any]) -> list[str]:
    """Every problem of a ``dataset:`` section: each key against its constraints, then the rules between keys."""
    problems = check_parameters("dataset", DATASET_CONSTRAINTS, raw, noun="key")
    if problems:
        return problems  # the rules between keys only mean something once each key is of the right kind
    source, path, table, fmt = (raw.get(k) for k in ("source", "path", "table", "format"))
    columns = raw.get("columns") or {}
    if source == "table":
        if not table:
            problems.append("dataset.table is required when dataset.source is 'table' (a table name such as "
                            "db.transactions)")
        if path or fmt:
            problems.append("dataset.path and dataset.format are for files; a table is named by dataset.table")
    elif table:
        problems.append("dataset.table is for dataset.source: table")
    if source == "file":
        if not path:
            problems.append("dataset.path is required when dataset.source is 'file'")
        elif not fmt and format_from_suffix(path) not in FILE_FORMATS and not path.lower().endswith(ARCHIVE_SUFFIXES):
            problems.append(f"dataset.format: {format_from_suffix(path)!r} (from the file name) is not one of "
                            f"{', '.join(FILE_FORMATS)}; set dataset.format")
    unknown = sorted(set(columns) - set(CANONICAL_COLUMNS) - set(EXTRA_MAPPABLE))
    if unknown:
        problems.append(f"dataset.columns: unknown canonical column(s) {unknown}; "
                        f"known: {', '.join(CANONICAL_COLUMNS + EXTRA_MAPPABLE)}")
    if "revenue" in columns and "unit_price" in columns:
        problems.append("dataset.columns: give either 'revenue' or 'unit_price', not both")
    if raw.get("delimiter") is not None and raw.get("delimiter") == raw.get("decimal"):
        problems.append("dataset.delimiter and dataset.decimal cannot be the same character")
    return problems


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
    if isinstance(dataset_raw.get("observation_end"), (date, datetime)):
        dataset_raw["observation_end"] = dataset_raw["observation_end"].isoformat()  # YAML reads dates as dates
    problems = dataset_problems(dataset_raw)
    dataset_ok = not problems
    dataset = DatasetConfig(**dataset_raw)

    notebooks_raw = raw.get("notebooks") or {}
    if not isinstance(notebooks_raw, dict):
        raise ConfigError("'notebooks' must map notebook names to their parameters")
    known = available_notebooks(notebooks_dir)
    notebooks: dict[str, dict[str, Any]] = {}
    skipped = []
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
    if isinstance(sharing, dict):
        problems += check_parameters("sharing", SHARING_CONSTRAINTS, sharing, noun="key")
        min_group = sharing.get("min_group_customers", 10)
    else:
        problems.append(f"sharing: expected a mapping with the key min_group_customers, got {sharing!r}")
    engine_raw = raw.get("engine") or {}
    if isinstance(engine_raw, dict):
        problems += check_parameters("engine", ENGINE_CONSTRAINTS, engine_raw, noun="key")
    else:
        problems.append(f"engine: expected a mapping, got {engine_raw!r}")
    if dataset_ok and dataset.source == "table" and (engine_raw.get("name") if isinstance(engine_raw, dict)
                                                     else None) != "spark":
        problems.append(f"dataset.source: 'table' reads {dataset.table} from the Spark cluster, so it needs "
                        "engine: {name: spark, master: ...}")
    if problems:
        raise ConfigError("\n".join(problems))
    engine = EngineConfig.from_mapping(engine_raw)

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

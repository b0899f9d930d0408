"""The engine: where the per-line work runs.

Every query over transaction lines is written once with Ibis and runs on a
backend: DuckDB (embedded, the default: nothing to start, spills to disk
beyond its memory limit) or Spark (a cluster, or ``local[N]``; needs Java 17).
The queries return pandas tables of one row per customer, per pattern, per
item or per day, which is all the models, k-means, charts and sentences need.

Part of the data layer: it imports ``config`` and nothing of the analyses.

Three ways in:

- :func:`lines` turns what a notebook holds into an Ibis table: a prepared
  dataset folder (its Parquet file is scanned, never loaded), an Ibis table
  as it is, or a pandas DataFrame (small data, tests, an analyst's sample).
- :mod:`crmlab.engine.customer_tables` and :mod:`crmlab.engine.item_tables` hold the
  queries.
- :func:`connect` opens (once per process and settings) the backend a config's
  ``engine:`` section names.

Examples
--------
>>> import pandas as pd
>>> t = lines(pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [1.5, 2.0, 4.0]}))
>>> to_pandas(t.group_by("customer_id").agg(n=t.count()).order_by("customer_id"))["n"].tolist()
[2, 1]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa

from crmlab.core.config import ENGINE_NAMES, TRANSACTIONS, EngineConfig
from crmlab.core.machine import available_cores

__all__ = ["ENGINE_NAMES", "EngineUnavailable", "batches", "connect", "java_available", "lines", "memtable",
           "to_pandas"]

# Ibis 12 reads a pandas option that pandas 3.1 deprecates, on every conversion;
# the notebooks would show the warning under every table.
warnings.filterwarnings("ignore", message="The 'future.infer_string' option is deprecated")
# And a DuckDB 2.0 method that DuckDB deprecates.
warnings.filterwarnings("ignore", message=r"fetch_arrow_table\(\) is deprecated")

_BACKENDS: dict[tuple, Any] = {}


class EngineUnavailable(RuntimeError):
    """The configured engine cannot start here (Spark without Java, say)."""


def java_available() -> bool:
    """True when a ``java`` executable is on the PATH or under ``JAVA_HOME`` (Spark needs Java 17)."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))


def _settings(settings: EngineConfig | dict[str, Any] | None) -> EngineConfig:
    return settings if isinstance(settings, EngineConfig) else EngineConfig.from_mapping(settings)


def duckdb_threads() -> int:
    """DuckDB's threads when ``engine.threads`` is unset: one per core, and never fewer than three.

    With one or two threads DuckDB's hash aggregation grows one table per
    thread over all the groups it meets; from three on it keeps cache-sized
    tables and partitions the groups. With millions of customers that saves
    more than the third thread costs on two cores: the RFM summary's query
    over 10M lines took 0.72 s (1.35 s of CPU) with 2 threads and 0.59 s
    (1.12 s) with 3.
    """
    cores = available_cores()
    return max(cores, 3)


def connect(settings: EngineConfig | dict[str, Any] | None = None):
    """The Ibis backend for ``settings`` (an ``engine:`` section), opened once per process.

    DuckDB gets ``memory_limit`` (a fifth of the RAM when unset: see
    :meth:`~crmlab.core.config.EngineConfig.duckdb_memory_limit`) and a
    ``temp_directory`` to spill to; Spark
    gets ``master``, UTC as its session time zone (timestamps are stored
    without a zone and must not move), its scratch folders below
    ``temp_directory`` and ``conf``.
    """
    cfg = _settings(settings)
    key = (cfg.name, cfg.memory_limit, cfg.threads, cfg.temp_directory, cfg.master,
           tuple(sorted(cfg.conf.items())))
    if key in _BACKENDS:
        return _BACKENDS[key]
    if cfg.name == "duckdb":
        options: dict[str, Any] = {}
        options["memory_limit"] = cfg.duckdb_memory_limit()
        options["threads"] = cfg.threads or duckdb_threads()
        if cfg.temp_directory:
            Path(cfg.temp_directory).mkdir(parents=True, exist_ok=True)
            options["temp_directory"] = str(cfg.temp_directory)
        backend = ibis.duckdb.connect(**options)
    else:
        backend = _connect_spark(cfg)
    _BACKENDS[key] = backend
    return backend


def disconnect_all() -> None:
    """Close every backend :func:`connect` opened in this process; the next ``connect`` opens a new one."""
    while _BACKENDS:
        _, backend = _BACKENDS.popitem()
        try:
            backend.disconnect()
        except Exception:  # already closed, or its Spark context gone: nothing left to release
            pass


def _connect_spark(cfg: EngineConfig):
    if not java_available():
        raise EngineUnavailable("engine 'spark' needs Java 17, and no 'java' was found on the PATH or under "
                                "JAVA_HOME; install a JDK 17, or use engine: {name: duckdb}")
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(cfg.master).appName("crmlab")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               # Its console progress bar would land in the kernel's stderr: in a scheduled run's log.
               .config("spark.ui.showConsoleProgress", "false")
               # Small result sets come back through Arrow, as pandas expects them.
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    # Spark's scratch files and its default warehouse (./spark-warehouse) would otherwise land in
    # whatever folder the notebook runs from.
    scratch = Path(cfg.temp_directory or tempfile.gettempdir()) / "spark"
    builder = (builder.config("spark.local.dir", str(scratch / "local"))
               .config("spark.sql.warehouse.dir", str(scratch / "warehouse")))
    for name, value in cfg.conf.items():
        builder = builder.config(name, str(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


def lines(source, settings: EngineConfig | dict[str, Any] | None = None):
    """The transaction lines as an Ibis table.

    Parameters
    ----------
    source : str, Path, DataFrame or ibis Table
        A prepared dataset folder (``processed/<name>``), a Parquet file or
        folder, a pandas DataFrame (run by an in-process DuckDB) or an Ibis
        table (returned as it is).
    settings : EngineConfig or mapping, optional
        The ``engine:`` section; DuckDB with its defaults when absent.
    """
    if isinstance(source, ibis.Table):
        return source
    if isinstance(source, pd.DataFrame):
        if _settings(settings).name == "duckdb":
            # A DataFrame's queries run on Ibis's default backend: make that the configured DuckDB.
            ibis.set_backend(connect(settings))
        return memtable(source)
    path = Path(source)
    if path.is_dir() and (path / TRANSACTIONS).exists():
        path = path / TRANSACTIONS
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run 'crmlab data prepare --config FILE' first")
    return connect(settings).read_parquet(str(path))


def memtable(frame: pd.DataFrame):
    """A pandas table as an Ibis table, handed over as Arrow (Ibis's own pandas path is slower and warns)."""
    return ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False))


def materialized(expr, stack: contextlib.ExitStack, *, like=None):
    """``expr`` computed once into a temporary table, dropped when ``stack`` closes.

    For an intermediate result that later queries read several times: an
    engine may otherwise compute it again for each reference (DuckDB did, and
    the offers' query of complete_journey x10 took 92 s instead of about 10).
    DuckDB gets a temporary table; Spark a cached DataFrame. ``like``: a table
    of the engine to hold it, for an ``expr`` of none (a pandas table as a
    :func:`memtable`, which Spark keeps as it is).
    """
    backend = (expr if like is None else like)._find_backend(use_default=True)
    if like is not None and backend.name != "duckdb":
        return expr
    if backend.name != "duckdb":
        # Spark meets the expression's memtables (rules, customers) only when they are registered first.
        backend._run_pre_execute_hooks(expr)
        cached = expr.cache()
        stack.callback(cached.release)
        return cached
    name = f"_crmlab_{uuid.uuid4().hex}"
    table = backend.create_table(name, expr, temp=True)
    # Ibis's drop_table writes a DROP statement DuckDB 2 cannot parse: DuckDB's own connection drops it.
    stack.callback(backend.con.execute, f'DROP TABLE IF EXISTS "{name}"')
    return table


def to_pandas(expr) -> pd.DataFrame:
    """Run an Ibis expression on its backend and return the (small) result as pandas."""
    # Through Arrow: pyarrow's conversion of a million-row result is several times faster than Ibis's own.
    # Without pyarrow's thread pool: for these results its threads cost more than they save (0.07 s
    # against 0.004 s for 1.6M customers, measured beside DuckDB's own threads).
    return expr.to_pyarrow().to_pandas(use_threads=False)


def batches(expr, rows: int = 1_000_000):
    """Run an Ibis expression and read its result as Arrow record batches of about ``rows`` rows.

    For results too large to hold twice (as Arrow and as the arrays made of it).
    """
    backend = expr._find_backend(use_default=True)
    if backend.name != "duckdb":
        return expr.to_pyarrow_batches(chunk_size=rows)
    # Ibis 12 streams DuckDB results with a cursor method DuckDB 2.0 no longer has; DuckDB's own reader.
    backend._run_pre_execute_hooks(expr)
    return backend.con.sql(backend.compile(expr)).to_arrow_reader(rows)

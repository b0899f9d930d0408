"""The engines: the same queries on DuckDB and on Spark give the same figures.

The Spark run is a real ``local[2]`` Spark (PySpark 4.0 needs Java 17). Where
Java is missing the test is skipped, except under ``CI=true``: CI machines
have Java, so a missing one there is an error, not a silent skip.
"""

import json
import os
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import FIXTURE, write_parquet_folder

from crmlab import data, engine
from crmlab.analyses.baskets import by_segment, offers
from crmlab.analyses.deciles import tables
from crmlab.core import config as core_config
from crmlab.core.catalog import RUNNER_PARAMETERS
from crmlab.core.config import ConfigError, EngineConfig
from crmlab.core.schema import parse_config
from crmlab.engine import customer_tables
from crmlab.models import rfm
from crmlab.models.btyd import summaries
from crmlab.publishing.metrics import metric_differences, record_metrics

# Figures that measure the machine, not the data, and the name of the miner (FPGrowth on Spark).
TIMINGS = {"mining_seconds", "offers_seconds", "miner"}


def spark_or_skip():
    if engine.java_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no Java was found: the Spark engine test must run on CI (Java 17)")
    pytest.skip("no Java on this machine: the Spark engine needs Java 17")


def fixture_config(tmp_path, engine_section, path=FIXTURE / "transactions.parquet"):
    raw = {"dataset": {"name": "sample", "source": "file",
                       "path": str(path),
                       "customers_path": str(FIXTURE / "customer_attributes.parquet")},
           "data_dir": str(tmp_path / "data"), "engine": engine_section,
           # The committed fixture config's segment features, so every engine query runs.
           "notebooks": {"segments": {"features": ["tenure", "average_basket", "category_breadth",
                                                   "discount_rate"]}}}
    return parse_config(raw)


def differences(a, b, rel=1e-9):
    return metric_differences(a, b, rel=rel, ignore=TIMINGS)


def test_differences_sees_a_changed_count_and_a_float_beyond_the_tolerance():
    a = {"customers": 10, "share": 0.5, "rules": [{"lift": 2.0}], "mining_seconds": 1.0}
    assert differences(a, {**a, "mining_seconds": 9.0}) == []
    assert differences(a, {**a, "share": 0.5 * (1 + 1e-12)}) == []
    assert differences(a, {**a, "customers": 11}) == [".customers: 10 vs 11"]
    assert differences(a, {**a, "share": 0.5 * (1 + 1e-8)})
    assert differences(a, {**a, "rules": [{"lift": 2.1}]})
    # A figure one side lacks: a difference, unless the other side predates it (an older baseline).
    assert differences(a, {**a, "miner": "fpgrowth"}) == [": keys ['miner']"]
    assert metric_differences(a, {**a, "miner": "fpgrowth"}, missing_keys=False) == []


# A real local[2] Spark, shared by every Spark test in the process. Two shuffle partitions, as a user of a
# local Spark on small data would set: with Spark's default 200, each FPGrowth stage of the fixture's
# baskets is 200 tasks, and the baskets report took 23 s instead of 7 (the figures are the same).
SPARK = {"name": "spark", "master": "local[2]", "conf": {"spark.sql.shuffle.partitions": "2"}}


def fitted_as_the_notebook_fits(name: str, processed_dir, settings: dict, parameters: dict):
    """Report ``name``'s analysis fitted as its notebook fits it, on the lines through the engine ``settings``.

    ``parameters`` are the report's own ones from the run's parameters file;
    the class gives the rest, as the notebook's defaults do (a notebook test
    keeps the two equal).
    """
    from crmlab.running.parameters import analysis_class

    own = {k: v for k, v in parameters.items() if k not in RUNNER_PARAMETERS}
    lines = engine.lines(processed_dir, settings)
    if name == "profile":
        return analysis_class(name)(**own).fit(lines, manifest=data.load_manifest(processed_dir),
                                               attributes=data.load_customer_attributes(processed_dir))
    if name == "clv":
        own.setdefault("observation_end", None)
        own["observation_end"] = own["observation_end"] or data.observation_end(processed_dir)
    return analysis_class(name)(**own).fit(lines)


@pytest.mark.slow
def test_spark_gives_the_same_metrics_as_duckdb(bundle_run, tmp_path):
    """Every report's metrics.json figures from a real local[2] Spark equal the session's DuckDB run.

    The analyses run here, in this process, on one Spark session that the
    other Spark tests share (a notebook each would start a JVM of its own);
    the DuckDB side is the run every runner and sharing test reads.
    """
    spark_or_skip()
    # The lines come as a cluster's export writes them: a Parquet folder of part files.
    lines = pd.read_parquet(bundle_run.folder / "transactions.parquet")
    folder = write_parquet_folder(lines, tmp_path / "export", parts=4)
    config = parse_config({"dataset": {"name": "sample", "source": "file", "path": str(folder),
                                       "customers_path": str(bundle_run.folder / "customers.parquet")},
                           "data_dir": str(tmp_path / "data")})
    data.prepare(config)
    duckdb_metrics, spark_metrics, fitted = {}, {}, {}
    for name in ("profile", "clv", "deciles", "segments", "baskets"):
        duckdb_metrics[name] = json.loads((bundle_run.run_dir / "metrics" / f"{name}.json").read_text())[name]
        parameters = yaml.safe_load((bundle_run.run_dir / "parameters" / f"{name}.yaml").read_text())
        fitted[name] = fitted_as_the_notebook_fits(name, config.processed_dir, SPARK, parameters)
        spark_metrics[name] = record_metrics(name, fitted[name].metrics_)
    for report, metrics in duckdb_metrics.items():
        assert metrics.get("status") == "ok", report
    assert differences(duckdb_metrics, spark_metrics) == []
    # Spark's FPGrowth mined the baskets, and found exactly the local miner's itemsets and counts.
    assert spark_metrics["baskets"]["miner"].startswith("spark-fpgrowth")
    assert duckdb_metrics["baskets"]["miner"].startswith("eclat")
    # The figures are the fixture's, not empty ones that agree.
    assert spark_metrics["profile"]["customers"] == 190 and spark_metrics["baskets"]["rules"] > 0
    # The rules per RFM segment (a table of the page, not a metric): FPGrowth per segment in the cluster.
    baskets = fitted["baskets"]
    on_spark, on_duckdb = (by_segment.top_rules_by_segment(by_segment.mine_segment_rules(
        engine.lines(config.processed_dir, settings), baskets.segments_, baskets)) for settings in (SPARK, None))
    assert len(on_duckdb) > 0
    pd.testing.assert_frame_equal(on_spark, on_duckdb)
    # Every customer's offers, reasons included (the offers' check is in the metrics above).
    assert baskets.metrics_["offers_hit_rate"] is not None
    rules = baskets._offer_rules(offers.with_values(baskets.rules_, baskets.encoded_), baskets.sequences_,
                                 baskets.segment_rules_)
    last_day = customer_tables.day_of("2017-06-30")
    spark_offers, duckdb_offers = (offers.todays_offers(
        engine.lines(config.processed_dir, settings), baskets.level_, last_day, rules, baskets.segments_,
        baskets.segment_rules_, 3, baskets.window_days) for settings in (SPARK, None))
    assert len(duckdb_offers) == 3 * 190 and (duckdb_offers["source"] == "rule").any()
    pd.testing.assert_frame_equal(spark_offers, duckdb_offers)
    # The retention report's queries so far (issue 25): cohort activity by month and ISO week, gaps, last purchases.
    for period in ("month", "week"):
        spark_cells = customer_tables.cohort_activity(engine.lines(config.processed_dir, SPARK), period)
        duckdb_cells = customer_tables.cohort_activity(engine.lines(config.processed_dir), period)
        assert len(duckdb_cells) > 0
        pd.testing.assert_frame_equal(spark_cells, duckdb_cells)
    on_both = [engine.lines(config.processed_dir, SPARK), engine.lines(config.processed_dir)]
    pd.testing.assert_series_equal(*(customer_tables.gap_histogram(t) for t in on_both))
    last_day = customer_tables.day_of("2017-06-30")
    spark_last, duckdb_last = (customer_tables.last_purchase_by_number(t, seen_by_day=last_day - 90,
                                                                       through_day=last_day) for t in on_both)
    assert duckdb_last["last"].sum() > 0
    pd.testing.assert_frame_equal(spark_last, duckdb_last)
    spark_history, duckdb_history = (customer_tables.history_at(t, cutoff_day=last_day - 90) for t in on_both)
    assert {"categories", "discount"} <= set(duckdb_history.columns) and duckdb_history["gap_squares"].sum() > 0
    pd.testing.assert_frame_equal(spark_history, duckdb_history)


@pytest.mark.slow
def test_two_reports_in_one_kernel_on_spark_give_the_figures_of_duckdb(bundle_run, tmp_path, capfd):
    """The runner puts a kernel back after its report, Spark session closed; the next report opens its own."""
    from crmlab.running.runner import run

    spark_or_skip()
    config = parse_config({"dataset": {"name": "sample", "source": "file",
                                       "path": str(bundle_run.folder / "transactions.parquet")},
                           "data_dir": str(tmp_path / "data"), "engine": SPARK})
    # One at a time: deciles runs in profile's kernel.
    result = run(config, only=["profile", "deciles"], out_dir=tmp_path / "reports", jobs=1, log=lambda _: None)
    spark_metrics = json.loads((result.run_dir / "metrics.json").read_text())
    duckdb_metrics = json.loads((bundle_run.run_dir / "metrics.json").read_text())
    assert spark_metrics["deciles"]["status"] == "ok" and spark_metrics["profile"]["customers"] == 190
    assert differences({name: duckdb_metrics[name] for name in ("profile", "deciles")}, spark_metrics) == []
    # Nothing of Spark's console progress bar reaches the run's log (the kernels write to the runner's stderr).
    assert "[Stage " not in capfd.readouterr().err


@pytest.mark.slow
def test_spark_gives_the_retention_figures_of_duckdb(bundled, tmp_path):
    """The retention report on Spark and on DuckDB: the same metrics.json figures.

    The fixture's six months are too short for it, so this runs on the CDNOW sample (18 months), read as a
    cluster's export writes it.
    """
    from crmlab.analyses.retention import RetentionAnalysis

    spark_or_skip()
    folder = write_parquet_folder(bundled("cdnow_sample"), tmp_path / "export", parts=3)
    config = parse_config({"dataset": {"name": "cdnow_sample", "source": "file", "path": str(folder),
                                       "duplicates": "keep"}, "data_dir": str(tmp_path / "data")})
    data.prepare(config)
    figures = {name: record_metrics("retention", RetentionAnalysis(observation_end="1998-06-30").fit(
        engine.lines(config.processed_dir, settings)).metrics_) for name, settings in (("spark", SPARK),
                                                                                      ("duckdb", None))}
    assert figures["duckdb"]["customers_scored"] == 2357 and figures["duckdb"]["churn_auc"] > 0.5
    assert differences(figures["duckdb"], figures["spark"]) == []


@pytest.mark.slow
@pytest.mark.parametrize("timezone", [None, "America/New_York"])
def test_a_spark_table_is_prepared_from_a_snapshot_as_its_lines_in_a_file_are(tmp_path, timezone):
    spark_or_skip()
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    lines = lines.astype({c: "object" for c in lines.select_dtypes("category").columns})
    spark = SPARK
    session = engine.connect(EngineConfig.from_mapping(spark))._session
    name = f"sales_{uuid.uuid4().hex[:8]}"
    # Naive pandas times become Spark TIMESTAMPs (instants) in the session's zone, UTC.
    session.createDataFrame(lines).write.saveAsTable(name)
    try:
        zone = {"timezone": timezone} if timezone else {}
        config = parse_config({"dataset": {"name": "from_table", "source": "table", "table": name, **zone},
                               "engine": spark, "data_dir": str(tmp_path / "data")})
        manifest = data.prepare(config)
    finally:
        session.sql(f"DROP TABLE {name}")
    expected = lines.copy()
    if timezone:  # the instants as New York's wall-clock times, some on the day before
        expected["order_date"] = (expected["order_date"].dt.tz_localize("UTC").dt.tz_convert(timezone)
                                  .dt.tz_localize(None))
    path = tmp_path / "lines.parquet"
    expected.to_parquet(path, index=False)
    from_file = parse_config({"dataset": {"name": "from_file", "source": "file", "path": str(path)},
                              "data_dir": str(tmp_path / "data")})
    data.prepare(from_file)
    table = data.load_transactions(config.processed_dir)

    def in_line_order(t):  # a table's rows have no order: lines alike but for the product may come either way
        return t.sort_values(list(t.columns), ignore_index=True)

    pd.testing.assert_frame_equal(in_line_order(table), in_line_order(data.load_transactions(from_file.processed_dir)))
    assert manifest["lines"] == len(lines) and manifest["raw_files"]["transactions"]["source"] == f"table {name}"
    assert any(f"Read from the table {name}" in note for note in manifest["quality"]["notes"])
    # The snapshot is the raw copy: Spark's part files, kept read-only.
    raw = Path(manifest["raw_files"]["transactions"]["path"])
    assert data.parquet_parts(raw) and all(not os.stat(p).st_mode & 0o222 for p in data.parquet_parts(raw))
    if timezone:  # the comparison above is one that a shift of the day would fail
        assert (expected["order_date"].dt.date != lines["order_date"].dt.date).any()


def test_pandas_ibis_and_a_prepared_folder_give_the_same_tables(tmp_path):
    lines = data.load_transactions(FIXTURE)
    for source in (lines, engine.lines(lines), FIXTURE):
        values = tables.customer_values(source)
        assert len(values) == 190
        pd.testing.assert_frame_equal(values, tables.customer_values(FIXTURE))
    pd.testing.assert_frame_equal(rfm.rfm_table(lines, None, ["tenure"]),
                                  rfm.rfm_table(FIXTURE, None, ["tenure"]))


def test_money_sums_do_not_depend_on_the_order_of_the_lines():
    lines = data.load_transactions(FIXTURE)
    shuffled = lines.sample(frac=1.0, random_state=3)
    a = customer_tables.purchase_days(engine.lines(lines))
    b = customer_tables.purchase_days(engine.lines(shuffled))
    # Bit-identical, not merely close: sums of whole millionths are exact.
    assert (a["revenue"].to_numpy() == b["revenue"].to_numpy()).all()
    assert (a["first_day_revenue"].to_numpy() == b["first_day_revenue"].to_numpy()).all()


def test_rfm_summary_of_lines_equals_the_one_of_the_prepared_folder():
    lines = data.load_transactions(FIXTURE)
    pd.testing.assert_frame_equal(summaries.rfm_summary(lines, "2017-06-30"),
                                  summaries.rfm_summary(FIXTURE, "2017-06-30"))


def test_the_per_day_queries_give_the_tables_of_the_lines_from_customer_days():
    lines = data.load_transactions(FIXTURE)
    assert lines["category"].isna().any()  # a customer's breadth counts only the categories written
    t = engine.lines(lines)
    days, categories = customer_tables.customer_days(t), customer_tables.category_first_days(t)
    assert engine.to_pandas(days.count().as_table()).iloc[0, 0] < len(lines)
    cutoff = customer_tables.day_of("2017-04-30")
    q = customer_tables
    for from_lines, from_days in [
            (q.purchase_days(t), q.purchase_days(days)),
            (q.purchase_days(t, after_day=cutoff, through_day=cutoff + 30),
             q.purchase_days(days, after_day=cutoff, through_day=cutoff + 30)),
            (q.cohort_activity(t, "month"), q.cohort_activity(days, "month")),
            (q.cohort_activity(t, "week", through_day=cutoff), q.cohort_activity(days, "week", through_day=cutoff)),
            (q.gap_histogram(t, through_day=cutoff), q.gap_histogram(days, through_day=cutoff)),
            (q.last_purchase_by_number(t, seen_by_day=cutoff, through_day=cutoff + 30),
             q.last_purchase_by_number(days, seen_by_day=cutoff, through_day=cutoff + 30)),
            (q.history_at(t, cutoff_day=cutoff, window_days=30),
             q.history_at(days, cutoff_day=cutoff, window_days=30, categories=categories))]:
        assert len(from_lines) > 0
        if isinstance(from_lines, pd.Series):
            pd.testing.assert_series_equal(from_lines, from_days)
        else:
            pd.testing.assert_frame_equal(from_lines, from_days)
    assert {"discount", "categories"} <= set(q.history_at(days, cutoff_day=cutoff, categories=categories).columns)


def test_engine_section_is_checked_before_anything_runs():
    assert EngineConfig.from_mapping(None).name == "duckdb"

    def engine_section(section):
        return parse_config({"dataset": {"source": "cdnow"}, "engine": section})

    assert engine_section({"name": "spark", "master": "local[4]"}).engine.master == "local[4]"
    with pytest.raises(ConfigError, match="engine.name: 'polars' is not allowed"):
        engine_section({"name": "polars"})
    with pytest.raises(ConfigError, match="engine: unknown key 'masters'"):
        engine_section({"name": "spark", "masters": "local[2]"})
    with pytest.raises(ConfigError, match="engine.threads: 0 is not allowed"):
        engine_section({"threads": 0})
    with pytest.raises(ConfigError, match="engine.memory_limit: 'lots' is not allowed; expected a size such as 8GB"):
        engine_section({"memory_limit": "lots"})


def test_reports_running_together_share_the_memory_limit(tmp_path):
    config = fixture_config(tmp_path, {"name": "duckdb", "memory_limit": "6GB"})
    assert config.engine_settings()["memory_limit"] == "6GB"
    assert config.engine_settings(share=2)["memory_limit"] == f"{6 * 10**9 // 2 // 2**20}MiB"
    # Unset: a fifth of the RAM for the whole run (not DuckDB's own 80% per connection), split the same way.
    unset = fixture_config(tmp_path, {"name": "duckdb"})
    for share in (1, 2, 3):
        limit = unset.engine_settings(share=share)["memory_limit"]
        assert abs(int(limit[:-3]) * 2**20 * share - 0.2 * core_config.physical_memory()) < share * 2**20


def test_duckdb_without_a_memory_limit_gets_a_fifth_of_the_ram():
    backend = engine.connect({"name": "duckdb", "threads": 2})
    limit = backend.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    # DuckDB reports the limit in its own rounded units, e.g. "5.5 GiB".
    assert abs(core_config.memory_bytes(limit) - 0.2 * core_config.physical_memory()) < 0.01 * 2**30 * 10


def test_duckdb_runs_three_threads_or_one_per_core_unless_told():
    def threads(settings):
        backend = engine.connect(settings)
        return int(backend.con.execute("SELECT current_setting('threads')").fetchone()[0])

    # Three at least: below that DuckDB's hash aggregation grows one table per thread (see duckdb_threads).
    assert threads({"name": "duckdb", "memory_limit": "1GB"}) == max(len(os.sched_getaffinity(0)), 3)
    assert threads({"name": "duckdb", "memory_limit": "1GB", "threads": 1}) == 1


def test_duckdb_spills_below_the_data_dir(tmp_path):
    config = fixture_config(tmp_path, {"name": "duckdb", "memory_limit": "1GB"})
    settings = config.engine_settings()
    assert settings["memory_limit"] == "1GB"
    assert settings["temp_directory"] == str((tmp_path / "data" / ".engine-tmp").resolve())


# --------------------------------------------------------------------------- preparing without loading


def prepared_both_ways(tmp_path, lines: pd.DataFrame, monkeypatch, **dataset):
    """``crmlab data prepare`` on a Parquet file by DuckDB's queries and by the pandas path."""
    path = tmp_path / "sales.parquet"
    lines.to_parquet(path, index=False)
    out = {}
    for way in ("duckdb", "pandas"):
        config = parse_config({"dataset": {"name": "sales", "source": "file", "path": str(path), **dataset},
                               "data_dir": str(tmp_path / way)})
        if way == "pandas":
            monkeypatch.setattr(data, "streamable", lambda *args: None)
        else:
            assert data.streamable(config.dataset, path) is not None
        try:
            manifest = data.prepare(config)
        except data.DataError as exc:
            out[way] = str(exc)
            continue
        out[way] = (manifest, data.load_transactions(config.processed_dir),
                    pd.read_parquet(config.processed_dir / "returns.parquet"))
    return out["duckdb"], out["pandas"]


def test_a_typed_parquet_file_is_prepared_by_queries_as_the_pandas_path_prepares_it(tmp_path, monkeypatch):
    lines = data.load_transactions(FIXTURE).head(5000).copy()
    lines["customer_id"] = lines["customer_id"].astype(str).str.zfill(6)  # text ids with leading zeros
    lines["category"] = lines["category"].astype(str)
    lines["department"] = lines["department"].astype(str)
    # A guest order: no customer on its line (a line whose order names the customer elsewhere takes it from there).
    lines.loc[3, ["customer_id", "order_id"]] = [None, lines["order_id"].max() + 1]
    lines.loc[10:14, "revenue"] = -lines.loc[10:14, "revenue"].abs() - 1  # returns
    lines = pd.concat([lines, lines.iloc[[20, 21, 21]]], ignore_index=True)  # exact duplicates
    streamed, loaded = prepared_both_ways(tmp_path, lines, monkeypatch)
    for key in ("lines", "customers", "orders", "first_date", "last_date", "columns"):
        assert streamed[0][key] == loaded[0][key], key
    assert streamed[0]["quality"]["dropped"] == loaded[0]["quality"]["dropped"] == {
        "missing_customer_id": 1, "duplicate": 3, "return": 5}
    # The guest note names the same row (no line was dropped before it).
    assert streamed[0]["quality"]["notes"][0] == loaded[0]["quality"]["notes"][0]
    assert streamed[1]["customer_id"].iloc[0].startswith("0")  # text ids stay text
    # Text as pandas' str (DuckDB's file) or its "string" dtype: the same values.
    pd.testing.assert_frame_equal(streamed[1], loaded[1], check_categorical=False, check_dtype=False)
    pd.testing.assert_frame_equal(streamed[2].reset_index(drop=True), loaded[2].reset_index(drop=True),
                                  check_dtype=False, check_categorical=False)


def test_order_fields_blank_on_later_lines_are_filled_the_same_by_both_paths(tmp_path, monkeypatch):
    lines = data.load_transactions(FIXTURE).head(3000).copy()
    lines["customer_id"] = lines["customer_id"].astype(str)  # text ids, as an email column is
    later = lines.duplicated("order_id")  # every line of an order but its first
    blank = later & (lines.index % 3 == 0)
    lines.loc[blank, "customer_id"] = None
    lines.loc[blank & (lines.index % 2 == 0), "order_date"] = pd.NaT
    streamed, loaded = prepared_both_ways(tmp_path, lines, monkeypatch)
    pd.testing.assert_frame_equal(streamed[1], loaded[1], check_categorical=False, check_dtype=False)
    assert streamed[0]["quality"]["notes"] == loaded[0]["quality"]["notes"]
    note = f"{int(blank.sum()):,} lines took their customer_id from another line of their order"
    assert any(n.startswith(note) for n in streamed[0]["quality"]["notes"])
    assert streamed[0]["lines"] == 3000  # every line kept: none became a guest line


def test_bad_rows_in_a_typed_parquet_file_give_the_pandas_paths_message(tmp_path, monkeypatch):
    lines = data.load_transactions(FIXTURE).head(2000).copy()
    lines.loc[[5, 7], "revenue"] = float("nan")
    lines.loc[9, "discount"] = -1.0
    lines.loc[11, "order_date"] = pd.Timestamp("2099-01-01")
    streamed, loaded = prepared_both_ways(tmp_path, lines, monkeypatch)
    assert isinstance(streamed, str) and streamed == loaded
    assert "2 of 2,000 rows have a missing or non-numeric amount" in streamed and "row 6:" in streamed


def test_whole_number_text_ids_become_integers_and_a_missing_order_id_is_customer_day(tmp_path, monkeypatch):
    lines = data.load_transactions(FIXTURE).head(3000).copy()
    lines["customer_id"] = lines["customer_id"].astype(str)
    lines = lines.drop(columns=["order_id"])
    streamed, loaded = prepared_both_ways(tmp_path, lines, monkeypatch)
    assert streamed[1]["customer_id"].dtype == "int64"
    pd.testing.assert_frame_equal(streamed[1], loaded[1], check_categorical=False)
    assert streamed[0]["quality"]["notes"] == loaded[0]["quality"]["notes"]

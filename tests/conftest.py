"""Fixtures shared by every tier of the tests (builders that are not fixtures live in helpers.py)."""

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import FIXTURE, PSEUDONYM_KEY, FreshVenv, distinctive, folder_digest

FRESH_VENV = pytest.StashKey[FreshVenv]()
WANTS_FRESH_VENV = pytest.StashKey[bool]()


def _is_package_test(item) -> bool:
    return Path(str(item.fspath)).name == "test_package.py"


def pytest_collection_modifyitems(items):
    """The package test runs last, so its venv installs beside the whole suite instead of holding one tier up."""
    items.sort(key=_is_package_test)


def pytest_collection_finish(session):
    session.config.stash[WANTS_FRESH_VENV] = any(_is_package_test(item) for item in session.items)


def pytest_runtest_setup(item):
    """Start the package test's fresh venv (helpers.FreshVenv) with the first unit test: those run one at a time,
    and leave a core idle, where the Spark and runner tests before them use both."""
    config = item.config
    if (config.stash.get(WANTS_FRESH_VENV, False) and FRESH_VENV not in config.stash
            and ("tests/unit/" in str(item.fspath).replace("\\", "/") or _is_package_test(item))):
        config.stash[FRESH_VENV] = FreshVenv()


def pytest_sessionfinish(session):
    fresh = session.config.stash.get(FRESH_VENV, None)
    if fresh is not None:
        fresh.remove()


@pytest.fixture(scope="session")
def fresh_venv(request) -> FreshVenv:
    """The venv started at collection: requirements.lock installed, crmlab not yet."""
    return request.config.stash[FRESH_VENV]


@pytest.fixture
def sales_csv(tmp_path):
    """Write a small sales file in a user's own column names; returns a writer."""

    def write(rows: list[dict], name: str = "sales.csv"):
        path = tmp_path / name
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    return write


@pytest.fixture(scope="session")
def bundled():
    """Canonical tables of the bundled datasets, read and validated once per test session."""
    from crmlab import data
    from crmlab.core.schema import parse_config

    cache = {}

    def table(source: str) -> pd.DataFrame:
        if source not in cache:
            # As in configs/: CDNOW's exact duplicates are genuine repeat purchases.
            policy = {"duplicates": "keep"} if source.startswith("cdnow") else {}
            config = parse_config({"dataset": {"source": source, **policy}})
            lines, labels, _ = data.read_lines(config.dataset, data.source_files(config.dataset))
            cache[source] = data.validate(lines, config.dataset, labels)[0]
        return cache[source]

    return table


@pytest.fixture(scope="module")
def fixture_lines():
    """The committed fixture's canonical lines as pandas."""
    return pd.read_parquet(FIXTURE / "transactions.parquet")


@pytest.fixture(scope="session")
def paper(bundled):
    """The setting of Fader, Hardie & Lee (2005): the CDNOW sample's 39 calibration weeks, BG/NBD fitted on them.

    Returns the calibration/holdout summary, its compressed patterns and the fit.
    """
    from crmlab.models.btyd import fitting, summaries

    cal = summaries.calibration_holdout_summary(bundled("cdnow_sample"), "1997-09-30", "1998-06-30", "weeks")
    packed = summaries.compress(cal.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency",
                                                    "T_cal": "T"}))
    return cal, packed, fitting.fit_purchase_model(packed["frequency"], packed["recency"], packed["T"],
                                                   packed["weight"])


@pytest.fixture(scope="session")
def paper_clv(bundled):
    """The CLV analysis in the paper's setting (CDNOW sample, weeks, 39 + 39 weeks), fitted once per session."""
    from crmlab.analyses.clv import CLVAnalysis

    return CLVAnalysis(time_unit="weeks", calibration_end="1997-09-30", observation_end="1998-06-30").fit(
        bundled("cdnow_sample"))


@pytest.fixture(scope="session")
def sample_retention(bundled):
    """The retention analysis of the CDNOW sample (cutoff 1997-09-30, observed to 1998-06-30), fitted once."""
    from crmlab.analyses.retention import RetentionAnalysis

    return RetentionAnalysis(observation_end="1998-06-30").fit(bundled("cdnow_sample"))


@dataclass(frozen=True)
class BuiltWheel:
    path: Path
    output: str  # what the build printed: setuptools' warnings land here


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> BuiltWheel:
    """crmlab's wheel, built once from this checkout as ``pip wheel`` builds it (the build backend isolated)."""
    import subprocess
    import sys

    from helpers import ROOT

    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    (wheel,) = out.glob("crmlab-*.whl")
    return BuiltWheel(wheel, build.stdout + build.stderr)


@dataclass(frozen=True)
class BundleRun:
    """What one real run of the five notebooks left: read by the runner, sharing and engine tests."""

    folder: Path           # the test's own project folder: config, data/, reports/
    config_path: Path
    run_dir: Path          # reports/<run>, which reports/latest points at
    processed_before: dict  # data/processed/sample as `crmlab data prepare` left it (folder_digest)
    customer_ids: frozenset
    cwd_kept: bool         # the run left the process's working directory where it was


@pytest.fixture(scope="session")
def bundle_run(tmp_path_factory) -> BundleRun:
    """One ``crmlab run`` of every report on the fixture, shared by every test that reads a whole run.

    Customer ids are made distinctive (``K00123Q``), so a scan of what is shared
    for them cannot be fooled by a count or an amount equal to a short numeric
    id. Everyone in the top 20% by value is "at risk" below P(alive) 1, so the
    at-risk table has rows. The pseudonym key comes from the environment, as a
    scheduler would give it; no notebook parameter carries it.
    """
    from crmlab import data
    from crmlab.core.schema import load_config
    from crmlab.publishing import privacy
    from crmlab.running import cli

    folder = tmp_path_factory.mktemp("bundle")
    lines = data.load_transactions(FIXTURE)
    lines["customer_id"] = distinctive(lines["customer_id"])
    lines.to_parquet(folder / "transactions.parquet")
    attributes = data.load_customer_attributes(FIXTURE)
    attributes["customer_id"] = distinctive(attributes["customer_id"])
    attributes.to_parquet(folder / "customers.parquet")
    config = {"dataset": {"name": "sample", "source": "file", "path": str(folder / "transactions.parquet"),
                          "customers_path": str(folder / "customers.parquet")},
              "data_dir": str(folder / "data"),
              "notebooks": {"profile": {}, "clv": {"at_risk_p_alive": 1.0}, "deciles": {},
                            "segments": {"features": ["tenure", "average_basket", "category_breadth",
                                                      "discount_rate"]},
                            "baskets": {}}}
    config_path = folder / "sample.yaml"
    config_path.write_text(yaml.safe_dump(config))
    data.prepare(load_config(config_path))
    before = folder_digest(folder / "data" / "processed" / "sample")
    cwd = os.getcwd()
    previous = os.environ.get(privacy.KEY_ENVIRONMENT)
    os.environ[privacy.KEY_ENVIRONMENT] = PSEUDONYM_KEY  # the kernels inherit it
    try:
        code = cli.main(["run", "--config", str(config_path), "--out", str(folder / "reports")])
    finally:
        if previous is None:
            os.environ.pop(privacy.KEY_ENVIRONMENT)
        else:
            os.environ[privacy.KEY_ENVIRONMENT] = previous
    assert code == 0
    return BundleRun(folder, config_path, (folder / "reports" / "latest").resolve(), before,
                     frozenset(lines["customer_id"]), os.getcwd() == cwd)

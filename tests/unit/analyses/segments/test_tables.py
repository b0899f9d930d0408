"""The segments report's other tables: demographics by cluster, CLV by segment from the run's exports."""

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURE

from crmlab.analyses.segments import SegmentationAnalysis
from crmlab.analyses.segments import clusters as segments_clusters
from crmlab.analyses.segments import tables
from crmlab.models import rfm


def test_demographics_by_cluster(fixture_lines):
    attributes = pd.read_parquet(FIXTURE / "customer_attributes.parquet")
    clusters = segments_clusters.CustomerClusters(k=3, resamples=2).fit(rfm.rfm_table(fixture_lines))
    summary, shares, counts = tables.demographics_by_cluster(attributes, clusters.labels_)
    covered = attributes["customer_id"].isin(clusters.labels_.index).sum()
    assert summary["customers"].max() == covered
    assert summary["cramers_v"].between(0, 1).all() and summary["cramers_v"].is_monotonic_decreasing
    for table in shares.values():
        np.testing.assert_allclose(table.sum().to_numpy(), 1.0)
    assert list(shares["age"].index) == sorted(shares["age"].index, key=tables._natural_key)
    # The counts behind the shares: same cells, and they add up to the covered customers.
    for name, table in shares.items():
        np.testing.assert_allclose((counts[name] / counts[name].sum()).to_numpy(), table.to_numpy())
    assert counts["age"].to_numpy().sum() == summary.loc["age", "customers"]


def test_clv_is_read_from_the_runs_own_exports(tmp_path):
    # A run's exports folder starts empty, so a CLV export there is this run's own.
    assert tables.load_clv(tmp_path) is None
    pd.DataFrame({"customer_id": [1], "clv": [10.0], "p_alive": [0.5]}).to_parquet(tmp_path / "customer_clv.parquet")
    assert tables.load_clv(tmp_path)["clv"].tolist() == [10.0]


def test_segment_table_adds_up(fixture_lines):
    analysis = SegmentationAnalysis(resamples=2, k=3).fit(fixture_lines)
    table = analysis.segment_table_
    assert table["customers"].sum() == fixture_lines["customer_id"].nunique()
    assert table["customer_share"].sum() == pytest.approx(1) and table["revenue_share"].sum() == pytest.approx(1)
    assert sum(analysis.metrics_["segment_counts"].values()) == len(analysis.rfm_)
    revenue = fixture_lines.groupby("customer_id")["revenue"].sum()
    champions = analysis.segments_[analysis.segments_ == "Champions"].index
    assert table.loc["Champions", "revenue_share"] == pytest.approx(revenue[champions].sum() / revenue.sum())

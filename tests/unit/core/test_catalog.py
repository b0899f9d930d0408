"""The catalog's scheduling rules: what waits for what, and which report starts first."""

import json

from crmlab.core.catalog import REPORTS, critical_paths, run_order
from crmlab.running.runner import previous_seconds


def test_a_short_report_others_wait_for_starts_before_a_longer_one_nothing_waits_for():
    # segments waits for clv: clv's path is its own 2 s plus segments' 30 s, longer than baskets' 20 s.
    paths = critical_paths(["clv", "segments", "baskets"], {"clv": 2, "segments": 30, "baskets": 20})
    assert paths == {"clv": 32, "segments": 30, "baskets": 20}
    assert sorted(paths, key=lambda name: -paths[name]) == ["clv", "segments", "baskets"]


def test_without_times_the_catalog_guesses_and_a_report_alone_waits_for_nothing():
    names = list(REPORTS)
    paths = critical_paths(names, {})
    assert paths["clv"] == REPORTS["clv"].seconds + REPORTS["segments"].seconds
    assert paths["baskets"] == REPORTS["baskets"].seconds
    # segments without clv in the run waits for nothing.
    assert critical_paths(["segments"], {"segments": 4.0}) == {"segments": 4.0}
    assert run_order(names).index("clv") < run_order(names).index("segments")


def test_the_previous_runs_times_come_from_its_run_json(tmp_path):
    (tmp_path / "2026-12-01_0900").mkdir()
    (tmp_path / "2026-12-01_0900" / "run.json").write_text(json.dumps(
        {"notebooks": {"clv": {"seconds": 12.5}, "baskets": {"seconds": 15.1}, "segments": {"status": "failed"}}}))
    assert previous_seconds(tmp_path, {"run": "2026-12-01_0900"}) == {"clv": 12.5, "baskets": 15.1}
    # No previous run, or one whose folder is gone: no times, the catalog's guesses count.
    assert previous_seconds(tmp_path, None) == {}
    assert previous_seconds(tmp_path, {"run": "2026-11-30_0800"}) == {}

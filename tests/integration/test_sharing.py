"""The leadership bundle: nothing confidential in it, pseudonyms where customers appear, no small groups.

These tests read the session's one real run of the five notebooks
(``conftest.bundle_run``), whose customer ids are made distinctive
(``K00123Q``) so that a scan for them cannot be fooled by a count or an
amount that happens to equal a short numeric id.
"""

import hmac
import json
import re
import shutil
import socket
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from helpers import PSEUDONYM_KEY, ROOT

from crmlab.publishing.pages import _page

sys.path.insert(0, str(ROOT / "tools"))
import page_check  # noqa: E402

from crmlab.publishing import privacy
from crmlab.running import cli

ID = re.compile(r"\bK\d{5}Q\b")
KEY = PSEUDONYM_KEY


def shared_texts(run_dir: Path) -> dict[str, str]:
    """Every file in share/, and every member of leadership.zip, as text."""
    texts = {}
    for path in sorted((run_dir / "share").iterdir()):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as bundle:
                for name in bundle.namelist():
                    texts[f"{path.name}:{name}"] = bundle.read(name).decode("utf-8")
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def test_share_holds_the_pages_and_one_zip_of_them(bundle_run):
    run_dir = bundle_run.run_dir
    names = sorted(p.name for p in (run_dir / "share").iterdir())
    assert names == ["baskets.html", "clv.html", "deciles.html", "index.html", "leadership.zip", "profile.html",
                     "retention.html", "segments.html"]
    with zipfile.ZipFile(run_dir / "share" / "leadership.zip") as bundle:
        assert sorted(bundle.namelist()) == [n for n in names if n.endswith(".html")]
        for name in bundle.namelist():
            assert bundle.read(name) == (run_dir / "share" / name).read_bytes()


def test_no_customer_id_in_anything_shared(bundle_run):
    run_dir, ids = bundle_run.run_dir, bundle_run.customer_ids
    for name, text in shared_texts(run_dir).items():
        tokens = set(re.findall(r"[A-Za-z0-9]+", text))
        assert not ID.findall(text), name
        assert not (tokens & ids), name


def test_no_key_and_no_machine_path_in_what_is_shared(bundle_run):
    tmp, run_dir = bundle_run.folder, bundle_run.run_dir
    run_json = (run_dir / "run.json").read_text()
    host = socket.gethostname()
    for name, text in {**shared_texts(run_dir), "run.json": run_json}.items():
        assert KEY not in text, name
        assert str(ROOT) not in text and str(tmp) not in text and str(Path.home()) + "/" not in text, name
        if len(host) >= 6:
            assert host not in text, name
    # run.json names files relative to the project, bundled ones by package and version: nothing absolute.
    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value
    assert not [s for s in strings(json.loads(run_json)) if s.startswith("/")]
    # The key is in no notebook either, nor in the parameters the notebooks received.
    for path in [*(run_dir / "notebooks").iterdir(), *(run_dir / "parameters").iterdir()]:
        assert KEY not in path.read_text(), path.name


def test_at_risk_table_shows_pseudonyms_of_the_exported_ids(bundle_run):
    run_dir = bundle_run.run_dir
    at_risk = pd.read_csv(run_dir / "exports" / "clv_at_risk.csv", dtype={"customer_id": str})
    assert len(at_risk) >= 15
    expected = ["C-" + hmac.new(KEY.encode(), cid.encode(), "sha256").hexdigest()[:16]
                for cid in at_risk["customer_id"].head(15)]
    page = (run_dir / "share" / "clv.html").read_text()
    shown = re.findall(r"\bC-[0-9a-f]{16}\b", page)
    assert shown == expected
    assert at_risk["pseudonym"].head(15).tolist() == expected  # the exports carry both


def test_exports_carry_customer_id_and_pseudonym(bundle_run):
    run_dir = bundle_run.run_dir
    for name in ("customers.parquet", "customer_clv.parquet", "customer_values.parquet",
                 "customer_segments.parquet"):
        table = pd.read_parquet(run_dir / "exports" / name)
        assert list(table.columns[:2]) == ["customer_id", "pseudonym"], name
        assert (table["pseudonym"] == privacy.pseudonyms(table["customer_id"], KEY.encode())).all(), name


def test_small_groups_are_suppressed_on_the_pages(bundle_run):
    run_dir = bundle_run.run_dir
    segments = (run_dir / "share" / "segments.html").read_text()
    # 190 customers over eleven RFM segments: some segments hold fewer than 10.
    assert "fewer than 10" in segments
    table = pd.read_parquet(run_dir / "exports" / "customer_segments.parquet")
    small = table["rfm_segment"].value_counts()
    assert ((small > 0) & (small < 10)).any()


def test_share_can_be_built_again(bundle_run, capsys):
    run_dir = bundle_run.run_dir
    before = (run_dir / "share" / "leadership.zip").read_bytes()
    shutil.rmtree(run_dir / "share")
    assert cli.main(["share", str(run_dir)]) == 0
    assert (run_dir / "share" / "leadership.zip").read_bytes() == before
    assert cli.main(["share", str(run_dir / "no-such-run")]) == 2


@pytest.mark.skipif(page_check.chromium() is None, reason="Debian's chromium is not installed")
def test_no_page_is_wider_than_a_phone(bundle_run):
    run_dir = bundle_run.run_dir
    for page in sorted((run_dir / "share").glob("*.html")):
        assert page_check.document_width(page, 500) <= 500, page.name


# --------------------------------------------------------------------------- the rules themselves


def test_a_cell_of_nine_is_suppressed_and_one_of_ten_is_not():
    grid = pd.DataFrame([[9, 8, 10], [30, 40, 50]])
    mask = privacy.suppressed_cells(grid, 10)
    assert mask.iloc[0, 0] and mask.iloc[0, 1] and not mask.iloc[0, 2]
    # Secondary: with column totals published, 9 alone in its column could be recomputed; 30 goes too.
    assert mask.iloc[1, 0] and mask.iloc[1, 1] and not mask.iloc[1, 2]
    rows = privacy.Sharing(min_group_customers=10).table(pd.DataFrame({"customers": [9, 8, 10, 50]}), "customers")
    assert rows["customers"].tolist() == ["fewer than 10", "fewer than 10", 10, 50]


def test_changing_the_key_changes_every_pseudonym():
    ids = pd.Series([1, 2, 3, "00012000", "12000"])
    first, second = privacy.pseudonyms(ids, b"one key"), privacy.pseudonyms(ids, b"another key")
    assert (first != second).all()
    assert first.str.fullmatch(r"C-[0-9a-f]{16}").all() and first.nunique() == len(ids)
    assert privacy.pseudonyms(ids, b"one key").equals(first)  # stable for the same key


def test_key_file_is_created_once_with_owner_only_access(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENVIRONMENT, raising=False)
    processed = tmp_path / "data" / "processed" / "shop"
    processed.mkdir(parents=True)
    key = privacy.load_key(processed)
    path = tmp_path / "data" / privacy.KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert privacy.load_key(processed) == key and len(key) == 64


def test_an_internal_run_says_so_and_suppresses_nothing():
    assert "not for sharing" in _page("t", "s", "", internal=True)
    assert "not for sharing" not in _page("t", "s", "")
    table = pd.DataFrame({"customers": [1, 2, 300]})
    assert privacy.Sharing(min_group_customers=0).table(table, "customers").equals(table)


def test_zeros_beside_a_lone_small_cell_are_suppressed_too():
    """A cluster of one customer: its zeros would tell which band the one customer is in."""
    counts = pd.DataFrame({"1 (n=60)": [30, 30, 0], "2 (n=1)": [0, 0, 1]}, index=["low", "mid", "high"])
    mask = privacy.suppressed_cells(counts, 10)
    assert mask["2 (n=1)"].all()
    shares = counts / counts.sum()
    shown = privacy.Sharing(min_group_customers=10).shares(shares, counts)
    assert list(shown.columns) == ["1 (n=60)", "2 (fewer than 10)"]
    assert shown["2 (fewer than 10)"].isna().all()
    assert shown.loc[["low", "mid"], "1 (n=60)"].notna().all()


@pytest.mark.parametrize("grid", [[[5]], [[5, 0]], [[5], [20]], [[0]]])
def test_suppression_ends_on_lines_of_one_cell(grid):
    """A one-cell line has no partner to hide behind; the search stops instead of looping (it once did)."""
    mask = privacy.suppressed_cells(pd.DataFrame(grid), 10)
    assert mask.to_numpy().any() == (pd.DataFrame(grid).to_numpy().max() > 0)

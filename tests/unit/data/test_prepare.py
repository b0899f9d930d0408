"""The data layer: each validation problem gives a clear message, tolerable ones are counted."""

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from helpers import FIXTURE, MAPPING, good_rows, write_parquet_folder

from crmlab import data
from crmlab.core.schema import parse_config
from crmlab.running import cli


def file_config(path, tmp_path, **dataset):
    return parse_config({"dataset": {"name": "shop", "source": "file", "path": str(path),
                                     "columns": MAPPING, "date_format": "%Y-%m-%d", **dataset},
                         "data_dir": str(tmp_path / "data")})


def prepare_error(path, tmp_path, **dataset) -> data.DataError:
    config = file_config(path, tmp_path, **dataset)
    with pytest.raises(data.DataError) as info:
        data.prepare(config)
    # Fatal problems write nothing: neither the raw copy nor the processed table.
    assert not config.processed_dir.exists()
    assert not config.raw_dir.exists()
    return info.value


def test_good_file_becomes_canonical_table(sales_csv, tmp_path):
    config = file_config(sales_csv(good_rows()), tmp_path)
    manifest = data.prepare(config)
    table = data.load_transactions(config.processed_dir)
    assert list(table.columns) == ["customer_id", "order_id", "order_date", "product_id",
                                   "quantity", "revenue"]
    assert table["revenue"].tolist() == [7.0, 10.0, 14.0, 99.0, 10.0]  # quantity x unit price
    assert pd.api.types.is_datetime64_any_dtype(table["order_date"])
    assert manifest["customers"] == 3 and manifest["orders"] == 4 and manifest["lines"] == 5


def test_missing_column_is_named(sales_csv, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "InvoiceDate"} for r in good_rows()]
    error = prepare_error(sales_csv(rows), tmp_path)
    text = str(error)
    assert "order_date (source column InvoiceDate)" in text
    assert "missing" in text and "5 of 5 rows" in text
    assert "CustomerID" in text  # lists the columns the file does have


def test_unparseable_date_names_column_count_and_examples(sales_csv, tmp_path):
    rows = good_rows()
    rows[1]["InvoiceDate"] = "2021-13-45"
    rows[3]["InvoiceDate"] = "yesterday"
    text = str(prepare_error(sales_csv(rows), tmp_path))
    assert "order_date (source column InvoiceDate)" in text
    assert "2 of 5 rows" in text
    assert "row 2: InvoiceDate='2021-13-45'" in text and "row 4: InvoiceDate='yesterday'" in text


def test_non_numeric_amount(sales_csv, tmp_path):
    rows = good_rows()
    rows[2]["Price"] = "ten"
    text = str(prepare_error(sales_csv(rows), tmp_path))
    assert "unit_price (source column Price)" in text and "1 of 5 rows" in text and "'ten'" in text


def test_all_fatal_problems_are_reported_together(sales_csv, tmp_path):
    rows = good_rows()
    rows[0]["InvoiceDate"] = "not a date"
    rows[4]["Quantity"] = "two"
    error = prepare_error(sales_csv(rows), tmp_path)
    assert len(error.problems) == 2


def test_dates_after_observation_end(sales_csv, tmp_path):
    text = str(prepare_error(sales_csv(good_rows()), tmp_path, observation_end="2021-02-28"))
    assert "after the observation end 2021-02-28" in text and "2 of 5 rows" in text


def test_observation_end_day_is_inclusive(sales_csv, tmp_path):
    manifest = data.prepare(file_config(sales_csv(good_rows()), tmp_path, observation_end="2021-03-20"))
    assert manifest["lines"] == 5


def test_empty_input(sales_csv, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("CustomerID,InvoiceNo,InvoiceDate,StockCode,Quantity,Price\n")
    text = str(prepare_error(path, tmp_path))
    assert "empty" in text


def test_negative_discount_is_fatal(sales_csv, tmp_path):
    rows = good_rows()
    for r in rows:
        r["Disc"] = 0.5
    rows[0]["Disc"] = -1.0
    text = str(prepare_error(sales_csv(rows), tmp_path, columns={**MAPPING, "discount": "Disc"}))
    assert "discount (source column Disc)" in text and "1 of 5 rows" in text


def test_guest_lines_duplicates_and_returns_are_dropped_and_counted(sales_csv, tmp_path):
    rows = good_rows()
    # A guest order: no customer on any of its lines (a line of an order that names its customer on another
    # line takes it from there instead).
    rows.append({**rows[0], "InvoiceNo": "G1", "CustomerID": None})
    rows.append(dict(rows[2]))                               # exact duplicate
    rows.append({**rows[3], "InvoiceNo": "C3", "Quantity": -1})  # return
    config = file_config(sales_csv(rows), tmp_path)
    manifest = data.prepare(config)
    assert manifest["quality"]["dropped"] == {"missing_customer_id": 1, "duplicate": 1, "return": 1}
    assert manifest["lines"] == 5 and manifest["quality"]["input_lines"] == 8
    returns = pd.read_parquet(config.processed_dir / data.RETURNS)
    assert returns["order_id"].tolist() == ["C3"]  # nothing is lost: returns are kept aside
    notes = " ".join(manifest["quality"]["notes"])
    assert "have no customer id" in notes and "exact duplicates" in notes and "returns" in notes


def test_policies_keep_duplicates_and_returns(sales_csv, tmp_path):
    rows = good_rows() + [dict(good_rows()[2]), {**good_rows()[3], "Quantity": -1}]
    manifest = data.prepare(file_config(sales_csv(rows), tmp_path, duplicates="keep", returns="keep"))
    assert manifest["lines"] == 7
    assert manifest["quality"]["duplicates_kept"] == 1
    assert sum(manifest["quality"]["dropped"].values()) == 0


def test_order_id_is_customer_day_when_absent(sales_csv, tmp_path):
    rows = good_rows()
    for r in rows:
        del r["InvoiceNo"]
    rows.append({**rows[0], "StockCode": "Q"})  # same customer, same day: same order
    mapping = {k: v for k, v in MAPPING.items() if k != "order_id"}
    config = file_config(sales_csv(rows), tmp_path, columns=mapping)
    data.prepare(config)
    table = data.load_transactions(config.processed_dir)
    per_customer_day = table.groupby(["customer_id", table["order_date"].dt.date])["order_id"].nunique()
    assert (per_customer_day == 1).all()
    assert table["order_id"].nunique() == 4


def test_cli_prepare_exits_non_zero_with_message(sales_csv, tmp_path, capsys):
    rows = good_rows()
    rows[0]["InvoiceDate"] = "31/01/2021"
    config_path = tmp_path / "shop.yaml"
    config_path.write_text(json.dumps({
        "dataset": {"name": "shop", "source": "file", "path": str(sales_csv(rows)), "columns": MAPPING,
                    "date_format": "%Y-%m-%d"}, "data_dir": str(tmp_path / "data")}))
    assert cli.main(["data", "prepare", "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert "order_date (source column InvoiceDate)" in err and "nothing was written" in err
    assert not (tmp_path / "data" / "processed").exists()


def test_raw_copies_are_read_only_and_never_overwritten(sales_csv, tmp_path):
    path = sales_csv(good_rows())
    config = file_config(path, tmp_path)
    first = data.prepare(config)["raw_files"]["transactions"]
    original = open(first["path"], "rb").read()
    assert not os.stat(first["path"]).st_mode & stat.S_IWUSR
    rows = good_rows() + [{**good_rows()[0], "InvoiceNo": "A9", "InvoiceDate": "2021-04-01"}]
    sales_csv(rows)  # the source changes: a new raw folder, the old copy untouched
    second = data.prepare(config)["raw_files"]["transactions"]
    assert second["path"] != first["path"]
    assert open(first["path"], "rb").read() == original
    assert data.load_manifest(config.processed_dir)["lines"] == 6


def test_needs_prepare_follows_source_and_config(sales_csv, tmp_path):
    path = sales_csv(good_rows())
    config = file_config(path, tmp_path)
    assert data.needs_prepare(config)
    data.prepare(config)
    assert not data.needs_prepare(config)
    later = os.stat(config.processed_dir / data.TRANSACTIONS).st_mtime + 10
    os.utime(path, (later, later))
    assert data.needs_prepare(config)
    data.prepare(config)
    assert data.needs_prepare(file_config(path, tmp_path, returns="keep"))


def test_excel_and_parquet_sources(tmp_path):
    frame = pd.DataFrame(good_rows())
    for name in ("sales.xlsx", "sales.parquet"):
        path = tmp_path / name
        frame.to_excel(path, index=False) if name.endswith("xlsx") else frame.to_parquet(path)
        config = file_config(path, tmp_path / name.split(".")[1])
        assert data.prepare(config)["lines"] == 5


def folder_config(path, tmp_path, name="export", **dataset):
    return parse_config({"dataset": {"name": name, "source": "file", "path": str(path), **dataset},
                         "data_dir": str(tmp_path / f"data-{name}")})


@pytest.mark.parametrize("layout", ["parts", "hive partitions", "text dates (read whole)"])
def test_a_parquet_folder_gives_the_table_of_the_same_lines_in_one_file(tmp_path, layout):
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    one_file = tmp_path / "lines.parquet"
    lines.to_parquet(one_file, index=False)
    if layout == "hive partitions":
        parted = lines.assign(month=lines["order_date"].dt.strftime("%Y-%m"))
        folder = write_parquet_folder(parted, tmp_path / "export", partition="month")
    elif layout == "parts":
        folder = write_parquet_folder(lines, tmp_path / "export")
    else:
        folder = write_parquet_folder(lines.assign(order_date=lines["order_date"].astype(str)), tmp_path / "export")
    config = folder_config(folder, tmp_path)
    assert config.dataset.file_format == "parquet"
    # Typed columns are checked by DuckDB's queries; text dates need the pandas path's parsing.
    assert (data.streamable(config.dataset, folder) is None) == layout.startswith("text dates")
    manifest = data.prepare(config)
    expected = folder_config(one_file, tmp_path, name="one")
    data.prepare(expected)
    pd.testing.assert_frame_equal(data.load_transactions(config.processed_dir),
                                  data.load_transactions(expected.processed_dir))
    assert manifest["lines"] == len(lines) and manifest["customers"] == lines["customer_id"].nunique()
    # The raw copy holds the data files only, read-only; the user's folder is as it was.
    raw = Path(manifest["raw_files"]["transactions"]["path"])
    kept = data.parquet_parts(raw)
    assert [p.relative_to(raw) for p in kept] == [p.relative_to(folder) for p in data.parquet_parts(folder)]
    assert len(kept) == (6 if layout == "hive partitions" else 3)
    assert not list(raw.rglob("_SUCCESS")) and all(not os.stat(p).st_mode & stat.S_IWUSR for p in kept)
    assert (folder / "_SUCCESS").exists() and os.stat(folder / "part-00000.snappy.parquet" if layout != "hive partitions"
                                                        else next(folder.rglob("part-*.parquet"))).st_mode & stat.S_IWUSR
    assert manifest["raw_files"]["transactions"]["source"] == str(folder)


def test_a_bad_line_in_a_parquet_folder_is_named_by_its_row_across_the_parts(tmp_path):
    lines = pd.read_parquet(FIXTURE / "transactions.parquet").head(30)
    # The fourth line of the second part (rows 11-20), in an order of its own: a line whose order is dated on
    # another line would take the order's date.
    lines.loc[lines.index[13], ["order_date", "order_id"]] = [pd.NaT, lines["order_id"].max() + 1]
    folder = write_parquet_folder(lines, tmp_path / "export")
    config = folder_config(folder, tmp_path)
    with pytest.raises(data.DataError) as info:
        data.prepare(config)
    text = str(info.value)
    assert text.startswith(f"{folder}: 1 problem(s) stop the data preparation")
    assert "column 'order_date': 1 of 30 rows have a missing or unparseable date" in text
    assert "row 14: order_date=" in text
    assert not config.processed_dir.exists() and not config.raw_dir.exists()


def test_a_new_part_file_means_preparing_again(tmp_path):
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    folder = write_parquet_folder(lines.head(100), tmp_path / "export", parts=2)
    config = folder_config(folder, tmp_path)
    first = data.prepare(config)
    assert not data.needs_prepare(config)
    later = os.stat(config.processed_dir / data.TRANSACTIONS).st_mtime + 10
    lines.iloc[100:150].to_parquet(folder / "part-00002.snappy.parquet", index=False)
    os.utime(folder / "part-00002.snappy.parquet", (later, later))
    assert data.needs_prepare(config)
    second = data.prepare(config)
    assert second["lines"] == 150
    assert second["raw_files"]["transactions"]["sha256"] != first["raw_files"]["transactions"]["sha256"]


def test_a_folder_without_data_files_or_in_another_format_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "_SUCCESS").write_text("")
    text = str(prepare_error(empty, tmp_path))
    assert "is a folder without data files" in text
    folder = write_parquet_folder(pd.read_parquet(FIXTURE / "transactions.parquet").head(10), tmp_path / "x")
    assert "dataset.format is 'csv'" in str(prepare_error(folder, tmp_path, format="csv"))


def test_cdnow_bundled():
    config = parse_config({"dataset": {"source": "cdnow", "duplicates": "keep"}})
    lines, labels, _ = data.read_lines(config.dataset, data.source_files(config.dataset))
    table, _, quality = data.validate(lines, config.dataset, labels)
    assert len(table) == 69_659 and table["customer_id"].nunique() == 23_570
    assert table["order_date"].min() == pd.Timestamp("1997-01-01")
    assert table["order_date"].max() == pd.Timestamp("1998-06-30")
    assert {"product_id", "discount"}.isdisjoint(table.columns)  # absent, not invented


def test_cdnow_sample_bundled():
    config = parse_config({"dataset": {"source": "cdnow_sample", "duplicates": "keep"}})
    lines, labels, _ = data.read_lines(config.dataset, data.source_files(config.dataset))
    table, _, _ = data.validate(lines, config.dataset, labels)
    assert table["customer_id"].nunique() == 2_357 and len(table) == 6_919


@pytest.mark.slow
def test_complete_journey_bundled():
    config = parse_config({"dataset": {"source": "complete_journey"}})
    files = data.source_files(config.dataset)
    lines, labels, _ = data.read_lines(config.dataset, files)
    table, returns, quality = data.validate(lines, config.dataset, labels)
    assert len(table) == 1_469_307
    assert table["customer_id"].nunique() == 2_469
    assert table["order_id"].nunique() == 155_848
    raw = pd.read_parquet(files["transactions"])
    expected = raw["retail_disc"].sum() + raw["coupon_disc"].sum() + raw["coupon_match_disc"].sum()
    assert table["discount"].sum() == pytest.approx(expected)
    assert (table["discount"] >= 0).all()
    attributes = data.read_customer_attributes(config.dataset, files)
    assert len(attributes) == 801 and "customer_id" in attributes.columns


def test_fixture_is_a_small_prepared_dataset():
    size = sum(p.stat().st_size for p in FIXTURE.iterdir())
    assert size < 1_000_000
    manifest = data.load_manifest(FIXTURE)
    table = data.load_transactions(FIXTURE)
    assert manifest["lines"] == len(table) and 150 <= manifest["customers"] <= 220


def test_nothing_left_after_dropping_is_fatal(sales_csv, tmp_path):
    rows = [{**r, "CustomerID": None} for r in good_rows()]
    text = str(prepare_error(sales_csv(rows), tmp_path))
    assert "none of the 5 lines remain" in text


def test_timezone_aware_dates_keep_local_time(tmp_path):
    frame = pd.DataFrame(good_rows())
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"]).dt.tz_localize("Europe/London")
    path = tmp_path / "sales.parquet"
    frame.to_parquet(path)
    config = file_config(path, tmp_path)
    data.prepare(config)
    table = data.load_transactions(config.processed_dir)
    assert table["order_date"].min() == pd.Timestamp("2021-01-05")

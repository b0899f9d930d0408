"""A user's own export, as it really comes: each file loads correctly or is refused with exit 2.

Every case goes through the command line (``crmlab data prepare``), as a new
user would run it. A refusal must name the user's file as the config gives it
(not a staging copy), say what is wrong and where, leave the file untouched,
and write nothing under ``data/``.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import ONLINE_RETAIL_COLUMNS

from crmlab import data
from crmlab.core.schema import load_config
from crmlab.running import cli

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26,2.55,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26,3.39,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28,1.85,17850,United Kingdom",
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34,1.69,13047,United Kingdom",
    "536368,22960,JAM MAKING SET WITH JARS,6,2010-12-01 08:34,4.25,13047,United Kingdom",
    "536369,21756,BATH BUILDING BLOCK WORD,3,2010-12-01 08:35,5.95,13047,United Kingdom",
]
MAPPING = ONLINE_RETAIL_COLUMNS


class Project:
    """A project folder with one export file and a config pointing at it (by a relative path)."""

    def __init__(self, root: Path):
        self.root = root
        (root / "exports").mkdir()

    def write(self, content: bytes | str, name: str = "online_retail.csv", encoding: str = "utf-8") -> Path:
        path = self.root / "exports" / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    def config(self, name: str = "online_retail.csv", **dataset) -> Path:
        config = {"dataset": {"name": "shop", "source": "file", "path": f"exports/{name}",
                              "columns": MAPPING, **dataset},
                  "data_dir": "data", "notebooks": {"profile": {}}}
        path = self.root / "shop.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def prepare(self, capsys, name: str = "online_retail.csv", **dataset) -> tuple[int, str]:
        config = self.config(name, **dataset)
        cwd = os.getcwd()
        os.chdir(self.root)  # the user runs crmlab from the project root, with relative paths
        try:
            code = cli.main(["data", "prepare", "--config", str(config)])
        finally:
            os.chdir(cwd)
        return code, capsys.readouterr().err

    def table(self) -> pd.DataFrame:
        return data.load_transactions(self.root / "data" / "processed" / "shop")

    def notes(self) -> list[str]:
        return data.load_manifest(self.root / "data" / "processed" / "shop")["quality"]["notes"]


@pytest.fixture(params=["whole", "in chunks"])
def project(tmp_path, request, monkeypatch):
    """Each case twice: a CSV read whole by pandas, and read in chunks of 2 rows as a large file is."""
    if request.param == "in chunks":
        monkeypatch.setattr(data.streaming, "STREAM_CSV_BYTES", 0)
        monkeypatch.setattr(data.streaming, "CSV_CHUNK_ROWS", 2)
    return Project(tmp_path)


def csv_text(rows=ROWS, header=HEADER, newline="\n") -> str:
    return newline.join([header, *rows]) + newline


def refused(project: Project, capsys, content, *, name="online_retail.csv", expect=(), **dataset) -> str:
    """Prepare a broken file: exit 2, a message naming the file and ``expect``, nothing written."""
    path = project.write(content, name) if content is not None else project.root / "exports" / name
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    code, err = project.prepare(capsys, name, **dataset)
    assert code == 2, err
    assert "Traceback" not in err
    assert f"exports/{name}" in err and ".staging" not in err  # the user's file, not the copy
    for text in expect:
        assert text in err, err
    assert not (project.root / "data" / "processed").exists()
    assert not (project.root / "data" / "raw" / "shop").exists()
    if before is not None:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # the raw file is untouched
    return err


# --------------------------------------------------------------------------- files that load


def test_plain_online_retail_export_loads_with_ids_as_text(project, capsys):
    project.write(csv_text())
    code, err = project.prepare(capsys)
    assert code == 0, err
    table = project.table()
    assert table["product_id"].tolist()[:2] == ["85123A", "71053"]  # stock codes stay text
    assert table["revenue"].round(2).tolist()[0] == 15.3
    assert table["customer_id"].nunique() == 2


def test_leading_zeros_make_distinct_customers(project, capsys):
    rows = [r.replace(",17850,", ",00012000,", 1) if i == 0 else r.replace(",13047,", ",12000,")
            for i, r in enumerate(ROWS)]
    project.write(csv_text(rows))
    code, err = project.prepare(capsys)
    assert code == 0, err
    customers = set(project.table()["customer_id"])
    assert {"00012000", "12000"} <= customers  # not one customer 12000


def test_numeric_ids_without_leading_zeros_are_stored_compactly(project, capsys):
    project.write(csv_text())
    assert project.prepare(capsys)[0] == 0
    assert project.table()["customer_id"].dtype == "int64"


def test_windows_1252_falls_back_and_is_named(project, capsys):
    rows = [ROWS[0].replace("WHITE HANGING HEART", "CAFÉ CRÈME"), *ROWS[1:]]
    project.write(csv_text(rows), encoding="cp1252")
    code, err = project.prepare(capsys)
    assert code == 0, err
    assert any("Windows-1252" in note for note in project.notes())


def test_configured_encoding_is_used(project, capsys):
    rows = [ROWS[0].replace("WHITE HANGING HEART", "ŁÓDŹ"), *ROWS[1:]]
    project.write(csv_text(rows), encoding="cp1250")
    code, err = project.prepare(capsys, encoding="cp1250")
    assert code == 0, err
    assert not any("Windows-1252" in note for note in project.notes())


def test_utf8_with_byte_order_mark(project, capsys):
    project.write("\ufeff" + csv_text())
    code, err = project.prepare(capsys)
    assert code == 0, err  # the first column is still called InvoiceNo
    assert len(project.table()) == 6


def _unicode_text(rows=ROWS, header=HEADER) -> str:
    """Excel's "Unicode Text" export: tab-separated, Windows line ends (encoded by the caller)."""
    return csv_text([r.replace(",", "\t") for r in rows], header.replace(",", "\t"), newline="\r\n")


@pytest.mark.parametrize("encoding, how", [
    ("utf-16", "byte-order mark"),      # Excel's Unicode Text: UTF-16 LE with its mark
    ("utf-16-be", "zero bytes"),        # no mark: found by where the zero bytes fall
    ("utf-16-le", "zero bytes"),
    ("utf-32", "byte-order mark"),
])
def test_utf16_and_utf32_text_loads_as_the_same_lines(project, capsys, encoding, how):
    (project.root / "plain").mkdir()
    plain = Project(project.root / "plain")  # the same lines as a plain UTF-8 CSV, prepared the same way
    plain.write(csv_text())
    assert plain.prepare(capsys)[0] == 0
    project.write(_unicode_text().encode(encoding))
    code, err = project.prepare(capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(project.table(), plain.table())
    name = {"utf-16": "UTF-16", "utf-16-be": "UTF-16 BE", "utf-16-le": "UTF-16 LE", "utf-32": "UTF-32"}[encoding]
    assert f"The file is {name} (detected from its {how}; set dataset.encoding to override)." in project.notes()


def test_unicode_text_read_with_a_wrong_encoding_says_which_and_how_to_set_it(project, capsys):
    refused(project, capsys, _unicode_text().encode("utf-16"), encoding="cp1252",
            expect=["header that looks mis-decoded as Windows-1252", "set dataset.encoding",
                    "'Unicode Text' export is utf-16"])


def _packed(kind: str, content: bytes, member: str = "online_retail.csv") -> bytes:
    """``content`` as a warehouse or a browser hands it out."""
    import bz2
    import gzip
    import io
    import lzma
    import zipfile

    import zstandard

    if kind == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, content)
        return buffer.getvalue()
    return {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress,
            "zst": zstandard.ZstdCompressor().compress}[kind](content)


@pytest.mark.parametrize("kind, name", [("gz", "sales.csv.gz"), ("bz2", "sales.csv.bz2"), ("xz", "sales.csv.xz"),
                                        ("zst", "sales.csv.zst"), ("zip", "export.zip"),
                                        ("gz", "sales.csv")])  # told by its first bytes, not by its name
def test_compressed_and_zipped_files_give_the_lines_of_the_plain_file(project, capsys, kind, name):
    (project.root / "plain").mkdir()
    plain = Project(project.root / "plain")
    plain.write(csv_text())
    assert plain.prepare(capsys)[0] == 0
    archive = project.write(_packed(kind, csv_text().encode()), name)
    code, err = project.prepare(capsys, name)
    assert code == 0, err
    pd.testing.assert_frame_equal(project.table(), plain.table())
    assert any(note.endswith("was read from it (the raw copy keeps the file as it came).") for note in project.notes())
    # The raw copy is the archive as it came, under its own checksum.
    manifest = data.load_manifest(project.root / "data" / "processed" / "shop")
    raw = manifest["raw_files"]["transactions"]
    assert raw["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert (project.root / raw["path"]).read_bytes() == archive.read_bytes()


def test_an_excel_workbook_in_a_gzip_file_is_read_as_the_workbook(project, capsys):
    import io

    buffer = io.BytesIO()
    pd.read_csv(io.StringIO(csv_text()), dtype=str).to_excel(buffer, index=False)
    project.write(_packed("gz", buffer.getvalue()), "book.xlsx.gz")
    code, err = project.prepare(capsys, "book.xlsx.gz")
    assert code == 0, err
    assert len(project.table()) == len(ROWS)


def test_a_zip_of_two_files_names_them_and_member_chooses_one(project, capsys):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("2023/sales.csv", csv_text())
        archive.writestr("2024/sales.csv", csv_text(ROWS[:3]))
        archive.writestr("__MACOSX/2024/._sales.csv", b"resource fork")
    refused(project, capsys, buffer.getvalue(), name="export.zip",
            expect=["is a zip file holding 2 files (2023/sales.csv, 2024/sales.csv); set dataset.member"])
    refused(project, capsys, None, name="export.zip", member="2025/sales.csv",
            expect=["holds no file named '2025/sales.csv'"])
    code, err = project.prepare(capsys, "export.zip", member="2024/sales.csv")
    assert code == 0, err
    assert len(project.table()) == 3


def test_a_cut_download_is_refused_with_what_it_is(project, capsys):
    whole = _packed("gz", csv_text().encode() * 50)
    refused(project, capsys, whole[: len(whole) // 2], name="sales.csv.gz",
            expect=["is a gzip file that cannot be read through"])


SHOPIFY_COLUMNS = {"customer_id": "Email", "order_id": "Name", "order_date": "Created at",
                   "product_id": "Lineitem name", "quantity": "Lineitem quantity", "unit_price": "Lineitem price"}
SHOPIFY_ORDERS = [
    ("#1001", "ann@example.com", "2024-01-05 10:23:45 -0500", [("2", "Mug", "12.50"), ("1", "Tea", "4.00")]),
    ("#1002", "bob@example.com", "2024-01-06 18:02:11 -0500",
     [("1", "Pot", "30.00"), ("3", "Tea", "4.00"), ("1", "Mug", "12.50")]),
    ("#1003", "", "2024-01-07 09:00:00 -0500", [("1", "Tea", "4.00")]),  # a guest checkout: no email on any line
    ("#1004", "ann@example.com", "2024-02-01 08:00:00 -0500", [("1", "Pot", "30.00"), ("2", "Mug", "12.50")]),
]


def _shopify(orders=SHOPIFY_ORDERS, *, every_line: bool = False) -> str:
    """Shopify's order export: a line per item; email, date and payment status on each order's first line only."""
    rows = []
    for name, email, created, items in orders:
        for i, (quantity, item, price) in enumerate(items):
            whole = i == 0 or every_line
            rows.append(",".join([name, email if whole else "", "paid" if whole else "", created if whole else "",
                                  quantity, item, price]))
    return csv_text(rows, "Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price")


def test_order_fields_on_an_orders_first_line_only_are_taken_from_the_order(project, capsys):
    (project.root / "complete").mkdir()
    complete = Project(project.root / "complete")  # the same orders with every field on every line
    complete.write(_shopify(every_line=True), "orders.csv")
    assert complete.prepare(capsys, "orders.csv", columns=SHOPIFY_COLUMNS)[0] == 0
    project.write(_shopify(), "orders.csv")
    code, err = project.prepare(capsys, "orders.csv", columns=SHOPIFY_COLUMNS)
    assert code == 0, err
    table = project.table()
    pd.testing.assert_frame_equal(table, complete.table())
    assert len(table) == 7 and table["customer_id"].nunique() == 2 and table["order_id"].nunique() == 3
    assert table["revenue"].sum() == pytest.approx(2 * 12.5 + 4 + 30 + 3 * 4 + 12.5 + 30 + 2 * 12.5)
    assert ("4 lines took their Email from another line of their order; 4 lines took their Created at from "
            "another line of their order (the export writes it on an order's first line only).") in project.notes()
    # The guest order stays a guest order: no line of it names a customer.
    assert data.load_manifest(project.root / "data" / "processed" / "shop")["quality"]["dropped"][
        "missing_customer_id"] == 1


def test_an_order_whose_lines_name_two_customers_cannot_fill_its_blank_lines(project, capsys):
    orders = [*SHOPIFY_ORDERS[:1], ("#1002", "bob@example.com", "2024-01-06 18:02:11 -0500",
                                    [("1", "Pot", "30.00"), ("3", "Tea", "4.00"), ("1", "Mug", "12.50")])]
    text = _shopify(orders).replace("#1002,,,,3,Tea", "#1002,eve@example.com,,,3,Tea")
    refused(project, capsys, text, name="orders.csv", columns=SHOPIFY_COLUMNS,
            expect=["column 'customer_id (source column Email)': 3 of 5 rows belong to orders that leave it blank",
                    "order '#1002': Email='bob@example.com', 'eve@example.com'"])


def test_semicolons_and_decimal_commas_are_detected(project, capsys):
    rows = [r.replace(",", ";") for r in ROWS]
    rows = [";".join(f.replace(".", ",") if i == 5 else f for i, f in enumerate(r.split(";"))) for r in rows]
    project.write(csv_text(rows, HEADER.replace(",", ";"), newline="\r\n"))
    code, err = project.prepare(capsys)
    assert code == 0, err
    assert project.table()["revenue"].round(2).tolist()[0] == 15.3
    notes = " ".join(project.notes())
    assert "semicolon" in notes and "decimal comma" in notes


def test_configured_delimiter_and_decimal(project, capsys):
    rows = ["\t".join(r.split(",")[:5] + ["1.234,50"] + r.split(",")[6:]) for r in ROWS]
    project.write(csv_text(rows, HEADER.replace(",", "\t")))
    code, err = project.prepare(capsys, delimiter="\t", decimal=",")
    assert code == 0, err
    assert project.table()["revenue"].iloc[0] == pytest.approx(6 * 1234.5)


def test_blank_lines_trailing_delimiters_repeated_header_and_quoted_newlines(project, capsys):
    rows = [
        ROWS[0],
        "",
        ROWS[1] + ",",  # a trailing delimiter, on some lines only
        ",,,,,,,",  # a row of empty fields
        HEADER,  # two extracts pasted together
        ROWS[2].replace("HAND WARMER UNION JACK", '"HAND WARMER\nUNION JACK, RED"'),
        *ROWS[3:],
    ]
    project.write(csv_text(rows))
    code, err = project.prepare(capsys)
    assert code == 0, err
    assert len(project.table()) == 6
    notes = " ".join(project.notes())
    assert "repeat the header" in notes and "blank rows" in notes


def test_mixed_utc_offsets_are_converted_to_the_first_zone(project, capsys):
    rows = [r.replace("2010-12-01 08:26", "2010-12-01T08:26:00+01:00") for r in ROWS[:2]]
    rows += [r.replace("2010-12-01 08:28", "2010-12-01T23:30:00-05:00") for r in ROWS[2:3]]
    project.write(csv_text(rows + ROWS[3:]))
    code, err = project.prepare(capsys)
    assert code == 0, err
    dates = project.table().sort_values("order_id")["order_date"].tolist()
    assert dates[0] == pd.Timestamp("2010-12-01 08:26")
    # 23:30 at UTC-5 is 05:30 the next morning at UTC+1: another day for the business
    assert pd.Timestamp("2010-12-02 05:30") in dates
    assert any("UTC offset" in note for note in project.notes())


def test_configured_timezone(project, capsys):
    rows = [r.replace("2010-12-01 08:26", "2010-12-01T08:26:00Z") for r in ROWS]
    project.write(csv_text(rows))
    code, err = project.prepare(capsys, timezone="America/New_York")
    assert code == 0, err
    assert project.table()["order_date"].min() == pd.Timestamp("2010-12-01 03:26")


def test_future_dates_are_allowed_up_to_a_later_observation_end(project, capsys):
    rows = [ROWS[0].replace("2010-12-01", "2099-01-01"), *ROWS[1:]]
    project.write(csv_text(rows))
    code, err = project.prepare(capsys, observation_end="2099-12-31")
    assert code == 0, err


def test_excel_first_sheet_and_named_sheet(project, capsys):
    frame = pd.read_csv(pd.io.common.StringIO(csv_text()), dtype={"CustomerID": str})
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    frame.loc[0, "CustomerID"] = "00017850"
    path = project.root / "exports" / "online_retail.xlsx"
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="Year 2010", index=False)
        frame.head(2).to_excel(writer, sheet_name="Notes", index=False)
    code, err = project.prepare(capsys, name="online_retail.xlsx")
    assert code == 0, err
    table = project.table()
    assert len(table) == 6 and "00017850" in set(table["customer_id"])
    code, err = project.prepare(capsys, name="online_retail.xlsx", sheet="Notes")
    assert code == 0, err
    assert len(project.table()) == 2


# --------------------------------------------------------------------------- files that are refused


def test_zero_byte_file(project, capsys):
    refused(project, capsys, b"", expect=["is empty (0 bytes)"])


def test_header_only(project, capsys):
    refused(project, capsys, HEADER + "\n", expect=["no data rows"])


def test_missing_file(project, capsys):
    refused(project, capsys, None, expect=["does not exist"])


def test_undecodable_with_configured_encoding(project, capsys):
    rows = [ROWS[0], ROWS[1].replace("LANTERN", "LANTERN \xe9t\xe9")]
    content = csv_text(rows).encode("cp1252")
    err = refused(project, capsys, content, encoding="utf-8", expect=["cannot be decoded as UTF-8", "line 3"])
    assert "dataset.encoding" in err


def test_undecodable_in_utf8_and_windows_1252(project, capsys):
    # 0x81 is undefined in Windows-1252 and invalid as a UTF-8 start byte.
    content = csv_text().encode() + b"536370,1,X\x81,1,2010-12-02 09:00,1.0,17850,UK\n"
    refused(project, capsys, content, expect=["UTF-8 or Windows-1252", "line 8"])


def test_line_with_an_extra_field(project, capsys):
    rows = [*ROWS[:3], ROWS[3].replace("BIRD ORNAMENT", "BIRD, ORNAMENT"), *ROWS[4:]]
    refused(project, capsys, csv_text(rows), expect=["more fields than the header", "line 5"])


def test_unclosed_quote(project, capsys):
    rows = [*ROWS[:2], ROWS[2].replace("HAND WARMER", '"HAND WARMER'), *ROWS[3:]]
    refused(project, capsys, csv_text(rows), expect=["never closed"])


def test_future_dates_are_a_data_error(project, capsys):
    rows = [ROWS[0].replace("2010-12-01", "2099-01-01"), *ROWS[1:4], ROWS[4].replace("2010-12-01", "2098-05-05")]
    refused(project, capsys, csv_text(rows),
            expect=["order_date (source column InvoiceDate)", "2 of 5 rows", "after today",
                    "row 1: InvoiceDate='2099-01-01 08:26'", "observation_end"])


def test_unparseable_dates_and_amounts_are_named(project, capsys):
    rows = [ROWS[0].replace("2010-12-01 08:26", "31/31/2010"), ROWS[1].replace(",3.39,", ",N/A price,"),
            *ROWS[2:]]
    refused(project, capsys, csv_text(rows),
            expect=["order_date (source column InvoiceDate)': 1 of 6 rows", "unit_price (source column UnitPrice)",
                    "row 2: UnitPrice='N/A price'"])


def test_missing_column(project, capsys):
    header = HEADER.replace("CustomerID", "Customer")
    refused(project, capsys, csv_text(header=header),
            expect=["customer_id (source column CustomerID)", "the file has: InvoiceNo"])


def test_wrong_delimiter_configured(project, capsys):
    refused(project, capsys, csv_text(), delimiter=";", expect=["column is missing"])


def test_excel_without_the_sheet(project, capsys):
    path = project.root / "exports" / "online_retail.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(path, sheet_name="Data", index=False)
    refused(project, capsys, path.read_bytes(), name="online_retail.xlsx", sheet="2010",
            expect=["no sheet '2010'", "Data"])


def test_file_that_is_not_excel(project, capsys):
    refused(project, capsys, csv_text(), name="online_retail.xlsx", expect=["cannot be opened as an Excel workbook"])


def test_bad_timezone_in_config(project, capsys):
    project.write(csv_text())
    code, err = project.prepare(capsys, timezone="Europe/Atlantis")
    assert code == 2 and "dataset.timezone" in err and "Traceback" not in err


def test_command_line_process_gives_exit_2_and_no_traceback(project):
    """The real entry point, in its own process, as a scheduler runs it."""
    project.write(b"")
    config = project.config()
    result = subprocess.run([sys.executable, "-m", "crmlab.running.cli", "data", "prepare", "--config", str(config)],
                            cwd=project.root, capture_output=True, text=True)
    assert result.returncode == 2
    assert "exports/online_retail.csv" in result.stderr and "Traceback" not in result.stderr
    assert not (project.root / "data" / "processed").exists()


def test_config_loads_the_new_reading_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"source": "file", "path": "x.csv", "encoding": "latin-1",
                                                "delimiter": ";", "decimal": ",", "timezone": "Europe/Paris",
                                                "sheet": 1}}))
    cfg = load_config(path).dataset
    assert (cfg.encoding, cfg.delimiter, cfg.decimal, cfg.timezone, cfg.sheet) == (
        "latin-1", ";", ",", "Europe/Paris", 1)


def test_customer_attributes_join_on_ids_as_written(project, capsys):
    rows = [r.replace(",17850,", ",00017850,") for r in ROWS]
    project.write(csv_text(rows))
    project.write("CustomerID;Region\n00017850;North\n13047;South\n17850;West\n", name="customers.csv")
    code, err = project.prepare(capsys, customers_path="exports/customers.csv")
    assert code == 0, err
    attributes = data.load_customer_attributes(project.root / "data" / "processed" / "shop")
    table = project.table()
    joined = table.merge(attributes, on="customer_id")
    # 00017850 is North, not the 17850 of the attributes file; 13047 (text in both files) is South.
    assert dict(zip(joined["customer_id"], joined["Region"])) == {"00017850": "North", "13047": "South"}


def test_one_date_format_for_the_whole_column(project, capsys):
    """01/07/2010 could be either way round; 13/07/2010 only day first. One column, one reading, or an error."""
    rows = [ROWS[0].replace("2010-12-01 08:26", "01/07/2010 08:26"),
            *[r.replace("2010-12-01", "02/07/2010") for r in ROWS[1:4]],
            *[r.replace("2010-12-01", "13/07/2010") for r in ROWS[4:]]]
    refused(project, capsys, csv_text(rows), expect=["2 of 6 rows have a missing or unparseable date",
                                                     "row 5: InvoiceDate='13/07/2010 08:34'"])
    code, err = project.prepare(capsys, date_format="%d/%m/%Y %H:%M")
    assert code == 0, err
    assert project.table()["order_date"].dt.month.unique().tolist() == [7]


def test_ambiguous_dates_say_how_they_were_read(project, capsys):
    project.write(csv_text([r.replace("2010-12-01", "12/01/2010") for r in ROWS]))
    assert project.prepare(capsys)[0] == 0
    assert any("MM/DD/YYYY hh:mm, month first" in note for note in project.notes())


# --------------------------------------------------------------------------- large files, read in chunks


# Files whose first chunks (2 rows each) show less than the whole file: a decimal comma, offsets or
# non-compact dates appear only later. The chunked reading must end with the whole file's table and notes
# (reading again where needed; "a decimal comma first seen late" fails without that).
CHUNKED_CASES = {
    "plain": csv_text(),
    "layout rows": csv_text([ROWS[0], "", ROWS[1] + ",", ",,,,,,,", HEADER,
                             ROWS[2].replace("HAND WARMER UNION JACK", '"HAND WARMER\nUNION JACK, RED"'),
                             *ROWS[3:]]),
    "a decimal comma first seen late": csv_text(
        [r.replace(",2.55,", ",2,").replace(",3.39,", ",3,").replace(",1.85,", ",1,") for r in ROWS[:3]]
        + [r.replace(",1.69,", ',"1,69",').replace(",4.25,", ',"4,25",').replace(",5.95,", ',"5,95",')
           for r in ROWS[3:]]),
    # 13/12 makes the inferred format day first. The offsets later make pandas read the column without a
    # format, in the one it guesses from the column's first value (day first); a chunk that guessed from
    # its own first value would read 01/12/2010 as January 12th.
    "offsets first seen late under a day-first format": csv_text(
        [r.replace("2010-12-01", "13/12/2010") for r in ROWS[:2]]
        + [r.replace("2010-12-01", "01/12/2010") for r in ROWS[2:4]]
        + [r.replace("2010-12-01 08:34", "2010-12-01T08:34:00+02:00").replace(
            "2010-12-01 08:35", "2010-12-01T08:35:00+02:00") for r in ROWS[4:]]),
    "compact dates, then not": csv_text(
        [r.replace("2010-12-01 08:2", "2010120") for r in ROWS[:3]] + ROWS[3:]),
    "semicolons in Windows-1252": "\n".join(
        [HEADER.replace(",", ";"), *[r.replace(",", ";").replace("LANTERN", "LANTERN \xe9t\xe9") for r in ROWS]]
    ) + "\n",
}


@pytest.mark.parametrize("case", sorted(CHUNKED_CASES))
def test_a_csv_read_in_chunks_gives_what_the_whole_file_gives(tmp_path, capsys, monkeypatch, case):
    """The same table and notes, or the same refusal ("compact dates, then not" has unparseable dates)."""
    staged = []
    real_stage_csv = data.stage_csv
    monkeypatch.setattr(data, "stage_csv", lambda *a, **k: staged.append(1) or real_stage_csv(*a, **k))
    outcomes = {}
    for how, size, rows in (("whole", 10**12, 10**6), ("in chunks", 0, 2)):
        monkeypatch.setattr(data.streaming, "STREAM_CSV_BYTES", size)
        monkeypatch.setattr(data.streaming, "CSV_CHUNK_ROWS", rows)
        (tmp_path / how).mkdir()
        project = Project(tmp_path / how)
        content = CHUNKED_CASES[case]
        project.write(content.encode("cp1252") if "1252" in case else content.encode())
        code, err = project.prepare(capsys)
        outcomes[how] = (code, err) if code else (code, project.table(), project.notes())
    assert staged == [1]  # the second preparation, and only it, read the file in chunks
    whole, chunked = outcomes["whole"], outcomes["in chunks"]
    assert chunked[0] == whole[0], (whole, chunked)
    if whole[0]:
        assert chunked[1] == whole[1]  # the same message, word for word
    else:
        pd.testing.assert_frame_equal(chunked[1], whole[1])
        assert chunked[2] == whole[2]

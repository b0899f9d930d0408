"""The runner end to end: real papermill runs.

The five real notebooks run once, on the fixture, in the session's one run
(``conftest.bundle_run``, shared with the sharing and engine tests); the tests
of the run contract itself (failures, the lock, two runs at once) use two tiny
notebooks written here, so the suite executes each real notebook only once.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from helpers import FIXTURE, ROOT, folder_digest

from crmlab import data
from crmlab.core.catalog import REPORTS
from crmlab.core.config import ConfigError
from crmlab.core.schema import parse_config
from crmlab.running import cli
from crmlab.running.kernels import Kernels, ReadyClient
from crmlab.running.locking import LockBusy, dataset_lock
from crmlab.running.runner import NotebookFailed, run

CRMLAB = [sys.executable, "-m", "crmlab.running.cli"]


def fixture_config(tmp_path, notebooks_dir=ROOT / "notebooks", notebooks=None):
    raw = {"dataset": {"name": "sample", "source": "file",
                       "path": str(FIXTURE / "transactions.parquet"),
                       "customers_path": str(FIXTURE / "customer_attributes.parquet")},
           "data_dir": str(tmp_path / "data"),
           "notebooks": notebooks or {}}
    return raw, parse_config(raw, notebooks_dir=notebooks_dir)


def test_run_writes_the_report_folder(bundle_run):
    latest = bundle_run.folder / "reports" / "latest"
    assert latest.is_symlink() and latest.resolve() == bundle_run.run_dir
    # Reports run in threads: none of them may move the process's working directory.
    assert bundle_run.cwd_kept
    for name in ("index.html", "profile.html", "metrics.json", "run.json", "notebooks/profile.ipynb",
                 "parameters/profile.yaml", "exports/customers.parquet", "exports/clv_at_risk.xlsx"):
        assert (latest / name).exists(), name
    # The catalog names every file the reports write, and those that ran write them all, into exports/ only.
    # (On the fixture's six months the retention report is not available: it writes nothing.)
    metrics = json.loads((latest / "metrics.json").read_text())
    ran = [name for name, figures in metrics.items() if figures.get("status") == "ok"]
    assert metrics["retention"]["status"] == "not_available" and len(ran) == len(REPORTS) - 1
    assert {p.name for p in (latest / "exports").iterdir()} == {f for name in ran for f in REPORTS[name].exports}


def test_reports_write_nothing_into_processed(bundle_run):
    before = bundle_run.processed_before
    # Only what `crmlab data prepare` makes, byte for byte as it was before the run.
    assert folder_digest(bundle_run.folder / "data" / "processed" / "sample") == before
    assert set(before) == {"transactions.parquet", "returns.parquet", "customer_attributes.parquet", "manifest.json"}


def test_independent_reports_overlap_and_run_json_records_them(bundle_run):
    tmp_path = bundle_run.folder
    info = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    spans = {name: (entry["started_at"], entry["finished_at"]) for name, entry in info["notebooks"].items()}
    assert set(spans) == {"profile", "clv", "deciles", "segments", "baskets", "retention"}
    # What a report needs has finished before it starts.
    assert spans["clv"][1] <= spans["segments"][0]
    if info["jobs"] > 1:
        # profile and clv need nothing: they start together.
        assert spans["clv"][0] < spans["profile"][1] and spans["profile"][0] < spans["clv"][1]


def test_profile_metrics_match_the_data(bundle_run):
    tmp_path = bundle_run.folder
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["profile"]
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    assert metrics["customers"] == table["customer_id"].nunique()
    assert metrics["orders"] == table["order_id"].nunique()
    assert metrics["lines"] == len(table)
    assert metrics["revenue"] == pytest.approx(table["revenue"].sum(), abs=0.01)
    assert metrics["first_date"] == str(table["order_date"].min().date())
    assert metrics["last_date"] == str(table["order_date"].max().date())
    assert set(metrics["dropped_lines"]) == set(data.DROP_REASONS)
    # The notebook wrote the customer master into the run's exports.
    customers = pd.read_parquet(latest / "exports" / "customers.parquet")
    assert len(customers) == metrics["customers"]
    assert customers["revenue"].sum() == pytest.approx(metrics["revenue"], abs=0.01)
    assert customers["age"].notna().sum() > 0  # demographics joined where known


def test_html_is_for_leadership(bundle_run):
    tmp_path = bundle_run.folder
    page = (tmp_path / "reports" / "latest" / "profile.html").read_text()
    assert "Customer records profile" in page and "Dataset: sample" in page
    assert "Data period: 2017-01-01 to 2017-06-30" in page
    assert "customers placed" in page  # the computed headline sentence
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) >= 3
    # No code, prompts or parameters: none of the notebook's source text leaks into the page.
    for leak in ("load_transactions", "processed_dir", "In&nbsp;[", "injected-parameters", "metrics_path"):
        assert leak not in page, leak
    assert not re.search(r'<(script|link)[^>]+(src|href)="http', page)  # self-contained
    index = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert 'href="profile.html"' in index and "customers" in index


def test_run_json_records_the_run(bundle_run):
    tmp_path = bundle_run.folder
    info = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    assert info["status"] == "ok"
    assert info["versions"]["papermill"] != "not installed"
    assert len(info["input"]["transactions_sha256"]) == 64
    assert info["notebooks"]["profile"]["seconds"] > 0
    assert info["config"]["dataset"]["name"] == "sample"


def test_deciles_metrics_match_the_data(bundle_run):
    tmp_path = bundle_run.folder
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["deciles"]
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    revenue = table.groupby("customer_id")["revenue"].sum().sort_values(ascending=False)
    assert metrics["customers"] == len(revenue)
    assert metrics["revenue_total"] == pytest.approx(revenue.sum(), abs=0.01)
    top = round(len(revenue) * 0.1)
    assert metrics["top10_revenue_share"] == pytest.approx(revenue.iloc[:top].sum() / revenue.sum())
    assert len(metrics["decile_revenue_share"]) == 10
    assert sum(metrics["decile_revenue_share"]) == pytest.approx(1.0)
    assert sum(metrics["abc_counts"].values()) == len(revenue)
    assert metrics["deal_only_customers"] is not None  # the fixture has discounts
    export = pd.read_parquet(latest / "exports" / "customer_values.parquet")
    assert len(export) == len(revenue) and set(export["abc_class"]) <= {"A", "B", "C"}
    assert (latest / "exports" / "customer_values.csv").exists()
    index = (latest / "index.html").read_text()
    assert 'href="deciles.html"' in index and "revenue from the top 10%" in index


CLV_KEYS = {"model", "time_unit", "customers", "repeat_customers", "params", "log_likelihood", "fit_step", "boundary",
            "gamma_gamma", "holdout_actual_total", "holdout_predicted_total", "holdout_error_pct", "holdout_mae",
            "clv_total", "clv_median", "at_risk_customers", "at_risk_value"}


def test_clv_metrics_match_the_exports(bundle_run):
    tmp_path = bundle_run.folder
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["clv"]
    assert CLV_KEYS <= set(metrics)
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    assert metrics["customers"] == table["customer_id"].nunique()
    assert set(metrics["params"]) == {"r", "alpha", "a", "b"} and set(metrics["gamma_gamma"]) == {"p", "q", "v"}
    assert all(value > 0 for value in metrics["params"].values())
    export = pd.read_parquet(latest / "exports" / "customer_clv.parquet")
    assert len(export) == metrics["customers"]
    assert export["clv"].sum() == pytest.approx(metrics["clv_total"])
    assert export["p_alive"].between(0, 1).all() and export.notna().all().all()
    at_risk = pd.read_csv(latest / "exports" / "clv_at_risk.csv")
    assert len(at_risk) == metrics["at_risk_customers"] == int(export["at_risk"].sum())
    assert len(pd.read_excel(latest / "exports" / "clv_at_risk.xlsx")) == len(at_risk)
    assert metrics["holdout_actual_total"] > 0
    assert metrics["holdout_error_pct"] == pytest.approx(
        (metrics["holdout_predicted_total"] / metrics["holdout_actual_total"] - 1) * 100)
    html = (latest / "clv.html").read_text()
    assert "holdout" in html and html.count("data:image/png") >= 7


def test_clv_top_tier_is_abc_class_a(bundle_run):
    """One ranking rule: on the same values, "top 5%" is the same customers in every report."""
    from crmlab.analyses.deciles.tables import abc_classes

    tmp_path = bundle_run.folder
    export = pd.read_parquet(tmp_path / "reports" / "latest" / "exports" / "customer_clv.parquet")
    clv = export.set_index("customer_id")["clv"]
    top_tier = set(clv.index[export.set_index("customer_id")["tier"] == "top 5%"])
    class_a = set(clv.index[abc_classes(clv) == "A"])
    assert top_tier == class_a and len(top_tier) == 10  # 5% of 190 customers: 9.5, rounded up


def test_segments_metrics_match_the_export(bundle_run):
    tmp_path = bundle_run.folder
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["segments"]
    assert {"customers", "segment_counts", "k", "silhouette", "stability_ari", "cluster_sizes",
            "cluster_names"} <= set(metrics)
    export = pd.read_parquet(latest / "exports" / "customer_segments.parquet")
    assert len(export) == metrics["customers"] == sum(metrics["segment_counts"].values())
    assert export["rfm_segment"].value_counts().to_dict() == {k: v for k, v in metrics["segment_counts"].items() if v}
    assert sorted(export["cluster"].unique()) == list(range(1, metrics["k"] + 1))
    assert export["cluster"].value_counts().sort_index().tolist() == metrics["cluster_sizes"]
    assert len(set(metrics["cluster_names"])) == metrics["k"]
    assert (latest / "exports" / "customer_segments.csv").exists()
    html = (latest / "segments.html").read_text()
    # CLV ran in the same run, so the CLV-per-segment table is there.
    assert "Mean CLV" in html and "No CLV results from this run" not in html
    index = (latest / "index.html").read_text()
    assert 'href="segments.html"' in index


def test_baskets_metrics_match_the_exports(bundle_run):
    tmp_path = bundle_run.folder
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["baskets"]
    assert {"baskets", "items", "level", "min_support", "itemsets", "rules", "top_rule", "top_lift", "sequences",
            "miner", "mining_seconds"} <= set(metrics)
    table = pd.read_parquet(FIXTURE / "transactions.parquet")
    assert metrics["level"] == "category"
    assert metrics["baskets"] == table.dropna(subset=["category"])["order_id"].nunique()
    assert metrics["items"] == table["category"].nunique()
    rules = pd.read_parquet(latest / "exports" / "basket_rules.parquet")
    assert len(rules) == metrics["rules"] and rules["lift"].max() == pytest.approx(metrics["top_lift"])
    assert (rules["count"] >= metrics["min_count"]).all() and (rules["confidence"] >= 0.3).all()
    sequences = pd.read_csv(latest / "exports" / "basket_sequences.csv")
    assert len(sequences) == metrics["sequences"]
    assert metrics["miner"].startswith("eclat")
    html = (latest / "baskets.html").read_text()
    # Segments ran in the same run, so the per-segment table is there.
    assert "No segments from this run" not in html and "Placement" in html


def test_a_report_switched_off_in_the_config_is_not_run(tmp_path):
    raw, _ = fixture_config(tmp_path)
    raw["notebooks"] = {"baskets": False}
    config = parse_config(raw)
    assert config.skipped == ["baskets"] and "baskets" not in config.notebooks
    with pytest.raises(ConfigError, match="baskets switched off"):
        run(config, only=["baskets"], out_dir=tmp_path / "reports", log=lambda _: None)


# --------------------------------------------------------------------------- the run contract, on tiny notebooks


PARAMETERS = ('dataset = "x"\nprocessed_dir = "."\nexports_dir = "exports"\nmetrics_path = None\ncurrency = "$"\n'
              'pause = 0.0')


KERNEL_PROBE = ("import json, os\nfrom ipykernel.kernelapp import IPKernelApp\napp = IPKernelApp.instance()\n"
                "Path(exports_dir, f'{NAME}-kernel.json').write_text(json.dumps({'transport': app.transport, "
                "'ip': app.ip, 'mode': oct(os.stat(os.path.dirname(app.ip) or '.').st_mode & 0o777)}))")


def tiny_notebooks(folder, *, fail_in=None, probe=False):
    """Two small report notebooks: ``first`` writes an export and a metric; ``second`` may raise.

    With ``probe``, each also exports how its kernel talks to the runner (``<name>-kernel.json``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    bodies = {
        "first": ["import time\nfrom pathlib import Path\nfrom crmlab.publishing.metrics import record_metrics\n"
                  "time.sleep(pause)\nPath(exports_dir, 'first.csv').write_text('a,b\\n1,2\\n')\n"
                  "record_metrics('first', {'lines': 1}, metrics_path)"],
        "second": ["from crmlab.publishing.metrics import record_metrics\n"
                   "record_metrics('second', {'ok': True}, metrics_path)"],
    }
    if fail_in:
        bodies[fail_in].append('raise ValueError("the data has gone missing")')
    if probe:
        for name in bodies:
            bodies[name].append("from pathlib import Path\n" + KERNEL_PROBE.replace("{NAME}", name))
    for name, cells in bodies.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "crmlab", "display_name": "Python (crmlab)", "language": "python"}
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"),
                    nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                    *[nbformat.v4.new_code_cell(body) for body in cells]]
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def live_kernels() -> int:
    """Kernel processes this test process started that are still running (not yet ended)."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        count += parent == str(os.getpid()) and state != "Z" and b"ipykernel_launcher" in command
    return count


def test_a_failure_ends_its_kernel_and_the_reports_after_it_never_run(tmp_path):
    _, config = fixture_config(tmp_path, notebooks_dir=tiny_notebooks(tmp_path / "broken", fail_in="first"))
    # One at a time: first fails, so second never runs, and first's kernel is shut down, not used again.
    with pytest.raises(NotebookFailed) as info:
        run(config, out_dir=tmp_path / "reports", notebooks_dir=tmp_path / "broken", jobs=1, log=lambda _: None)
    assert info.value.notebook == "first"
    assert json.loads((info.value.run_dir / "run.json").read_text())["not_run"] == ["second"]
    assert live_kernels() == 0


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets: the kernels use TCP on Windows")
def test_kernels_talk_to_the_runner_over_private_unix_sockets(tmp_path, capfd):
    notebooks = tiny_notebooks(tmp_path / "probe", probe=True)
    _, config = fixture_config(tmp_path, notebooks_dir=notebooks)
    # One at a time: second runs in first's kernel, put back after first.
    result = run(config, out_dir=tmp_path / "reports", notebooks_dir=notebooks, jobs=1, log=lambda _: None)
    for name in ("first", "second"):
        seen = json.loads((result.run_dir / "exports" / f"{name}-kernel.json").read_text())
        assert seen["transport"] == "ipc" and seen["mode"] == "0o700", seen
        assert not Path(seen["ip"]).parent.exists()  # the socket folder is gone with the run
    # And ipykernel's warning about unencrypted TCP never reaches the scheduler's log.
    assert "without encryption" not in capfd.readouterr().err


LEAVE_BEHIND = ("import os, warnings\nimport matplotlib, matplotlib.pyplot as plt, pandas as pd\n"
                "Path(exports_dir, 'first-pid').write_text(str(os.getpid()))\n"
                "leftover = 1\npd.set_option('display.max_colwidth', 7)\nmatplotlib.rcParams['axes.grid'] = True\n"
                "plt.figure()\nwarnings.filterwarnings('error', message='left behind')\nos.chdir(exports_dir)")
FIND_NEW = ("import os, sys, warnings\nimport matplotlib, matplotlib.pyplot as plt, pandas as pd\n"
            "Path(exports_dir, 'second.json').write_text(json.dumps({'pid': os.getpid(), "
            "'leftover': 'leftover' in globals(), 'colwidth': pd.get_option('display.max_colwidth'), "
            "'grid': matplotlib.rcParams['axes.grid'], 'figures': len(plt.get_fignums()), "
            "'filter': any(f[1] and f[1].pattern == 'left behind' for f in warnings.filters), 'cwd': os.getcwd(), "
            "'modules': sorted(m for m in ('crmlab.engine', 'crmlab.publishing.display') if m in sys.modules)}))")


def test_a_kernel_is_used_again_and_the_next_report_finds_it_as_new(tmp_path):
    notebooks = tiny_notebooks(tmp_path / "again")
    first = nbformat.read(notebooks / "first.ipynb", as_version=4)
    first.cells.append(nbformat.v4.new_code_cell("from pathlib import Path\n" + LEAVE_BEHIND))
    nbformat.write(first, notebooks / "first.ipynb")
    second = nbformat.read(notebooks / "second.ipynb", as_version=4)
    second.cells.append(nbformat.v4.new_code_cell("import json\nfrom pathlib import Path\n" + FIND_NEW))
    nbformat.write(second, notebooks / "second.ipynb")
    _, config = fixture_config(tmp_path, notebooks_dir=notebooks)
    result = run(config, out_dir=tmp_path / "reports", notebooks_dir=notebooks, jobs=1, log=lambda _: None)
    exports = result.run_dir / "exports"
    seen = json.loads((exports / "second.json").read_text())
    assert seen["pid"] == int((exports / "first-pid").read_text())  # the same kernel process
    assert seen == {**seen, "leftover": False, "colwidth": 50, "grid": False, "figures": 0, "filter": False,
                    "cwd": str(notebooks)}
    assert seen["modules"] == ["crmlab.engine", "crmlab.publishing.display"]  # the imports stay: what reusing saves
    executed = nbformat.read(result.run_dir / "notebooks" / "second.ipynb", as_version=4)
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    assert live_kernels() == 0


def test_a_kernels_client_is_ready_without_waiting_for_silence_on_iopub(tmp_path):
    kernels = Kernels(tmp_path, ahead=1)
    try:
        kernels.start_ahead(["profile"])
        km = kernels.take("profile")
        client = km.client()
        assert isinstance(client, ReadyClient)
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            # jupyter_client's own wait reads IOPub until 0.2 s pass without a message; this one leaves
            # kernel_info's messages there (nbclient skips messages of other requests). Before them may come
            # the "idle" of the warm-up's import, published just after its reply.
            parents = []
            while "kernel_info_request" not in parents:
                parents.append(client.get_iopub_msg(timeout=5)["parent_header"].get("msg_type"))
            reply = client.execute_interactive("1 + 1", timeout=60)
            assert reply["content"]["status"] == "ok"
        finally:
            client.stop_channels()
            kernels.give_back(km, reusable=False)
    finally:
        kernels.close()
    assert live_kernels() == 0


def test_the_command_skips_jsonschemas_iri_grammars_and_notebooks_are_still_validated():
    # `crmlab` (the console script) blocks rfc3987_syntax: its import costs 0.9 s and no notebook schema uses it.
    code = ("import sys\nsys.argv = ['crmlab', 'notebook', '--list']\nfrom crmlab.running.cli import command\n"
            "assert command() == 0\nimport nbformat, papermill\n"
            "nbformat.validate(nbformat.read('notebooks/profile.ipynb', as_version=4))\n"
            "print('blocked:', sys.modules['rfc3987_syntax'] is None)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("blocked: True")


def test_a_bad_parameter_stops_the_run_and_the_kernels_started_beside_its_check(tmp_path, capsys):
    raw, _ = fixture_config(tmp_path)
    raw["notebooks"] = {"baskets": {"min_support": 2.5}}
    config_path = tmp_path / "shop.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    # The first reports' kernels start while the parameters are checked; the check fails, and they end.
    assert cli.main(["run", "--config", str(config_path), "--out", str(tmp_path / "reports")]) == 2
    assert "notebooks.baskets.min_support" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists() and not (tmp_path / "data").exists()  # nothing prepared or run
    assert live_kernels() == 0


def test_a_kernel_started_for_a_report_that_does_not_run_runs_the_next(tmp_path):
    # One kernel at a time, started ahead for baskets; baskets then does not run (its data lacked items).
    kernels = Kernels(tmp_path, ahead=1)
    try:
        kernels.start_ahead(["baskets", "profile"])
        km = kernels.take("profile")
        assert live_kernels() == 1  # profile runs in baskets' kernel: no second one was started
        assert Kernels._silently(km, "import sys; assert 'crmlab.analyses.profile.charts' in sys.modules")
        assert Kernels._silently(km, "import sys; assert 'crmlab.analyses.baskets.charts' in sys.modules")
        kernels.give_back(km, reusable=True)
    finally:
        kernels.close()
    assert live_kernels() == 0


def test_progress_lines_are_written_whole_and_one_at_a_time(tmp_path):
    """Two reports start together; a log that takes its time between two writes never sees another line cut in."""
    events = []

    def slow_log(message):
        events.append(("begin", message))
        time.sleep(0.02)  # long enough for the other report's thread to call in between, were it let in
        events.append(("end", message))

    _, config = fixture_config(tmp_path, notebooks_dir=tiny_notebooks(tmp_path / "pair"))
    run(config, out_dir=tmp_path / "reports", notebooks_dir=tmp_path / "pair", jobs=2, log=slow_log)
    started = [message for kind, message in events if kind == "begin" and message.endswith(": started")]
    assert len(started) == 2
    assert [kind for kind, _ in events] == ["begin", "end"] * (len(events) // 2)
    assert all(events[i][1] == events[i + 1][1] for i in range(0, len(events), 2))


def test_the_default_log_writes_each_line_in_one_write(capfd):
    from crmlab.running.runner import _stderr

    threads = [threading.Thread(target=lambda n=n: [_stderr(f"[{n}/8] report{n}: started") for _ in range(50)])
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 400 and all(re.fullmatch(r"\[\d/8\] report\d: started", line) for line in lines)


def test_a_later_notebook_failing_changes_neither_processed_nor_latest(tmp_path):
    # first pauses, so the previous run's times put it first (the runner starts the longest work first)
    # and second fails later, on every machine.
    _, config = fixture_config(tmp_path, notebooks_dir=tiny_notebooks(tmp_path / "good"),
                               notebooks={"first": {"pause": 0.5}})
    out = tmp_path / "reports"
    run(config, out_dir=out, notebooks_dir=tmp_path / "good", log=lambda _: None)
    before_latest = (out / "latest").resolve()
    before = folder_digest(config.processed_dir)
    history_before = (out / "history.csv").read_bytes()
    broken = tiny_notebooks(tmp_path / "broken", fail_in="second")
    with pytest.raises(NotebookFailed) as info:
        run(config, out_dir=out, notebooks_dir=broken, jobs=1, log=lambda _: None)
    error = info.value
    assert error.notebook == "second" and "ValueError: the data has gone missing" in str(error)
    assert "cell 4 (In [4]: raise ValueError" in str(error)
    assert (out / "latest").resolve() == before_latest
    assert folder_digest(config.processed_dir) == before
    assert (out / "history.csv").read_bytes() == history_before  # a failed run adds no row
    assert error.executed.exists()  # kept for debugging
    # second ran in first's kernel, put back as new: its execution count starts again (In [4] above), and
    # every kernel of the run has ended.
    assert live_kernels() == 0
    info = json.loads((error.run_dir / "run.json").read_text())
    assert info["status"] == "failed" and info["notebooks"]["first"]["status"] == "ok"
    assert info["notebooks"]["second"]["cell"].startswith("cell 4") and "ValueError" in info["notebooks"]["second"]["error"]


def test_cli_run_failure_exit_code(tmp_path, capsys):
    raw, _ = fixture_config(tmp_path)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(raw))
    folder = tiny_notebooks(tmp_path / "broken", fail_in="second")
    code = cli.main(["run", "--config", str(config_path), "--out", str(tmp_path / "reports"),
                     "--notebooks", str(folder)])
    assert code == 1
    err = capsys.readouterr().err
    assert "notebook 'second' failed in cell 4" in err
    assert not (tmp_path / "reports" / "latest").exists()


def test_cli_only_rejects_unknown_report(tmp_path, capsys):
    raw, _ = fixture_config(tmp_path)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(json.dumps(raw))
    assert cli.main(["run", "--config", str(config_path), "--only", "horoscope"]) == 2
    assert "unknown report(s) horoscope" in capsys.readouterr().err


def test_two_configs_on_one_dataset_keep_their_own_outputs(tmp_path):
    folder = tiny_notebooks(tmp_path / "nb")
    _, first = fixture_config(tmp_path, notebooks_dir=folder, notebooks={"first": {"pause": 0.0}})
    _, second = fixture_config(tmp_path, notebooks_dir=folder, notebooks={"first": {"pause": 0.1}})
    a = run(first, out_dir=tmp_path / "reports", notebooks_dir=folder, log=lambda _: None)
    exported = folder_digest(a.run_dir / "exports")
    b = run(second, out_dir=tmp_path / "reports", notebooks_dir=folder, log=lambda _: None)
    assert a.run_dir != b.run_dir
    assert folder_digest(a.run_dir / "exports") == exported


def _write_config(tmp_path, notebooks):
    raw, _ = fixture_config(tmp_path, notebooks_dir=tiny_notebooks(tmp_path / "nb"), notebooks=notebooks)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_two_runs_at_once_both_finish_complete(tmp_path):
    config = _write_config(tmp_path, {"first": {"pause": 1.0}})
    command = [*CRMLAB, "run", "--config", str(config), "--out", str(tmp_path / "reports"),
               "--notebooks", str(tmp_path / "nb")]
    runs = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in runs]
    assert [code for code, _ in results] == [0, 0], results
    # One waited for the other, and said so.
    assert sum("Waiting: dataset 'sample' is in use" in err for _, err in results) == 1
    folders = sorted(p for p in (tmp_path / "reports").iterdir() if p.is_dir() and not p.is_symlink())
    assert len(folders) == 2
    for folder in folders:
        assert json.loads((folder / "run.json").read_text())["status"] == "ok"
        assert json.loads((folder / "metrics.json").read_text()) == {
                "first": {"status": "ok", "lines": 1}, "second": {"status": "ok", "ok": True}}
        assert (folder / "exports" / "first.csv").exists() and (folder / "index.html").exists()
    manifest = data.load_manifest(tmp_path / "data" / "processed" / "sample")
    assert manifest["lines"] == len(pd.read_parquet(tmp_path / "data" / "processed" / "sample" / "transactions.parquet"))


def test_no_wait_exits_3_and_a_killed_holder_is_taken_over(tmp_path, capsys):
    config = _write_config(tmp_path, {})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom crmlab.running.locking import dataset_lock\n"
         f"with dataset_lock({str(tmp_path / 'data')!r}, 'sample'):\n    print('held', flush=True)\n"
         "    time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli.main(["data", "prepare", "--config", str(config), "--no-wait"]) == 3
        assert "dataset 'sample' is in use by" in capsys.readouterr().err
        with pytest.raises(LockBusy):
            with dataset_lock(tmp_path / "data", "sample", wait=False):
                pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # The kernel freed the dead holder's lock: the next run takes it over at once.
    t0 = time.monotonic()
    assert cli.main(["data", "prepare", "--config", str(config), "--no-wait"]) == 0
    assert time.monotonic() - t0 < 60


def test_two_runs_of_a_config_leave_two_history_rows_and_the_second_says_what_moved(tmp_path, capsys):
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    source = tmp_path / "sales.parquet"
    config_path = tmp_path / "shop.yaml"
    config_path.write_text(yaml.safe_dump({
        "dataset": {"name": "shop", "source": "file", "path": str(source)},
        "data_dir": str(tmp_path / "data"), "notebooks": {"deciles": {}}}))
    out = tmp_path / "reports"
    first_customers = lines["customer_id"].drop_duplicates().head(150)
    lines[lines["customer_id"].isin(first_customers)].to_parquet(source)  # last week: 150 customers
    assert cli.main(["run", "--config", str(config_path), "--only", "deciles", "--out", str(out)]) == 0
    first_index = (out / "latest" / "index.html").read_text()
    assert "since" not in first_index  # nothing to compare with yet
    lines.to_parquet(source)  # this week: all 190
    assert cli.main(["run", "--config", str(config_path), "--only", "deciles", "--out", str(out)]) == 0
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 2 and history["deciles.customers"].tolist() == [150, 190]
    assert set(history["config"]) == {str(config_path)}
    first_date = history["run_date"].iloc[0]
    index = (out / "latest" / "index.html").read_text()
    before, now = history["deciles.top10_revenue_share"]  # a figure of the deciles card
    moved = (now / before - 1) * 100
    arrow = "\u25b2" if moved > 0 else "\u25bc"
    assert f"{arrow} {abs(moved):.1f}% since {first_date}" in index
    page = (out / "latest" / "deciles.html").read_text()
    assert f"Since the run of {first_date}:" in page
    capsys.readouterr()
    assert cli.main(["history", "--config", str(config_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "deciles.customers" in printed and "150" in printed and "190" in printed


@pytest.mark.slow
def test_the_retention_report_publishes_its_page_and_exports_on_the_cdnow_sample(tmp_path):
    """The fixture's six months are too short for it (tested above); the CDNOW sample's 18 months are not."""
    config = tmp_path / "cdnow_sample.yaml"
    config.write_text(yaml.safe_dump({"dataset": {"name": "cdnow_sample", "source": "cdnow_sample",
                                                  "duplicates": "keep"},
                                      "data_dir": str(tmp_path / "data"), "notebooks": {"retention": {}}}))
    assert cli.main(["run", "--config", str(config), "--only", "retention", "--out", str(tmp_path / "reports")]) == 0
    latest = tmp_path / "reports" / "latest"
    metrics = json.loads((latest / "metrics.json").read_text())["retention"]
    assert metrics["customers_scored"] == 2357 and metrics["churn_cutoff"] == "1997-09-30"
    for key in ("churn_auc", "churn_pr_auc", "churn_brier", "churn_top_decile_lift", "churn_auc_btyd",
                "churn_auc_recency", "churn_rate", "churn_model", "churn_horizon_days", "cohort_retention"):
        assert key in metrics, key
    assert {p.name for p in (latest / "exports").iterdir()} == set(REPORTS["retention"].exports)
    churn = pd.read_csv(latest / "exports" / "customer_churn.csv")
    assert len(churn) == 2357 and {"customer_id", "pseudonym", "churn_probability", "churn_decile"} <= set(churn)
    page = (latest / "retention.html").read_text()
    assert "likely to leave in the next 90 days" in page and "Gains on the test cutoff" in page
    # Leadership's page shows pseudonyms, never a raw customer id (CDNOW's ids are numbers: look for one).
    assert re.search(r"C-[0-9a-f]{16}", page)
    assert f">{churn.loc[churn['churn_decile'] == 1, 'customer_id'].iloc[0]}<" not in page
    if metrics["churn_auc"] <= metrics["churn_auc_btyd"]:
        assert "does not beat the BTYD baseline" in page

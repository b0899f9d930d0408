"""An analyst's path through a real JupyterLab in a real browser: bind a report to a config, open it, run it all.

JupyterLab runs on a free local port with a token; Playwright drives Debian's
``chromium`` (no browser download is possible here), clicks Run > Run All
Cells as a person would, and reads the dataset's customer count off the page.
Skipped where chromium is absent outside CI, as the page-width test is.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from helpers import FIXTURE, ROOT

from crmlab.running import cli

sys.path.insert(0, str(ROOT / "tools"))
import page_check  # noqa: E402

# CI installs chromium (.ci/run), so there a missing browser fails this test instead of skipping it.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(page_check.chromium() is None and os.environ.get("CI") != "true",
                                 reason="Debian's chromium is not installed")]

# As the machine's notes say: without the background-networking flags, chromium keeps dialling out of a closed network.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on ``tmp_path``, with its settings, workspaces and runtime files kept there too."""
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path / ".jupyter-home"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
               f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = (tmp_path / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "jupyterlab.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_a_bound_notebook_runs_all_cells_in_jupyterlab(tmp_path, jupyterlab, capsys, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    assert page_check.chromium(), "CI=true, but Debian's chromium is not installed (.ci/run installs it)"

    config = {"dataset": {"name": "shop", "source": "file", "path": str(FIXTURE / "transactions.parquet")},
              "data_dir": "data", "notebooks": {"profile": {}}}
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "shop.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)  # the analyst's project folder, which JupyterLab serves
    assert cli.main(["notebook", "profile", "--config", "configs/shop.yaml"]) == 0
    bound = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert bound == Path("notebooks/work/shop/profile.ipynb")

    base, token = jupyterlab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=page_check.chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{bound.as_posix()}?token={token}", timeout=60_000)
            # The kernel the notebook names (crmlab) is up when the toolbar's kernel status reads idle.
            expect(page.locator(".jp-NotebookPanel-toolbar").get_by_text("Python (crmlab)")).to_be_visible(
                timeout=60_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            outputs = page.locator(".jp-Notebook .jp-OutputArea-output")
            # The profile's headline names the fixture's 190 customers; an error output would name a traceback.
            expect(outputs.filter(has_text="190 customers").first).to_be_visible(timeout=120_000)
            # Every code cell ran: each prompt carries an execution count, none is still queued ([*]).
            page.wait_for_function("""() => {
                const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", timeout=120_000)
            assert page.locator(".jp-Notebook .jp-OutputArea-output[data-mime-type*='error']").count() == 0
            # Sentences with two amounts ("highest in 2017-05 ($32,283), lowest ...") stay text, not LaTeX math.
            expect(outputs.filter(has_text="highest in 2017-05 ($").first).to_be_visible()
            assert page.locator(".jp-Notebook .jp-OutputArea-output mjx-container").count() == 0
            page.screenshot(path=str(tmp_path / "jupyterlab.png"))
        finally:
            browser.close()
    # Run by hand, it wrote its exports beside the project, and published nothing.
    assert (tmp_path / "reports" / "by-hand" / "shop" / "exports" / "customers.parquet").exists()
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["by-hand"]

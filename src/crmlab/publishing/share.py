"""The share bundle: the pages leadership may receive, and one file to send.

Every successful run writes ``<run>/share/``: ``index.html`` and the report
pages, and ``leadership.zip`` holding the same pages. Nothing else goes in:
no executed notebooks, exports, parameters, metrics or ``run.json``, which
hold every customer's figures or the machine's paths. ``crmlab share [RUN]``
builds it again for an earlier run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

SHARE_DIR = "share"
ZIP_NAME = "leadership.zip"


def shared_pages(run_dir: Path) -> list[Path]:
    """The pages of a run that may be shared: the index and one page per report, nothing else."""
    return sorted(p for p in Path(run_dir).glob("*.html") if p.is_file())


def build_share(run_dir: str | Path) -> Path:
    """Write ``<run>/share/`` (the pages and ``leadership.zip``) completely, or leave the old one in place.

    Raises
    ------
    FileNotFoundError
        When the run has no ``index.html`` (not a finished run).
    """
    run_dir = Path(run_dir).resolve()
    if not (run_dir / "index.html").exists():
        raise FileNotFoundError(f"{run_dir.name}: no index.html, so not a finished run; nothing to share")
    pages = shared_pages(run_dir)
    staging = Path(tempfile.mkdtemp(prefix=".share-", dir=run_dir))
    try:
        for page in pages:
            shutil.copyfile(page, staging / page.name)
        with zipfile.ZipFile(staging / ZIP_NAME, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for page in pages:
                # Fixed names and times: the same pages give the same archive.
                info = zipfile.ZipInfo(page.name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, page.read_bytes())
        os.chmod(staging, 0o755)
        target = run_dir / SHARE_DIR
        old = None
        if target.exists():
            old = run_dir / f".share-old-{os.getpid()}"
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target

"""Look at report pages as a person would: headless Chromium at a phone's and a desktop's width, and on paper.

Used by tests/test_sharing.py (skipped where Chromium is absent) and by hand::

    .venv/bin/python tests/page_check.py reports/latest [--shots DIR]

prints, for each page of the run's share/ folder, the document's width at a
500 px wide viewport (it must not exceed 500: no sideways scrolling), and
with ``--shots`` writes screenshots at 500 and 1280 px and a PDF printed to
A4 (Debian's ``chromium`` package; ``pdftoppm`` turns the PDF into images).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = ("<script>window.addEventListener('load', () => {document.body.setAttribute('data-width', "
         "document.documentElement.scrollWidth);});</script>")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str]) -> str:
    result = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             "--virtual-time-budget=3000", *args], capture_output=True, text=True, timeout=120)
    return result.stdout


def document_width(page: Path, viewport: int = 500) -> int:
    """The page's laid-out width in CSS pixels at a ``viewport`` px wide window."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / page.name
        probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
        dom = _run([f"--window-size={viewport},900", "--dump-dom", probe.as_uri()])
    found = re.search(r'data-width="(\d+)"', dom)
    if not found:
        raise RuntimeError(f"{page.name}: Chromium returned no width")
    return int(found.group(1))


def screenshots(page: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for width in (500, 1280):
        target = out / f"{page.stem}-{width}.png"
        _run([f"--window-size={width},3000", f"--screenshot={target}", page.as_uri()])
        written.append(target)
    pdf = out / f"{page.stem}.pdf"
    _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()])
    written.append(pdf)
    return written


def main(argv: list[str]) -> int:
    run = Path(argv[0]).resolve()
    shots = Path(argv[argv.index("--shots") + 1]) if "--shots" in argv else None
    pages = sorted((run / "share").glob("*.html"))
    worst = 0
    for page in pages:
        width = document_width(page)
        worst = max(worst, width)
        print(f"{page.name}: {width} px wide at a 500 px viewport")
        if shots:
            screenshots(page, shots)
    return 0 if worst <= 500 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

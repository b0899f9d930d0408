"""``crmlab init DIR``: a project folder for an installed crmlab, anywhere.

The folder holds what the commands expect below the folder they run in::

    configs/example.yaml     every report on the bundled Complete Journey
    data/raw/, data/processed/
    reports/
    notebooks/explore.ipynb  the worked example of crmlab.open, on configs/example.yaml
    notebooks/work/          where crmlab notebook writes its bound copies
    .gitignore               customer data, runs and bound copies stay out of version control

It also registers the ``crmlab`` Jupyter kernel for the Python that runs it,
since every report notebook names that kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crmlab.core.config import NOTEBOOKS_DIR, ConfigError
from crmlab.core.writing import write_atomic

TEMPLATE = Path(__file__).with_name("project_template")
KERNEL_NAME = "crmlab"
KERNEL_DISPLAY_NAME = "Python (crmlab)"
EXAMPLE_CONFIG = Path("configs") / "example.yaml"
EXPLORE = Path("notebooks") / "explore.ipynb"
FOLDERS = (Path("data") / "raw", Path("data") / "processed", Path("reports"), Path("notebooks") / "work")
# The worked example opens the kit's fixture from notebooks/examples/; the project's copy sits in notebooks/.
_EXAMPLE_OPENS = '"../../configs/fixture.yaml"'
_PROJECT_OPENS = f'"../{EXAMPLE_CONFIG.as_posix()}"'


def register_kernel() -> str:
    """Register the ``crmlab`` kernel for this Python (in its environment, ``--sys-prefix``); returns the command."""
    command = [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
               "--display-name", KERNEL_DISPLAY_NAME]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConfigError(f"the Jupyter kernel '{KERNEL_NAME}' could not be registered "
                          f"({' '.join(command)}): {done.stderr.strip()[-500:]}")
    return " ".join(command)


def _explore_notebook() -> str:
    source = (NOTEBOOKS_DIR / "examples" / "explore.ipynb").read_text(encoding="utf-8")
    notebook = json.loads(source)
    opened = 0
    for cell in notebook["cells"]:
        text = "".join(cell["source"])
        if _EXAMPLE_OPENS in text:
            cell["source"] = text.replace(_EXAMPLE_OPENS, _PROJECT_OPENS)
            opened += 1
    if opened != 1:  # the example changed shape: better no copy than one that opens the wrong data
        raise RuntimeError(f"notebooks/examples/explore.ipynb should open {_EXAMPLE_OPENS} in one cell")
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def project_files() -> dict[Path, str]:
    """The files ``init`` writes, by path inside the project folder."""
    return {
        EXAMPLE_CONFIG: (TEMPLATE / "example.yaml").read_text(encoding="utf-8"),
        Path(".gitignore"): (TEMPLATE / "gitignore").read_text(encoding="utf-8"),
        EXPLORE: _explore_notebook(),
    }


def init_project(folder: str | Path, *, kernel: bool = True) -> list[Path]:
    """Write a project folder (see the module's docstring); returns the files written.

    The folder may exist, but no file of the project may: ``init`` never
    overwrites, and writes nothing when it would have to.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.relative_to(tmp).as_posix() for p in init_project(Path(tmp) / "shop", kernel=False)]
    ['shop/configs/example.yaml', 'shop/.gitignore', 'shop/notebooks/explore.ipynb']
    """
    folder = Path(folder)
    files = project_files()
    taken = [str(folder / name) for name in files if (folder / name).exists()]
    if taken:
        raise ConfigError(f"{folder}: already a project ({', '.join(taken)} exist); init never overwrites a file")
    if kernel:
        register_kernel()
    for name in FOLDERS:
        (folder / name).mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        write_atomic(folder / name, lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"))
        written.append(folder / name)
    return written

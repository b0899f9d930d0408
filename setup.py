"""The wheel carries the report notebooks as package data (``crmlab/notebooks/``).

They live in ``notebooks/`` at the top of the repository, where analysts open
them; an installed crmlab has no repository, so the build copies them into
the package. An editable install reads ``notebooks/`` itself
(:data:`crmlab.core.config.NOTEBOOKS_DIR`). Everything else about the build
is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
# notebooks/work/ holds an analyst's bound copies (git-ignored), never part of the kit.
NOT_SHIPPED = {"work", ".ipynb_checkpoints"}


class BuildWithNotebooks(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "crmlab" / "notebooks"
        shutil.rmtree(target, ignore_errors=True)  # build/ outlives a build: a notebook since removed must not ship
        for source in sorted(NOTEBOOKS.rglob("*.ipynb")):
            relative = source.relative_to(NOTEBOOKS)
            if NOT_SHIPPED.isdisjoint(relative.parts):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target / relative)


setup(cmdclass={"build_py": BuildWithNotebooks})

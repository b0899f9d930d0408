"""Every notebook parameter of a config, checked before anything runs.

Each report's analysis class declares its parameters once: its keyword-only
constructor gives the names and defaults, its ``_parameter_constraints`` what
each accepts (see :mod:`crmlab.core.constraints`). A notebook's ``parameters`` cell
holds exactly those names and defaults, plus the runner-owned names
(:data:`crmlab.core.catalog.RUNNER_PARAMETERS`); a test keeps the two in step.

:func:`check_config` checks the ``notebooks:`` section of a config against
those declarations and raises one :class:`~crmlab.core.config.ConfigError` listing
every problem. ``crmlab run`` and ``crmlab data prepare`` call it before they
write anything.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from crmlab.core.catalog import RUNNER_PARAMETERS, report
from crmlab.core.config import NOTEBOOKS_DIR, Config, ConfigError, notebook_parameters
from crmlab.core.constraints import OfType, check_parameters


def analysis_class(name: str) -> type | None:
    """The analysis class of report ``name`` (from the catalog), or None for a notebook it does not know."""
    target = report(name).analysis
    if not target:
        return None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def analysis_defaults(cls: type) -> dict[str, Any]:
    """The constructor's parameter names and defaults; tuples as lists, as a notebook writes them."""
    defaults = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        default = param.default
        defaults[name] = list(default) if isinstance(default, tuple) else default
    return defaults


def _cell_constraints(defaults: dict[str, Any]) -> dict[str, list]:
    """For a notebook the catalog does not know: the type of each default, or any value when it is None."""
    return {name: ([OfType(float), OfType(int)] if isinstance(value, float) else [OfType(type(value))])
            if value is not None else [object]
            for name, value in defaults.items() if name not in RUNNER_PARAMETERS}


def constraints_for(name: str, notebooks_dir: Path = NOTEBOOKS_DIR) -> dict[str, list]:
    cls = analysis_class(name)
    if cls is not None:
        return cls._parameter_constraints
    return _cell_constraints(notebook_parameters(Path(notebooks_dir) / f"{name}.ipynb"))


def check_config(config: Config, notebooks_dir: Path = NOTEBOOKS_DIR) -> None:
    """Check every notebook parameter of ``config``; raise one ConfigError naming all problems.

    Raises
    ------
    ConfigError
        Listing each bad key with what it allows.
    """
    problems = []
    for name, params in config.notebooks.items():
        owned = [key for key in params if key in RUNNER_PARAMETERS]
        problems += [f"notebooks.{name}.{key} is set by the runner, not by the config" for key in owned]
        rest = {key: value for key, value in params.items() if key not in RUNNER_PARAMETERS}
        problems += check_parameters(f"notebooks.{name}", constraints_for(name, notebooks_dir), rest)
    if problems:
        where = f"{config.path}: " if config.path else ""
        raise ConfigError(where + f"{len(problems)} problem(s) in the notebook parameters; nothing was run.\n"
                          + "\n".join(f"  - {p}" for p in problems))

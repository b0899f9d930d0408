"""The data of a config, one call away in a notebook: ``crmlab.open("configs/my_shop.yaml")``.

An analyst exploring in a notebook of their own wants what a report works
on, as pandas or as an engine table, and each report's parameters as the
config sets them, without copying paths and values out of the config.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pandas as pd

from crmlab.core.catalog import RUNNER_PARAMETERS
from crmlab.core.config import Config
from crmlab.core.schema import load_config
from crmlab.running.locking import dataset_lock
from crmlab.running.parameters import analysis_class, check_config


def _project_root(config_path: Path) -> Path:
    """Where a config's relative paths start: the folder that holds ``configs/``, or the config's own folder."""
    folder = config_path.resolve().parent
    return folder.parent if folder.name == "configs" else folder


def _rooted(config: Config, root: Path) -> Config:
    """``config`` with its relative paths (data folder, source files) taken from ``root``, not the working folder."""
    def at_root(path):
        return path if path is None or Path(path).is_absolute() else str(root / path)

    dataset = dataclasses.replace(config.dataset, path=at_root(config.dataset.path),
                                  customers_path=at_root(config.dataset.customers_path))
    return dataclasses.replace(config, dataset=dataset, data_dir=Path(at_root(config.data_dir)))


class ConfigData:
    """The prepared data of one config, and its reports' parameters.

    Made by :func:`open_config`. Relative paths in the config are taken from
    the project folder (the one holding ``configs/``), so a notebook in any
    folder sees the same data as ``crmlab run`` from the project folder.

    Examples
    --------
    >>> handle = open_config("configs/fixture.yaml")
    >>> handle.transactions()["customer_id"].nunique()
    190
    >>> handle.parameters("segments")["features"]
    ['tenure', 'average_basket', 'category_breadth', 'discount_rate']
    """

    def __init__(self, config: Config):
        self.config = config

    @property
    def processed_dir(self) -> Path:
        return self.config.processed_dir

    def transactions(self) -> pd.DataFrame:
        """The canonical lines as pandas (one row per order line)."""
        from crmlab import data

        return data.load_transactions(self.processed_dir)

    def lines(self):
        """The canonical lines as an Ibis table on the config's engine (DuckDB or Spark)."""
        from crmlab import engine

        return engine.lines(self.processed_dir, self.config.engine_settings())

    def customers(self) -> pd.DataFrame:
        """One row per customer with the profile report's figures (orders, revenue, first and last purchase, ...)."""
        from crmlab import data

        analysis = analysis_class("profile")(**self.parameters("profile"))
        return analysis.fit(self.lines(), manifest=data.load_manifest(self.processed_dir),
                            attributes=data.load_customer_attributes(self.processed_dir)).customers_

    def parameters(self, report: str) -> dict[str, Any]:
        """Report ``report``'s analysis parameters as the config sets them, for ``Analysis(**...)``.

        What the report's notebook would take from the data itself is filled
        in too (the observation end), so the analysis gives the report's figures.
        """
        from crmlab import data

        cls = analysis_class(report)
        accepted = inspect.signature(cls.__init__).parameters
        params = {k: v for k, v in self.config.notebooks.get(report, {}).items() if k not in RUNNER_PARAMETERS}
        if "observation_end" in accepted and not params.get("observation_end"):
            end = data.observation_end(self.processed_dir)  # the dataset's, when its config names one
            if end:
                params["observation_end"] = end
        return params

    def __repr__(self) -> str:
        return f"<crmlab data of {self.config.dataset.name}: {self.processed_dir}>"


def open_config(path: str | Path, *, wait: bool = True) -> ConfigData:
    """The data of the config at ``path``, prepared first when it is missing or stale.

    Raises
    ------
    crmlab.core.config.ConfigError
        A config that does not check out, as ``crmlab run`` would say.
    """
    from crmlab import data

    path = Path(path)
    config = _rooted(load_config(path), _project_root(path))
    check_config(config)
    with dataset_lock(config.data_dir, config.dataset.name, wait=wait):
        if data.needs_prepare(config):
            data.prepare(config)
    return ConfigData(config)

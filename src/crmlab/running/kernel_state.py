"""A report's kernel used again for the next report: put back as that report would find a fresh kernel.

This module runs inside the kernels; the runner calls :func:`remember` once a
new kernel has imported the kit, and :func:`as_fresh` after each report.
Starting a kernel and importing the kit in it costs about 2 s of CPU, a
fifth of a small report and, with both cores busy for the whole run, a
second of wall time for every report. What a report can leave behind in
its kernel, and how each is put back:

- its names, output history and execution count: IPython's ``reset``, as a new session;
- open figures and matplotlib's settings (the theme a notebook applies): figures closed,
  settings as they were after the imports;
- pandas' options (:func:`crmlab.publishing.display.formatted` widens the columns): as after the imports;
- warning filters, and which warnings were already shown once: as after the imports;
- the working folder: the notebooks' folder the kernel started in;
- the engine's connections (DuckDB's temporary tables, a Spark session): closed, the next report opens its own;
- the memory all of it held: collected, and returned to the system where the C library can.

What stays is what the imports made: modules and their constants.
"""

from __future__ import annotations

import ctypes
import gc
import os
import warnings
from typing import Any

_AFTER_IMPORTS: dict[str, Any] = {}


def _pandas_options(node=None, prefix: str = "") -> dict[str, Any]:
    """Every pandas option and its value, walked through the public ``pd.options`` tree."""
    import pandas as pd

    node = pd.options if node is None else node
    values: dict[str, Any] = {}
    for name in dir(node):
        child = getattr(node, name)
        if isinstance(child, type(pd.options)):
            values.update(_pandas_options(child, f"{prefix}{name}."))
        else:
            values[prefix + name] = child
    return values


def remember() -> None:
    """Note the kernel's state once the kit is imported: what :func:`as_fresh` puts back."""
    import matplotlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading a deprecated pandas option warns
        _AFTER_IMPORTS.update(rc=matplotlib.rcParams.copy(), pandas=_pandas_options(),
                              filters=list(warnings.filters), cwd=os.getcwd())


def as_fresh() -> None:
    """Put the kernel back as :func:`remember` found it, the imported modules kept (see the module's docstring)."""
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd
    from IPython import get_ipython

    from crmlab import engine

    if not _AFTER_IMPORTS:
        raise RuntimeError("as_fresh() before remember(): the kernel's state after the imports is unknown")
    get_ipython().reset(new_session=True)
    plt.close("all")
    engine.disconnect_all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(_AFTER_IMPORTS["rc"])
        for key, value in _AFTER_IMPORTS["pandas"].items():
            if pd.get_option(key) != value:
                pd.set_option(key, value)
    # resetwarnings also forgets which warnings were shown once (the registries go stale with the filters).
    warnings.resetwarnings()
    warnings.filters[:] = _AFTER_IMPORTS["filters"]
    os.chdir(_AFTER_IMPORTS["cwd"])
    gc.collect()
    _return_free_memory()


def _return_free_memory() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim); elsewhere nothing to do."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass

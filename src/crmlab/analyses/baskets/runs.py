"""Index arithmetic on runs of a sorted array, shared by the sequences' count and the offers' reasons.

A run is ``starts[j]:starts[j] + lengths[j]``; expanding the runs lists their
elements one after the other without a Python loop over the runs.
"""

from __future__ import annotations

import numpy as np


def run_elements(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The index of every element of every run, run after run.

    Examples
    --------
    >>> run_elements(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def expand_runs(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each element's run number j and its own index (:func:`run_elements`).

    Examples
    --------
    >>> [a.tolist() for a in expand_runs(np.array([5, 0]), np.array([2, 3]))]
    [[0, 0, 1, 1, 1], [5, 6, 0, 1, 2]]
    """
    return np.repeat(np.arange(len(lengths)), lengths), run_elements(starts, lengths)

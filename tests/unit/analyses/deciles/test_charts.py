"""The deciles report's charts."""

import pandas as pd

from crmlab.analyses.deciles import charts


def test_a_migration_grid_of_float_counts_without_suppressed_cells_draws():
    # Sharing.matrix hands over floats (a suppressed cell is missing); at 10x data no cell is suppressed.

    grid = pd.DataFrame([[120.0, 30.0], [40.0, 200.0]], index=pd.Index([1, 2], name="period 1"),
                        columns=pd.Index([1, 2], name="period 2"))
    ax = charts.migration_heatmap(grid)
    assert [t.get_text() for t in ax.texts][:2] == ["120", "30"]

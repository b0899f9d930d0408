"""The chart theme is the notebook's first call, never a side effect of importing crmlab."""

import subprocess
import sys

# In a fresh interpreter: this test process may already have applied the theme for another test.
IMPORT_EVERY_CHART_MODULE = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
default = dict(plt.rcParams)
import crmlab.analyses.baskets.charts, crmlab.analyses.clv.charts, crmlab.analyses.deciles.charts
import crmlab.analyses.profile.charts, crmlab.analyses.segments.charts, crmlab.core.charting
import crmlab.publishing.display, crmlab.publishing.theme
print(sorted(k for k, v in plt.rcParams.items() if default[k] != v))
crmlab.publishing.theme.apply_theme()
print(plt.rcParams["axes.grid"], plt.rcParams["axes.facecolor"])
"""


def test_importing_crmlab_leaves_matplotlib_settings_alone_and_the_call_applies_the_theme():
    result = subprocess.run([sys.executable, "-c", IMPORT_EVERY_CHART_MODULE], capture_output=True, text=True,
                            check=True)
    changed_by_import, after_call = result.stdout.strip().splitlines()
    assert changed_by_import == "[]"
    assert after_call == "True white"  # seaborn's whitegrid: a grid on a white face

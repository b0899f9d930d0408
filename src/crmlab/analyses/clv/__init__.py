"""The CLV report: BG/NBD (or Pareto/NBD, MBG/NBD) with Gamma-Gamma spend, checked, refitted, acted on.

The models are :mod:`crmlab.models.btyd` (summaries, fits climbing a ladder
until one succeeds, scoring, the bootstrap), since other reports need them too.
This package adds the report: ``validation`` checks the calibration fits
against the holdout, ``valuation`` turns scores into tiers, relationship
levels and the at-risk list, ``wording`` and ``charts`` say and show it, and
:class:`CLVAnalysis` runs all of it with the notebook's parameters.
"""

from crmlab.analyses.clv.analysis import CLVAnalysis

__all__ = ["CLVAnalysis"]

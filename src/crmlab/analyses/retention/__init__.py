"""The retention report: who is leaving and why.

:class:`RetentionAnalysis` fits cohort tables (:mod:`.cohorts`), when customers stop (:mod:`.stopping`)
and a churn model checked out of time against the BTYD churn probability (:mod:`.features`,
:mod:`.churn`), and scores today's customers; :mod:`.wording` and :mod:`.charts` say and show it.
"""

from crmlab.analyses.retention.analysis import RetentionAnalysis

__all__ = ["RetentionAnalysis"]

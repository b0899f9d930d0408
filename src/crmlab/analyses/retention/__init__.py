"""The retention report (issue 25), under construction: :class:`RetentionAnalysis` fits cohort tables
(:mod:`.cohorts`), when customers stop (:mod:`.stopping`) and the churn model (:mod:`.features`,
:mod:`.churn`), and scores today's customers; :mod:`.wording` and :mod:`.charts` say and show it.

Not yet a report of the catalog: its notebook, card and documentation are still to come.
"""

from crmlab.analyses.retention.analysis import RetentionAnalysis

__all__ = ["RetentionAnalysis"]

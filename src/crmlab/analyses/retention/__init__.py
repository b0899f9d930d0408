"""The retention report (issue 25), under construction: its cohort tables so far (:mod:`.cohorts`).

Not yet a report of the catalog: the churn model, the notebook and the page are still to come.
"""

"""The retention report (issue 25), under construction: cohort tables (:mod:`.cohorts`) and when customers
stop (:mod:`.stopping`) so far.

Not yet a report of the catalog: the churn model, the notebook and the page are still to come.
"""

"""The retention report (issue 25), under construction: cohort tables (:mod:`.cohorts`), when customers stop
(:mod:`.stopping`) and the churn model's customers, features and label at a cutoff (:mod:`.features`) so far.

Not yet a report of the catalog: the churn model's training and evaluation, the notebook and the page are
still to come.
"""

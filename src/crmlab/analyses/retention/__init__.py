"""The retention report (issue 25), under construction. So far: cohort tables (:mod:`.cohorts`), when customers
stop (:mod:`.stopping`), the churn model's features and label at a cutoff (:mod:`.features`), and the model
trained on earlier cutoffs, scored out of time, with its reasons (:mod:`.churn`).

Not yet a report of the catalog: the analysis class, scoring at the observation end, the exports, the
notebook and the page are still to come.
"""

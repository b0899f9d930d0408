"""Running the reports: parameters checked against the analyses, one run at a time per dataset, papermill, the
command line. The one layer that may import every other."""

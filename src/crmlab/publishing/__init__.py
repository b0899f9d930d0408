"""What leaves the notebook: sentences, tables and charts as the page shows them, metrics files, the HTML pages,
pseudonyms and small-group suppression, and the bundle to send. Imports only ``crmlab.core``."""

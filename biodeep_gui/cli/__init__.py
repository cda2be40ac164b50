"""The ``biodeep`` command line: one parser and one error handler (main), the sequence, interpretation and scans verbs."""

"""Brain scans -> diagnosis: NIfTI cohorts, preprocessing, networks, cross-validation, run folders."""

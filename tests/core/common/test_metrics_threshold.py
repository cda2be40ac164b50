"""Calls at a threshold: the 2 x 2 counts and the rates derived from them."""
import math

import numpy as np

from biodeep_gui.core.common.metrics import threshold_counts


def test_counts_and_rates_at_a_threshold():
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.5])
    c = threshold_counts(y, p, 0.5)
    assert (c["tp"], c["fn"], c["fp"], c["tn"]) == (2, 1, 2, 2)  # 0.5 itself is called positive
    assert c["sensitivity"] == 2 / 3 and c["specificity"] == 0.5 and c["precision"] == 0.5
    assert c["accuracy"] == 4 / 7
    none = threshold_counts(y, p, 1.0)
    assert none["tp"] == none["fp"] == 0 and math.isnan(none["precision"]) and none["specificity"] == 1

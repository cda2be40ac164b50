"""core.common.system: the one reader of this process's memory and age."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from biodeep_gui.core.common.system import process_memory, seconds_since_process_start


def test_process_memory_reads_resident_and_peak_memory():
    rss = process_memory()
    assert rss is not None and rss > 1_000_000  # a Python process with numpy is several MB
    block = np.ones(64 * 2**20 // 8)  # 64 MB, touched
    peak = process_memory("VmHWM")
    assert peak is not None and peak >= process_memory() - 1_000_000 and peak > 64 * 2**20
    del block


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_fields_of_proc_status_and_unknown_ones():
    assert process_memory("RssAnon") is not None
    assert process_memory("NoSuchField") is None
    age = seconds_since_process_start()
    assert age is not None and 0 <= age < 24 * 3600

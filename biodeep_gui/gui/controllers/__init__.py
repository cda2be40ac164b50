"""The window's controllers: QObjects in the GUI thread that run one workflow each over the window's tabs.

- ``sequences``: data loading, training, the runs list (open, save as, show), predicting, resuming;
- ``scans``: brain-scans training and the Scans tab's cohort;
- ``projects``: project files (save, open, relocate moved data) and the recent-projects list;
- ``reports``: File ▸ Export report… (one HTML or PDF report of the run shown).

A controller starts core tasks through the window's ``TaskRunner``s and connects their signals to its own
``@Slot`` methods, asks the user through the window's ``Session``, and never imports the main window: the window
passes itself in.
"""
from __future__ import annotations


def device_text(model_tab, name: str) -> str:
    """A device name ('cpu', 'cuda:0') as the Model tab labels it (e.g. the GPU's model and memory)."""
    for d in model_tab.devices() or []:
        if d.name == name:
            return d.label
    return {"cpu": "CPU"}.get(name, name)

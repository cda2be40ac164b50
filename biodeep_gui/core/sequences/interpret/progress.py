"""Progress reports, cancellation and errors shared by the interpretation tasks (no torch, no Qt)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generator

from biodeep_gui.core.common.errors import BioDeepError

#: Default fraction of a filter's maximum activation above which a window counts as a site (Basset, DanQ).
ACTIVATION_THRESHOLD = 0.5


class InterpretError(BioDeepError):
    """The model or the data cannot be interpreted as asked (no convolution layer, wrong length, ...)."""


class Cancelled(BioDeepError):
    """The user cancelled an interpretation task."""

    def __init__(self, what: str = "the computation"):
        super().__init__(f"{what} was cancelled")


@dataclass
class Progress:
    """One progress report of a long interpretation task.

    stage : 'activations' | 'influence' | 'matching' | 'mutagenesis' | ...
    done, total : units of work done so far, out of ``total`` (batches, filters, ...)
    message : one line for a status bar
    """

    stage: str
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.done / self.total)


def drain(gen: Generator[Any, None, Any], progress: Callable[[Progress], None] | None = None) -> Any:
    """Run an interpretation generator to the end; pass each ``Progress`` to ``progress``; return its result."""
    while True:
        try:
            item = next(gen)
        except StopIteration as done:
            return done.value
        if progress is not None and isinstance(item, Progress):
            progress(item)


def check_stop(should_stop: Callable[[], bool] | None, what: str) -> None:
    """Raise ``Cancelled`` when ``should_stop()`` says so."""
    if should_stop is not None and should_stop():
        raise Cancelled(what)

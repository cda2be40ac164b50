"""One mechanism for every long task: a core generator iterated in a ``QThread``, its items relayed in batches.

``TaskRunner`` (lives in the GUI thread) starts one ``TaskWorker`` at a time on a fresh ``QThread``. The worker
calls ``fn(*args, should_stop=..., **kwargs)`` — a core generator such as ``experiment.train_run`` — and
iterates it. Every yielded item (plain data) is buffered and sent to the GUI thread at most every
``flush_interval`` seconds as one list (``sigItems``); a runner-side timer picks up items left waiting when the
generator goes quiet, so a stage message never sits in the buffer. The generator's return value (or, if it
returns nothing, its last item) arrives with ``sigFinished``; an exception with ``sigFailed(message, details)``.

Why this shape (see CONTRIBUTING.md, "Measured facts"):

- per-item signals cost the training loop ~70 % of its speed; ~10 Hz batches cost a few per cent;
- cancel is a ``threading.Event`` polled by the core generator (``should_stop``) every batch: a queued "stop"
  signal would never reach a worker busy in its loop;
- worker signals are connected only to slots of the runner, a QObject living in the GUI thread: a lambda or plain
  function connected to a worker signal runs in the worker thread and crashed Qt in our tests;
- the worker thread runs at a lower priority so the event loop stays responsive while torch saturates the CPUs;
- torch is never imported here: the generator imports it, in the worker thread.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from biodeep_gui.core.common.errors import BioDeepError

#: Seconds between two batches of items sent to the GUI thread.
FLUSH_INTERVAL = 0.1

#: Threads started and not yet joined by their runner: id -> (thread, stop event, name). The QThread objects are
#: kept alive here, so a runner deleted with its widget never destroys a running thread.
_LIVE: dict[int, tuple[QThread, threading.Event, str]] = {}

#: Extra niceness of worker threads on Linux, where ``QThread.LowPriority`` changes nothing for normal threads.
#: Threads that torch creates from the worker (its intra-op pool) inherit it.
WORKER_NICE = 10


def error_message(exc: BaseException) -> str:
    """The one-line message shown to the user for an exception raised by a task.

    ``BioDeepError`` messages are written for users and are shown as they are; anything else is an unexpected
    failure, named by its type so that a bug report can be matched to the details.
    """
    if isinstance(exc, BioDeepError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "the computer ran out of memory; try a smaller file, model or batch size"
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return f"{exc.filename}: {exc.strerror or exc}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected error ({type(exc).__name__}{': ' + text if text else ''})"


class TaskWorker(QObject):
    """Iterates one task in its thread and sends what it yields, in batches.

    Parameters
    ----------
    fn : the task; called as ``fn(*args, should_stop=stop.is_set, **kwargs)`` and returning an iterator, or, when
         ``plain`` is True, called as ``fn(*args, **kwargs)`` and returning the result directly
    stop : set by ``TaskRunner.cancel``; the task polls it
    flush_interval : minimum seconds between two ``sigItems`` emitted from the worker thread
    nice : niceness added to the worker thread on Linux (0: leave it)
    """

    sigItems = Signal(object)  # list of yielded items, in order
    sigFinished = Signal(object)  # the result
    sigFailed = Signal(str, str)  # message for the user, technical details (traceback)

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, stop: threading.Event, *,
                 plain: bool = False, flush_interval: float = FLUSH_INTERVAL, nice: int = WORKER_NICE):
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._stop = stop
        self._plain = plain
        self._interval = flush_interval
        self._nice = nice
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._last_flush = -1e9

    # -- called in the worker thread ------------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        if self._nice and sys.platform.startswith("linux"):
            try:  # per-thread niceness on Linux: the tid is a "process" for setpriority
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
            except (OSError, AttributeError):
                pass
        try:
            if self._plain:
                result = self._fn(*self._args, **self._kwargs)
            else:
                result = self._iterate()
        except BaseException as exc:  # noqa: BLE001 - everything must reach the user as a message
            self.flush()
            self.sigFailed.emit(error_message(exc), "".join(traceback.format_exception(exc)))
        else:
            self.flush()
            self.sigFinished.emit(result)
        finally:
            # run() is called from QThread.started, before the thread's event loop starts: quitting now makes
            # that loop return at once, so the thread ends as soon as the task does and join() never waits on it
            QThread.currentThread().quit()

    def _iterate(self) -> Any:
        iterator = self._fn(*self._args, should_stop=self._stop.is_set, **self._kwargs)
        last = None
        while True:
            try:
                item = next(iterator)
            except StopIteration as done:
                return done.value if done.value is not None else last
            last = item
            with self._lock:
                self._pending.append(item)
            if time.monotonic() - self._last_flush >= self._interval:
                self.flush()

    # -- called from either thread --------------------------------------------------------------------------
    def flush(self, older_than: float = 0.0) -> None:
        """Send the buffered items now (if the last flush is at least ``older_than`` seconds ago)."""
        with self._lock:
            now = time.monotonic()
            if not self._pending or now - self._last_flush < older_than:
                return
            items, self._pending = self._pending, []
            self._last_flush = now
            # emitted under the lock so that two flushes (worker and GUI thread) queue their lists in order
            self.sigItems.emit(items)


class TaskRunner(QObject):
    """Runs one task at a time in a worker thread and re-emits its results in the GUI thread.

    Signals are emitted from the GUI thread, so anything (including lambdas) may be connected to them.

    Parameters
    ----------
    name : shown in thread names and log messages
    priority : 'low' (default: ``QThread.LowPriority`` + Linux niceness ``WORKER_NICE``), 'idle'
               (``QThread.IdlePriority``: only runs when the machine has nothing else to do) or 'normal'

    Signals
    -------
    sigStarted()
    sigItems(list) : items yielded by the task, in order, in batches
    sigFinished(object) : the result; the thread is already joined when this arrives
    sigFailed(str, str) : user message and technical details; the thread is already joined
    sigRunningChanged(bool)
    """

    sigStarted = Signal()
    sigItems = Signal(object)
    sigFinished = Signal(object)
    sigFailed = Signal(str, str)
    sigRunningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, name: str = "task", priority: str = "low",
                 flush_interval: float = FLUSH_INTERVAL):
        super().__init__(parent)
        if priority not in ("low", "idle", "normal"):
            raise ValueError(f"priority must be low, idle or normal, not {priority!r}")
        self.name = name
        self.priority = priority
        self.flush_interval = flush_interval
        self._thread: QThread | None = None
        self._worker: TaskWorker | None = None
        self._stop = threading.Event()
        self._cancelled = False
        # picks up items the worker buffered just before its generator went quiet (a long step without yields)
        self._stale = QTimer(self)
        self._stale.setInterval(int(flush_interval * 1500))
        self._stale.timeout.connect(self._flush_stale)

    # -- public API -----------------------------------------------------------------------------------------
    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run the generator function ``fn(*args, should_stop=..., **kwargs)`` in a worker thread."""
        self._start(fn, args, kwargs, plain=False)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run the plain function ``fn(*args, **kwargs)`` in a worker thread; its return value is the result."""
        self._start(fn, args, kwargs, plain=True)

    def cancel(self) -> None:
        """Ask the task to stop; it does so at its next ``should_stop`` poll (within one batch for training)."""
        if self._thread is not None:
            self._cancelled = True
            self._stop.set()

    def is_running(self) -> bool:
        return self._thread is not None

    def was_cancelled(self) -> bool:
        """Whether ``cancel`` was called during the current (or last) task."""
        return self._cancelled

    def join(self, timeout_ms: int = -1) -> bool:
        """Block until the task's thread has ended (after ``cancel`` for a quick end); True when it has.

        Pending results are dropped: after ``join`` the runner emits nothing more for this task.
        """
        if self._thread is None:
            return True
        done = self._thread.wait() if timeout_ms < 0 else self._thread.wait(timeout_ms)
        if done:
            self._cleanup()
        return done

    def shutdown(self) -> None:
        """Cancel and join: what a window does before it closes."""
        self.cancel()
        self.join()

    # -- internals ------------------------------------------------------------------------------------------
    def _start(self, fn, args, kwargs, plain: bool) -> None:
        if self._thread is not None:
            raise RuntimeError(f"the {self.name} task is already running; cancel it or wait for it first")
        self._stop = threading.Event()
        self._cancelled = False
        thread = QThread()
        thread.setObjectName(f"biodeep-{self.name}")
        worker = TaskWorker(fn, args, kwargs, self._stop, plain=plain, flush_interval=self.flush_interval,
                            nice=0 if self.priority == "normal" else WORKER_NICE)
        worker.moveToThread(thread)
        # Every worker signal goes to a slot of this GUI-thread object, queued: runs here, in emission order.
        worker.sigItems.connect(self._on_items, Qt.QueuedConnection)
        worker.sigFinished.connect(self._on_finished, Qt.QueuedConnection)
        worker.sigFailed.connect(self._on_failed, Qt.QueuedConnection)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        _LIVE[id(thread)] = (thread, self._stop, self.name)
        thread.start({"low": QThread.LowPriority, "idle": QThread.IdlePriority,
                      "normal": QThread.InheritPriority}[self.priority])
        self._stale.start()
        self.sigStarted.emit()
        self.sigRunningChanged.emit(True)

    @Slot()
    def _flush_stale(self) -> None:
        if self._worker is not None:
            self._worker.flush(older_than=self.flush_interval)

    def _cleanup(self) -> None:
        self._stale.stop()
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            # late items of a joined task must not reach the consumers
            worker.sigItems.disconnect(self._on_items)
            worker.sigFinished.disconnect(self._on_finished)
            worker.sigFailed.disconnect(self._on_failed)
        if thread is not None:
            thread.wait()
            _LIVE.pop(id(thread), None)
        self.sigRunningChanged.emit(False)

    def _end_thread(self) -> bool:
        """Quit and join the finished worker's thread; False when a ``join`` already did (result dropped)."""
        if self._thread is None or self.sender() is not self._worker:
            return False
        self._cleanup()  # the worker's run() has returned or is about to, and its thread ends right after
        return True

    @Slot(object)
    def _on_items(self, items: list) -> None:
        if self.sender() is self._worker:
            self.sigItems.emit(items)

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        if self._end_thread():
            self.sigFinished.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if self._end_thread():
            self.sigFailed.emit(message, details)


class Runners(QObject):
    """The one registry of a window's tasks: every ``TaskRunner`` that lives under the window.

    The window's own runners are made with ``add``; the tabs' runners (children of the tabs, hence of the
    window) are found as child objects, so a tab that adds a runner is covered without being listed here.
    ``is_busy`` and ``shutdown`` read this registry and nothing else.

    Parameters
    ----------
    owner : the window; the registry and the runners it makes are its children
    """

    def __init__(self, owner: QObject):
        super().__init__(owner)
        self._owner = owner
        self._closers: list[Callable[[], None]] = []

    def add(self, name: str, **kwargs: Any) -> TaskRunner:
        """A new runner owned by the window (``kwargs`` as for ``TaskRunner``)."""
        return TaskRunner(self._owner, name=name, **kwargs)

    def on_shutdown(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` at shutdown, after every runner is cancelled and before they are joined (a tab's own
        clean-up, such as stopping a timer that would start a new task)."""
        self._closers.append(closer)

    def runners(self) -> list[TaskRunner]:
        """Every runner under the window: its own and its tabs'."""
        return self._owner.findChildren(TaskRunner)

    def running(self) -> list[str]:
        """Names of the runners with a task in progress."""
        return [r.name for r in self.runners() if r.is_running()]

    def is_busy(self) -> bool:
        return any(r.is_running() for r in self.runners())

    def shutdown(self) -> None:
        """Cancel every task, run the shutdown callbacks, then join every thread (training stops within a batch)."""
        runners = self.runners()
        for r in runners:
            r.cancel()
        for closer in self._closers:
            closer()
        for r in runners:
            r.join()


def running_threads() -> list[str]:
    """Names of the worker threads still running, whoever owns them (for tests and for the close check)."""
    return [name for thread, _, name in list(_LIVE.values()) if thread.isRunning()]


def stop_all_threads() -> list[str]:
    """Cancel and join every worker thread still running; their names (a test fixture's clean-up)."""
    names = []
    for key, (thread, stop, name) in list(_LIVE.items()):
        if thread.isRunning():
            names.append(name)
            stop.set()
            thread.wait()
        _LIVE.pop(key, None)
    return names

"""How junit2af's commands stop: SIGTERM like Ctrl-C, and servers that wait for either.

CI systems cancel a job with SIGTERM (then SIGKILL a few seconds later). An upload takes
SIGTERM as a request to stop: what is in flight is finished and journaled, one line is
printed, and the process exits 143, so the next run resumes without duplicates.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from junit2af.errors import ExitStatus, Stopped


@contextmanager
def sigterm_stops(on_signal: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Stopped` (exit 143) in the main thread;
    a second SIGTERM ends the process at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        on_signal()
        raise Stopped("SIGTERM", ExitStatus.TERMINATED)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for_stop(wait: Callable[[], None]) -> None:
    """Run ``wait`` (a server's) until SIGINT or SIGTERM.

    A non-interactive shell starts a background job (``junit2af serve &``) with SIGINT
    ignored, and Python then leaves it ignored: Ctrl-C-style stops would be lost. SIGTERM
    (``kill``, ``docker stop``) gets the same clean stop as Ctrl-C.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        wait()
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""Threads posture-gate starts beside its main thread, which leave SIGTERM and SIGINT to it.

Python runs signal handlers on the main thread only, but the kernel hands a process's
signal to any thread that does not block it: one taken by a worker leaves the main thread
asleep in whatever it waits on (a lock, a future) until that wait ends. A thread inherits
the mask of the thread that starts it, so threads are started with both signals blocked.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """SIGTERM and SIGINT blocked on this thread inside: one that arrives stays pending, and
    its handler runs when the block ends (a step that must not be cut in half). On the main
    thread this holds off a signal sent to the process because every other thread blocks
    both (they are started under signals_to_main)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def signals_to_main() -> contextlib.AbstractContextManager[None]:
    """Start threads inside this: they inherit a mask without SIGTERM/SIGINT, so the kernel
    delivers both to the main thread. Python runs handlers there only, and one caught by a
    worker left the main thread asleep in a lock until that worker's scanner ended."""
    return held_signals()


class _Pool(ThreadPoolExecutor):
    def submit(self, fn: Callable[P, T], /, *args: P.args,
               **kwargs: P.kwargs) -> Future[T]:
        with signals_to_main():  # submit() is where the pool starts its thread
            return super().submit(fn, *args, **kwargs)


def pool(name: str, size: int = 1) -> ThreadPoolExecutor:
    """A thread pool whose threads leave both signals to the main thread: the scanners'
    jobs (runner), and one thread, its work done in order, for waits that let go of the
    GIL (fsync, zlib) beside Python work."""
    return _Pool(size, thread_name_prefix=name)

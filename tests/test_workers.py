"""workers: the threads posture-gate starts leave SIGTERM and SIGINT to the main thread."""

from __future__ import annotations

import signal
import threading

from posture_gate.workers import pool, signals_to_main


def blocked() -> set[int]:
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_a_worker_blocks_both_signals_and_the_main_thread_keeps_its_mask() -> None:
    before = blocked()
    with pool("test") as workers:
        in_worker = workers.submit(blocked).result()
        assert workers.submit(sum, [1, 2]).result() == 3  # a second task, the same thread
    assert {signal.SIGTERM, signal.SIGINT} <= in_worker
    assert blocked() == before


def test_threads_started_under_signals_to_main_leave_the_signals_to_it() -> None:
    """A SIGTERM the kernel hands to a worker thread never reaches Python's handler while the
    main thread sleeps in a lock: worker threads must block both signals."""
    masks: list[set[int]] = []

    def record() -> None:
        masks.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, [])))

    with signals_to_main():
        worker = threading.Thread(target=record)
        worker.start()
    worker.join()
    assert {signal.SIGTERM, signal.SIGINT} <= masks[0]
    main = set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    assert signal.SIGTERM not in main and signal.SIGINT not in main  # restored here

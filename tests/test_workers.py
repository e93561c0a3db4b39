"""workers: the threads posture-gate starts leave SIGTERM and SIGINT to the main thread."""

from __future__ import annotations

import signal

from posture_gate.workers import one_worker


def blocked() -> set[int]:
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_a_worker_blocks_both_signals_and_the_main_thread_keeps_its_mask() -> None:
    before = blocked()
    with one_worker("test") as pool:
        in_worker = pool.submit(blocked).result()
        assert pool.submit(sum, [1, 2]).result() == 3  # a second task, the same thread
    assert {signal.SIGTERM, signal.SIGINT} <= in_worker
    assert blocked() == before

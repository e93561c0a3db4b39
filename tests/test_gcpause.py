"""gcpause: the collector is off inside and as it was afterwards, even on an error."""

from __future__ import annotations

import gc

import pytest

from posture_gate import gcpause


def test_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gcpause.paused(freeze=True):
        raise RuntimeError("midway")
    assert gc.isenabled()
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()  # was off: stays off
    finally:
        gc.enable()


def test_freeze_keeps_what_was_made_out_of_later_passes() -> None:
    before = gc.get_freeze_count()
    with gcpause.paused(freeze=True):
        made = [{"k": [i]} for i in range(1000)]
    assert gc.get_freeze_count() >= before + 1000
    del made
    gc.unfreeze()

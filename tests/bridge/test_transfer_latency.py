"""Start-up tuning the key press's tail latency depends on: the garbage collector settled once
the service is up (docs/transfers.md, "Garbage collection")."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bridge.service import GC_GEN0_THRESHOLD, settle_garbage_collector


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """The collector as the test found it (the test process must not stay tuned)."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_settling_freezes_what_start_up_built_and_collects_young_objects_less_often() -> None:
    _, gen1, gen2 = gc.get_threshold()
    long_lived = [{"schema": n} for n in range(1000)]  # like modules, models, configuration
    settle_garbage_collector()
    assert gc.get_freeze_count() >= len(long_lived)
    assert gc.get_threshold() == (GC_GEN0_THRESHOLD, gen1, gen2)
    # Frozen, not lost: still there, and a full collection no longer walks them.
    assert long_lived[-1] == {"schema": 999}


@pytest.mark.usefixtures("restored_gc")
def test_a_threshold_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="gen0_threshold must be >= 1, got 0"):
        settle_garbage_collector(0)
    assert gc.get_freeze_count() == 0

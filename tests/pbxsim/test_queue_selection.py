"""Which member app_queue offers a waiting caller: weight, wrapuptime, penaltymemberslimit,
ringinuse, autofill and QUEUE_PRIO on the emulator's queue model (app_queue.c's
can_ring_entry, compare_weight, is_member_available, is_our_turn, calc_metric, join_queue)."""

from __future__ import annotations

from typing import cast

from telephony.pbxsim.channels import Channel
from telephony.pbxsim.pbxconfig import MemberConfig, QueueConfig
from telephony.pbxsim.queues import (
    DEVICE_INUSE,
    Member,
    Queue,
    QueueEntry,
    call_ended,
    call_started,
)

SHARED = "Local/seat1@phones/n"


def _queue(name: str, members: list[tuple[str, int]], **options: object) -> Queue:
    config = QueueConfig(
        name,
        strategy=str(options.pop("strategy", "linear")),
        members=[MemberConfig(i, penalty, i, i) for i, penalty in members],
    )
    for key, value in options.items():
        setattr(config, key, value)
    return Queue.from_config(config, login_time=0)


def _caller(queue: Queue, priority: int = 0) -> QueueEntry:
    # Selection looks only at positions and flags, never at the caller's channel.
    return queue.join(cast(Channel, object()), 0.0, priority)


def _member(queue: Queue, interface: str = SHARED) -> Member:
    member = queue.find_member(interface)
    assert member is not None
    return member


def _first_choice(queue: Queue) -> str:
    member = queue.next_member(0.0)
    assert member is not None
    return member.interface


def test_a_busier_higher_weight_queue_keeps_a_shared_member() -> None:
    own = _queue("own", [(SHARED, 0)], weight=10)
    aid = _queue("aid", [(SHARED, 1)], weight=0)
    queues = [own, aid]
    assert aid.next_member(100.0, queues) is _member(aid)  # nobody waits in its own queue
    _caller(own)
    assert aid.next_member(100.0, queues) is None  # its own centre's caller comes first
    assert own.next_member(100.0, queues) is _member(own)


def test_weight_yields_only_while_the_heavier_queue_is_short_of_members() -> None:
    own = _queue("own", [(SHARED, 0), ("Local/seat2@phones/n", 0)], weight=10)
    aid = _queue("aid", [(SHARED, 1)], weight=0)
    _caller(own)
    # One caller, two members free in the heavier queue: compare_weight lets the aid queue ring.
    assert aid.can_ring(_member(aid), 100.0, [own, aid])
    _caller(own)
    assert not aid.can_ring(_member(aid), 100.0, [own, aid])


def test_equal_weights_do_not_hold_a_member_back() -> None:
    one = _queue("one", [(SHARED, 0)], weight=10)
    two = _queue("two", [(SHARED, 2)], weight=10)
    _caller(one)
    assert two.can_ring(_member(two), 100.0, [one, two])


def test_wrapuptime_keeps_a_member_from_calls_after_one_ends() -> None:
    queue = _queue("q", [(SHARED, 0)], wrapuptime=5)
    member = _member(queue)
    call_started([queue], queue, member)
    # In a call the member does not count as available (the device state keeps it from
    # being rung: ringinuse=no).
    assert not queue.member_available(member, 50.0)
    call_ended([queue], queue, member, 100.0)
    assert (member.calls_taken, member.last_call, member.in_call) == (1, 100, False)
    assert not queue.can_ring(member, 104.9, [queue])
    assert not queue.member_available(member, 104.9)
    assert queue.can_ring(member, 105.0, [queue])
    assert queue.member_available(member, 105.0)


def test_shared_lastcall_carries_the_wrapup_of_the_queue_that_had_the_call() -> None:
    aid = _queue("aid", [(SHARED, 1)], wrapuptime=5, shared_lastcall=True)
    own = _queue("own", [(SHARED, 0)], wrapuptime=0, shared_lastcall=True)
    queues = [aid, own]
    call_ended(queues, aid, _member(aid), 100.0)
    # The member's own queue has no wrap-up, but its last call was the aid queue's.
    assert not own.can_ring(_member(own), 103.0, queues)
    assert _member(own).calls_taken == 1
    assert own.can_ring(_member(own), 105.0, queues)


def test_without_shared_lastcall_each_queue_keeps_its_own_last_call() -> None:
    aid = _queue("aid", [(SHARED, 1)], wrapuptime=5)
    own = _queue("own", [(SHARED, 0)], wrapuptime=0)
    queues = [aid, own]
    call_ended(queues, aid, _member(aid), 100.0)
    assert _member(own).calls_taken == 0
    assert own.can_ring(_member(own), 101.0, queues)


def test_penalties_order_members_unless_the_queue_is_within_penaltymemberslimit() -> None:
    members = [("Local/far@phones/n", 3), ("Local/near@phones/n", 0)]
    assert _first_choice(_queue("q", members)) == "Local/near@phones/n"
    small = _queue("q", members, penaltymemberslimit=2)
    # Two members, limit 2: penalties are disregarded and linear takes the first listed.
    assert _first_choice(small) == "Local/far@phones/n"


def test_ringinuse_no_skips_a_member_in_use_and_one_rung_from_another_queue() -> None:
    strict = _queue("strict", [(SHARED, 0)], ringinuse=False)
    other = _queue("other", [(SHARED, 0)], ringinuse=False)
    queues = [strict, other]
    _member(strict).status = DEVICE_INUSE
    assert not strict.can_ring(_member(strict), 0.0, queues)
    assert not strict.member_available(_member(strict), 0.0)
    _member(strict).status = 1
    _member(other).ringing = True  # app_queue's pending_members: rung by the other queue
    assert not strict.can_ring(_member(strict), 0.0, queues)


def test_ringinuse_yes_rings_a_member_in_use() -> None:
    loose = _queue("loose", [(SHARED, 0)], ringinuse=True)
    _member(loose).status = DEVICE_INUSE
    assert loose.can_ring(_member(loose), 0.0, [loose])
    assert loose.available_count(0.0) == 1


def test_autofill_lets_as_many_callers_ring_as_members_are_available() -> None:
    members = [("Local/a@phones/n", 0), ("Local/b@phones/n", 0)]
    queue = _queue("q", members, autofill=True)
    first, second, third = _caller(queue), _caller(queue), _caller(queue)
    assert [queue.is_turn(e, 0.0) for e in (first, second, third)] == [True, True, False]
    first.pending = True  # ringing a member: the callers behind move into the window
    assert queue.is_turn(third, 0.0)


def test_without_autofill_only_the_head_caller_rings() -> None:
    members = [("Local/a@phones/n", 0), ("Local/b@phones/n", 0)]
    queue = _queue("q", members, autofill=False)
    first, second = _caller(queue), _caller(queue)
    assert queue.available_count(0.0) == 1
    assert [queue.is_turn(e, 0.0) for e in (first, second)] == [True, False]
    first.pending = True
    assert not queue.is_turn(second, 0.0)  # position 2 never rings without autofill


def test_no_available_member_means_nobody_s_turn() -> None:
    queue = _queue("q", [(SHARED, 0)])
    _member(queue).paused = True
    assert not queue.is_turn(_caller(queue), 0.0)


def test_queue_prio_puts_a_caller_ahead_of_lower_priorities_only() -> None:
    queue = _queue("q", [(SHARED, 0)])
    plain, urgent_first = _caller(queue), _caller(queue, priority=5)
    urgent_second = _caller(queue, priority=5)
    later = _caller(queue)
    assert queue.entries == [urgent_first, urgent_second, plain, later]
    assert [e.position for e in queue.entries] == [1, 2, 3, 4]
    assert urgent_second.original_position == 2

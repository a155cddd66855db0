import asyncio

import pytest

from proxies.contract import BALANCER_STATUS, BalancerRejection
from proxies.origin.balancer import Admission, Balancer, Rejected, SlotPool


def test_slots_fill_then_queue_then_reject():
    pool = SlotPool(slots=2, queue_max=1)
    assert pool.arrive(1) is Admission.ADMITTED
    assert pool.arrive(2) is Admission.ADMITTED
    assert pool.arrive(3) is Admission.QUEUED
    assert pool.arrive(4) is Admission.REJECTED
    assert (pool.busy, pool.queue_length) == (2, 1)


def test_release_hands_the_slot_to_the_oldest_waiter():
    pool = SlotPool(slots=1, queue_max=5)
    pool.arrive(1)
    pool.arrive(2)
    pool.arrive(3)
    assert pool.release() == [2]
    assert (pool.busy, pool.queue_length) == (1, 1)


def test_an_abandoned_ticket_leaves_the_queue():
    pool = SlotPool(slots=1, queue_max=5)
    pool.arrive(1)
    pool.arrive(2)
    assert pool.abandon(2) is True
    assert pool.abandon(2) is False
    assert pool.release() == []
    assert pool.busy == 0


def test_new_arrivals_do_not_overtake_the_queue():
    pool = SlotPool(slots=1, queue_max=5)
    pool.arrive(1)
    pool.arrive(2)
    pool.busy = 0  # a slot is free but someone is waiting
    assert pool.arrive(3) is Admission.QUEUED


def test_scaling_up_admits_waiters_and_scaling_down_drains():
    pool = SlotPool(slots=1, queue_max=10)
    for ticket in range(4):
        pool.arrive(ticket)
    assert pool.resize(3) == [1, 2]
    assert pool.busy == 3
    assert pool.resize(1) == []
    assert pool.release() == []  # 2 busy, still above the new size: the waiter keeps waiting
    assert pool.release() == []
    assert pool.release() == [3]


def test_balancer_rejects_with_the_nginx_statuses():
    async def scenario():
        balancer = Balancer(slots=1, queue_max=0)
        await balancer.acquire()
        with pytest.raises(Rejected) as full:
            await balancer.acquire()
        return full.value.reason

    reason = asyncio.run(scenario())
    assert reason is BalancerRejection.QUEUE_FULL
    assert BALANCER_STATUS[reason] == 502
    assert BALANCER_STATUS[BalancerRejection.READ_TIMEOUT] == 504  # nginx, not the backlog


def test_balancer_wakes_a_waiter_on_release():
    async def scenario():
        balancer = Balancer(slots=1, queue_max=5)
        await balancer.acquire()
        waiter = asyncio.create_task(balancer.acquire())
        await asyncio.sleep(0)
        assert balancer.pool.queue_length == 1
        balancer.release()
        await waiter
        return balancer.pool.busy, balancer.pool.queue_length

    assert asyncio.run(scenario()) == (1, 0)


def test_a_cancelled_waiter_leaves_the_queue():
    async def scenario():
        balancer = Balancer(slots=1, queue_max=5)
        await balancer.acquire()
        waiter = asyncio.create_task(balancer.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        balancer.release()
        return balancer.pool.busy, balancer.pool.queue_length

    assert asyncio.run(scenario()) == (0, 0)

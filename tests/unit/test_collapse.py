import asyncio

import pytest

from proxies.cdn.collapse import Collapser


def test_concurrent_misses_make_one_fetch_and_share_its_result():
    async def scenario():
        collapser: Collapser[str] = Collapser()
        release = asyncio.Event()
        calls = 0

        async def fetch():
            nonlocal calls
            calls += 1
            await release.wait()
            return "body"

        tasks = [asyncio.create_task(collapser.run("k", fetch)) for _ in range(5)]
        await asyncio.sleep(0)  # let every task reach the collapser (no wall time passes)
        assert collapser.in_flight() == 1
        release.set()
        results = await asyncio.gather(*tasks)
        return calls, results, collapser.in_flight()

    calls, results, in_flight = asyncio.run(scenario())
    assert calls == 1
    assert [r for r, _ in results] == ["body"] * 5
    assert sum(led for _, led in results) == 1
    assert in_flight == 0


def test_followers_get_the_leaders_failure_and_the_next_miss_fetches_again():
    async def scenario():
        collapser: Collapser[str] = Collapser()
        release = asyncio.Event()

        async def failing():
            await release.wait()
            raise RuntimeError("first byte timeout")

        tasks = [asyncio.create_task(collapser.run("k", failing)) for _ in range(3)]
        await asyncio.sleep(0)
        release.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)

        async def ok():
            return "fresh"

        again = await collapser.run("k", ok)
        return outcomes, again

    outcomes, again = asyncio.run(scenario())
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert again == ("fresh", True)


def test_different_keys_do_not_collapse():
    async def scenario():
        collapser: Collapser[str] = Collapser()
        calls = []

        async def fetch_for(key):
            async def fetch():
                calls.append(key)
                return key

            return await collapser.run(key, fetch)

        return await asyncio.gather(fetch_for("a"), fetch_for("b")), calls

    results, calls = asyncio.run(scenario())
    assert sorted(calls) == ["a", "b"]
    assert [r for r, _ in results] == ["a", "b"]


def test_a_cancelled_follower_does_not_cancel_the_fetch():
    async def scenario():
        collapser: Collapser[str] = Collapser()
        release = asyncio.Event()

        async def fetch():
            await release.wait()
            return "body"

        leader = asyncio.create_task(collapser.run("k", fetch))
        follower = asyncio.create_task(collapser.run("k", fetch))
        await asyncio.sleep(0)
        follower.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await follower
        return await leader

    assert asyncio.run(scenario()) == ("body", True)

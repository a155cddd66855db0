from proxies.cdn.cache import (
    Freshness,
    ObjectCache,
    StoredResponse,
    TtlRules,
    is_cacheable,
)
from proxies.contract import PEP691_JSON, CdnNodeSettings


def response(body: bytes = b"x" * 100, **headers: str) -> StoredResponse:
    return StoredResponse(200, tuple(headers.items()), body)


def test_default_rules_follow_the_2014_lifetimes():
    rules = TtlRules(CdnNodeSettings().cache_rules)
    # pypi.wsgi's Surrogate-Control: a day at the CDN for pages and files alike.
    assert rules.ttl_for("/simple/") == 86_400
    assert rules.ttl_for("/simple/foo/") == 86_400
    assert rules.ttl_for("/serversig/foo/") == 86_400
    assert rules.ttl_for("/packages/py3/f/foo/foo-1.0-py3-none-any.whl") == 86_400
    assert rules.ttl_for("/pypi/foo/json") == 86_400
    assert rules.ttl_for("/pypi/foo/1.0/json") == 86_400
    assert rules.ttl_for("/pypi/foo") == 60
    assert rules.ttl_for("/other") is None


def test_fresh_then_stale_inside_grace_then_gone():
    cache = ObjectCache(max_bytes=10_000, grace_s=30)
    cache.store("/simple/a/", "", response(), ttl_s=10, now=100.0)
    assert cache.lookup("/simple/a/", "", 109.9).freshness is Freshness.FRESH
    assert cache.lookup("/simple/a/", "", 110.0).freshness is Freshness.STALE
    assert cache.lookup("/simple/a/", "", 139.9).freshness is Freshness.STALE
    assert cache.lookup("/simple/a/", "", 140.0).freshness is Freshness.MISSING
    assert len(cache) == 0


def test_without_grace_an_expired_object_is_a_miss():
    cache = ObjectCache(max_bytes=10_000, grace_s=0)
    cache.store("/a", "", response(), ttl_s=10, now=0.0)
    assert cache.lookup("/a", "", 10.0).freshness is Freshness.MISSING


def test_size_bound_evicts_least_recently_used():
    cache = ObjectCache(max_bytes=250, grace_s=0)
    cache.store("/a", "", response(), ttl_s=60, now=0)
    cache.store("/b", "", response(), ttl_s=60, now=0)
    cache.lookup("/a", "", 1)  # /a is now the most recent
    cache.store("/c", "", response(), ttl_s=60, now=2)
    assert cache.lookup("/b", "", 3).freshness is Freshness.MISSING
    assert cache.lookup("/a", "", 3).freshness is Freshness.FRESH
    assert cache.bytes <= 250


def test_an_object_larger_than_the_cache_is_not_stored():
    cache = ObjectCache(max_bytes=50, grace_s=0)
    assert cache.store("/big", "", response(b"x" * 100), ttl_s=60, now=0) is None
    assert len(cache) == 0


def test_vary_accept_keeps_json_and_html_apart_but_normalises_the_header():
    cache = ObjectCache(max_bytes=10_000, grace_s=0)
    cache.store("/simple/a/", PEP691_JSON, response(b"json", Vary="Accept"), ttl_s=60, now=0)
    assert cache.lookup("/simple/a/", "text/html", 1).freshness is Freshness.MISSING
    pip_accept = f"{PEP691_JSON}, application/vnd.pypi.simple.v1+html; q=0.1"
    hit = cache.lookup("/simple/a/", pip_accept, 1)
    assert hit.entry is not None and hit.entry.response.body == b"json"


def test_objects_without_vary_are_shared_across_accept_headers():
    cache = ObjectCache(max_bytes=10_000, grace_s=0)
    cache.store("/packages/f.whl", PEP691_JSON, response(b"wheel"), ttl_s=60, now=0)
    assert cache.lookup("/packages/f.whl", "*/*", 1).freshness is Freshness.FRESH


def test_purge_by_surrogate_key_drops_only_tagged_objects():
    cache = ObjectCache(max_bytes=10_000, grace_s=0)
    cache.store("/simple/a/", "", response(**{"Surrogate-Key": "simple pkg~a"}), 60, 0)
    cache.store("/pypi/a/json", "", response(**{"Surrogate-Key": "json pkg~a"}), 60, 0)
    cache.store("/simple/b/", "", response(**{"Surrogate-Key": "simple pkg~b"}), 60, 0)
    assert cache.purge("pkg~a") == 2
    assert cache.lookup("/simple/b/", "", 1).freshness is Freshness.FRESH
    assert cache.lookup("/simple/a/", "", 1).freshness is Freshness.MISSING


def test_only_successful_gets_with_a_lifetime_are_cacheable():
    assert is_cacheable("GET", 200, 60)
    assert is_cacheable("HEAD", 404, 60)
    assert not is_cacheable("POST", 200, 60)
    assert not is_cacheable("GET", 503, 60)
    assert not is_cacheable("GET", 502, 60)
    assert not is_cacheable("GET", 200, None)
    assert not is_cacheable("GET", 200, 0)

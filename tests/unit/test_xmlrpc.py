import xmlrpc.client

import pytest

from proxies.origin import queries, xmlrpc_api

BASE = "http://edge.example"


def call(conn, method, *params):
    body = xmlrpc.client.dumps(params, method).encode()
    (result,), _ = xmlrpc.client.loads(xmlrpc_api.dispatch(conn, BASE, body))
    return result


def test_changelog_since_serial_returns_rows_after_the_serial_in_order(conn):
    rows = call(conn, "changelog_since_serial", 495)
    assert [row[4] for row in rows] == [496, 497, 498, 499, 500]
    name, version, timestamp, action, serial = rows[0]
    assert isinstance(name, str) and isinstance(timestamp, int) and action


def test_changelog_last_serial(conn):
    assert call(conn, "changelog_last_serial") == 500


def test_list_packages_with_serial_has_every_project_that_changed(conn):
    serials = call(conn, "list_packages_with_serial")
    assert max(serials.values()) == 500
    assert set(serials) <= set(queries.project_names(conn))


def test_package_releases_and_release_urls(conn):
    name = queries.project_names(conn)[0]
    versions = call(conn, "package_releases", name, True)
    assert len(versions) == 2
    assert call(conn, "package_releases", name) == versions[-1:]
    urls = call(conn, "release_urls", name, versions[0])
    assert urls[0]["url"].startswith(BASE + "/packages/")
    assert len(urls[0]["digests"]["sha256"]) == 64


def test_unknown_method_is_a_fault_naming_the_known_ones(conn):
    body = xmlrpc.client.dumps((), "search").encode()
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(xmlrpc_api.dispatch(conn, BASE, body))
    assert "changelog_since_serial" in fault.value.faultString


def test_bad_arguments_are_a_fault(conn):
    body = xmlrpc.client.dumps((1, 2, 3), "changelog_last_serial").encode()
    with pytest.raises(xmlrpc.client.Fault):
        xmlrpc.client.loads(xmlrpc_api.dispatch(conn, BASE, body))


def test_results_are_the_same_with_and_without_the_index(conn):
    from proxies.origin import dataset

    without = call(conn, "changelog_since_serial", 400)
    dataset.apply_journals_id_index(conn, True)
    try:
        assert call(conn, "changelog_since_serial", 400) == without
    finally:
        dataset.apply_journals_id_index(conn, False)

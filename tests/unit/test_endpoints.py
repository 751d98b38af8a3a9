"""The endpoint watch's decisions (jobs/endpoints.py) and its settings, without servers."""

from __future__ import annotations

import pytest

from jobs.endpoints import ObjectVersion, first_caught_up, missing, objects_lacking
from jobs.settings import Settings

ENDPOINTS = "primary=http://10.0.0.1:9000, backup=http://10.0.0.2:9000"


def test_endpoints_come_in_their_order_with_the_preferred_one_first_and_credentials_by_name():
    settings = Settings.from_mapping(
        {
            "LAKEHOUSE_S3_ENDPOINTS": ENDPOINTS,
            "LAKEHOUSE_S3_ACCESS_KEY": "jobs",
            "LAKEHOUSE_S3_BACKUP_ACCESS_KEY": "jobs-at-backup",
            "LAKEHOUSE_S3_BACKUP_SECRET_KEY": "s",
        }
    )
    assert [(e.name, e.url, e.access_key) for e in settings.object_store_endpoints] == [
        ("primary", "http://10.0.0.1:9000", "jobs"),
        ("backup", "http://10.0.0.2:9000", "jobs-at-backup"),
    ]
    preferred = settings.with_overrides(s3_preferred_endpoint="backup")
    assert [e.name for e in preferred.object_store_endpoints] == ["backup", "primary"]


def test_without_a_list_the_one_endpoint_is_the_primary():
    settings = Settings.from_mapping({"LAKEHOUSE_S3_ENDPOINT": "http://10.0.0.9:9000"})
    assert [(e.name, e.url) for e in settings.object_store_endpoints] == [("primary", "http://10.0.0.9:9000")]


def test_a_process_on_an_endpoint_keeps_to_it():
    settings = Settings.from_mapping({"LAKEHOUSE_S3_ENDPOINTS": ENDPOINTS, "LAKEHOUSE_S3_ACCESS_KEY": "jobs"})
    backup = settings.on_endpoint(settings.object_store_endpoints[1])
    assert (backup.s3_endpoint, backup.s3_endpoint_name) == ("http://10.0.0.2:9000", "backup")
    assert [e.name for e in backup.object_store_endpoints] == ["backup"]


@pytest.mark.parametrize("entry", ["http://10.0.0.1:9000", "primary=10.0.0.1:9000", "pri mary=http://a:1"])
def test_a_malformed_endpoint_list_is_refused_naming_the_entry(entry):
    with pytest.raises(ValueError, match="LAKEHOUSE_S3_ENDPOINTS"):
        Settings.from_mapping({"LAKEHOUSE_S3_ENDPOINTS": entry})


def v(etag: str, modified: float) -> ObjectVersion:
    return ObjectVersion(etag, modified)


def test_an_endpoint_lacks_what_another_holds_or_holds_newer():
    primary = {("lake", "a"): v("1", 10), ("lake", "b"): v("2", 10)}
    backup = {("lake", "a"): v("1", 10), ("lake", "b"): v("3", 20), ("lake", "c"): v("4", 20)}
    assert sorted(missing(primary, backup)) == [("lake", "b"), ("lake", "c")]
    assert missing(backup, primary) == []  # an older version of b is not something backup lacks


def test_the_first_endpoint_that_lacks_nothing_is_chosen():
    caught_up = {("lake", "a"): v("1", 10)}
    behind: dict = {}
    assert first_caught_up(objects_lacking([caught_up, caught_up])) == 0
    # The primary came back without the commits made on the backup meanwhile: the backup.
    assert first_caught_up(objects_lacking([behind, caught_up])) == 1


def test_two_endpoints_each_holding_writes_the_other_lacks_have_forked():
    left = {("lake", "_delta_log/00000000000000000007.json"): v("1", 10)}
    right = {("lake", "_delta_log/00000000000000000008.json"): v("2", 10)}
    assert first_caught_up(objects_lacking([left, right])) is None

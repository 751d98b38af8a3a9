"""The endpoint watch's rule for an endpoint that returns behind another (no server needed)."""

from __future__ import annotations

from jobs.endpoint_watch import lagging_tables, preference_order
from jobs.settings import Settings


def test_an_endpoint_behind_another_lists_the_tables_it_lacks_commits_of():
    heads = {"primary": {"silver.trips": 3, "gold.daily": 7}, "backup": {"silver.trips": 4, "gold.daily": 7}}
    assert lagging_tables(heads, "primary") == ["silver.trips: version 3 < 4 at backup"]
    assert lagging_tables(heads, "backup") == []
    heads["primary"]["gold.daily"] = 8  # each lacks a commit the other has: replication has not converged
    assert lagging_tables(heads, "backup") == ["gold.daily: version 7 < 8 at primary"]
    heads["backup"]["silver.new"] = 0  # a table created during the outage counts too
    assert "silver.new: version none < 0 at backup" in lagging_tables(heads, "primary")


def test_the_endpoints_are_tried_primary_first_and_default_to_the_one_endpoint():
    assert Settings(s3_endpoint="http://a:9000").object_store_endpoints == ["http://a:9000"]
    listed = Settings.from_mapping({"LAKEHOUSE_S3_ENDPOINTS": " http://a:9000, http://b:9100 ,"})
    assert listed.object_store_endpoints == ["http://a:9000", "http://b:9100"]


def test_an_earlier_choice_handed_down_is_tried_first_then_the_configured_order():
    endpoints = "http://primary:9000,http://backup:9100,http://third:9200"
    on_backup = Settings.from_mapping(
        {"LAKEHOUSE_S3_ENDPOINTS": endpoints, "LAKEHOUSE_S3_ENDPOINT": "http://backup:9100"}
    )
    assert preference_order(on_backup) == ["http://backup:9100", "http://primary:9000", "http://third:9200"]
    elsewhere = on_backup.with_overrides(s3_endpoint="http://proxy:1234")  # not one of them: the list as configured
    assert preference_order(elsewhere) == ["http://primary:9000", "http://backup:9100", "http://third:9200"]

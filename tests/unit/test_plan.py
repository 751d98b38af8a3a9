"""Which earlier run a rerun of a window would repeat (and so may skip), and what the ledger tells the gates."""

from collections import namedtuple
from datetime import date, datetime, timedelta

import pytest

from jobs.curation.ledger import curated_dates, settled_runs
from jobs.curation.plan import RunWindow, backfill_windows, repeatable_run

Row = namedtuple("Row", "run_id kind window_start window_end status started_at input_fingerprint unchanged_since")
DAY = RunWindow(date(2026, 10, 1), date(2026, 10, 2))
T0 = datetime(2026, 10, 2, 3, 0)


def run(run_id, status, minutes, fingerprint="same", window=DAY, kind="run", unchanged_since=None):
    return Row(
        run_id, kind, window.start, window.end, status, T0 + timedelta(minutes=minutes), fingerprint, unchanged_since
    )


def test_a_succeeded_run_with_the_same_fingerprint_is_repeated():
    rows = [run("r1", "running", 0, None), run("r1", "succeeded", 0)]
    assert repeatable_run(rows, DAY, "same") == "r1"


def test_new_files_or_definitions_change_the_fingerprint():
    rows = [run("r1", "running", 0, None), run("r1", "succeeded", 0)]
    assert repeatable_run(rows, DAY, "other") is None


def test_the_latest_run_of_the_window_decides():
    failed_after = [run("r1", "succeeded", 0), run("r2", "running", 5, None), run("r2", "failed", 5)]
    assert repeatable_run(failed_after, DAY, "same") is None
    killed_after = [run("r1", "succeeded", 0), run("r2", "running", 5, None)]
    assert repeatable_run(killed_after, DAY, "same") is None


def test_a_skipped_rerun_points_at_the_run_whose_result_stands():
    rows = [run("r1", "succeeded", 0), run("r2", "succeeded", 5, unchanged_since="r1")]
    assert repeatable_run(rows, DAY, "same") == "r1"


def test_other_windows_do_not_count():
    other = RunWindow(date(2026, 10, 2), date(2026, 10, 3))
    rows = [run("r1", "succeeded", 0), run("r2", "running", 5, None, window=other)]
    assert repeatable_run(rows, DAY, "same") == "r1"
    assert repeatable_run(rows, other, "same") is None


def test_a_rolled_back_run_or_any_rollback_after_it_means_run_again():
    rolled_back = [run("r1", "succeeded", 0), run("r1", "rolled_back", 0)]
    assert repeatable_run(rolled_back, DAY, "same") is None
    forced = [
        run("r1", "succeeded", 0),
        run("rb", "succeeded", 9, None, window=RunWindow(date(2026, 10, 5), date(2026, 10, 6)), kind="rollback"),
    ]
    assert repeatable_run(forced, DAY, "same") is None


def test_the_fingerprint_covers_the_files_and_the_definitions(tmp_path):
    from jobs.curation.plan import Landing, files_for_window, input_fingerprint
    from jobs.settings import Settings

    raw, definitions = tmp_path / "raw", tmp_path / "contracts"
    folder = raw / "event_date=2026-10-01" / "hour=03"
    folder.mkdir(parents=True)
    (folder / "c1-0001.jsonl.gz").write_bytes(b"one")
    definitions.mkdir()
    (definitions / "contract.yaml").write_text("fields: []\n")
    settings = Settings().with_overrides(raw_uri=str(raw))

    def fingerprint() -> str:
        listed = Landing.of(settings, DAY)
        return input_fingerprint(settings, listed, files_for_window(listed, DAY, {}), [definitions])

    first = fingerprint()
    assert fingerprint() == first
    (definitions / "contract.yaml").write_text("fields: []\n# reviewed\n")
    edited = fingerprint()
    assert edited != first
    (folder / "c1-0002.jsonl.gz").write_bytes(b"late")
    assert fingerprint() != edited
    listed = Landing.of(settings, DAY)
    assert input_fingerprint(settings.with_overrides(look_back_days=9), listed, [], [definitions]) != input_fingerprint(
        settings, listed, [], [definitions]
    )


def test_a_raw_file_has_one_name_however_it_is_written():
    from jobs.locations import raw_file_location

    name = "file:///raw/event_date=2026-10-01/hour=03/c1-0001.jsonl.gz"
    for written in (
        "/raw/event_date=2026-10-01/hour=03/c1-0001.jsonl.gz",  # a plain path
        "file:/raw/event_date=2026-10-01/hour=03/c1-0001.jsonl.gz",  # as Spark (Hadoop) prints it
        name,
    ):
        assert raw_file_location(written) == name
    on_the_store = "s3a://enriched-events/event_date=2026-10-01/hour=03/c1-0001.jsonl.gz"
    assert raw_file_location(on_the_store) == on_the_store


def test_the_listing_names_local_files_the_same_whichever_way_the_directory_is_given(tmp_path):
    from jobs.curation.plan import Landing, files_for_window
    from jobs.settings import Settings

    folder = tmp_path / "raw" / "event_date=2026-10-01" / "hour=03"
    folder.mkdir(parents=True)
    (folder / "c1-0001.jsonl.gz").write_bytes(b"one")
    expected = [f"file://{folder / 'c1-0001.jsonl.gz'}"]
    for raw_uri in (str(tmp_path / "raw"), f"file://{tmp_path / 'raw'}", f"file://{tmp_path / 'raw'}/"):
        assert files_for_window(Landing.of(Settings(raw_uri=raw_uri), DAY), DAY, {}) == expected, raw_uri


def test_objects_outside_the_upstream_layout_are_skipped_and_reported(tmp_path):
    from jobs.curation.plan import Landing, files_for_window, outside_layout
    from jobs.settings import Settings

    raw = tmp_path / "raw"
    day = raw / "event_date=2026-10-01"
    in_layout = ["hour=00/collector-1-00001.jsonl.gz", "hour=23/c.2-17.jsonl.gz"]
    foreign = [
        "hour=24/collector-1-00002.jsonl.gz",  # no such hour
        "hour=3/collector-1-00003.jsonl.gz",  # not two digits
        "hour=03/.collector-1-00004.jsonl.gz.tmp",  # an upload in progress
        "hour=03/collector-1-00005.jsonl.gz._COPYING_",
        "hour=03/collector.jsonl.gz",  # no sequence
        "collector-1-00006.jsonl.gz",  # no hour folder
        "hour=03/nested/collector-1-00007.jsonl.gz",
    ]
    for name in [*in_layout, *foreign, "_SUCCESS"]:
        (day / name).parent.mkdir(parents=True, exist_ok=True)
        (day / name).write_bytes(b"x")
    for folder in ("event_date=2026-10-1", "event_date=2026-02-30", "events", "_truth", ".staging"):
        (raw / folder).mkdir()
    settings = Settings(raw_uri=str(raw), grace_days=0)

    listed = Landing.of(settings, DAY)
    assert files_for_window(listed, DAY, {}) == sorted(f"file://{day / name}" for name in in_layout)
    assert outside_layout(settings, listed) == [
        *sorted(f"file://{day / name}" for name in foreign),
        "event_date=2026-02-30/",
        "event_date=2026-10-1/",
        "events/",  # hidden _x and .x are left alone
    ]


def test_a_backfill_is_cut_into_windows_of_the_days_per_run_the_last_one_shorter():
    day = date(2026, 10, 1)
    windows = backfill_windows(day, day + timedelta(days=5), 2)
    assert [(w.start.day, w.end.day) for w in windows] == [(1, 3), (3, 5), (5, 6)]
    assert [w.dates for w in backfill_windows(day, day + timedelta(days=2), 1)] == [[day], [day + timedelta(days=1)]]
    assert backfill_windows(day, day + timedelta(days=2), 30) == [RunWindow(day, day + timedelta(days=2))]
    with pytest.raises(ValueError, match="at least one day"):
        backfill_windows(day, day + timedelta(days=2), 0)


def test_the_gates_settle_the_runs_that_succeeded_and_compare_volumes_with_their_days():
    two_days = RunWindow(date(2026, 10, 2), date(2026, 10, 4))
    rows = [
        run("r1", "running", 0, None),
        run("r1", "succeeded", 0),
        run("r2", "running", 5, None, window=two_days),
        run("r2", "failed", 5, window=two_days),  # settles nothing, curated nothing
        run("r3", "running", 9, None, window=two_days),  # killed
        run("r4", "running", 10, None, window=two_days),
        run("r4", "succeeded", 10, window=two_days),
        Row("replay-1", "replay", None, None, "succeeded", T0, None, None),
    ]
    assert settled_runs(rows) == {"r1", "r4", "replay-1"}
    assert curated_dates(rows) == {date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)}
    assert settled_runs([]) == set() and curated_dates([]) == set()


def test_a_window_reads_the_landing_folders_of_its_grace_days_then_its_own():
    window = RunWindow(date(2026, 10, 1), date(2026, 10, 3))
    assert window.landing_dates(2) == [date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 2)]
    assert window.landing_dates(0) == window.dates


def test_a_merge_by_source_file_is_pruned_to_the_landing_dates_read():
    from jobs.curation.lake import landing_date_condition

    days = [date(2026, 9, 30), date(2026, 10, 1)]
    assert landing_date_condition(days) == (
        "(t.event_date IN (DATE'2026-09-30', DATE'2026-10-01') OR t.event_date IS NULL)"
    )
    assert landing_date_condition(days, alias="").startswith("(event_date IN (DATE'2026-09-30'")

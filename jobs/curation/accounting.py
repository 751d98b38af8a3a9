"""The accounting invariant, checked at the end of every run: nothing disappears without
a row that says why."""

from __future__ import annotations

from jobs.errors import LakehouseError


class AccountingError(LakehouseError):
    pass


def check_accounting(counts: dict[str, int], tables: list[str], bronze_expected: bool) -> None:
    """Every line read is parsed or quarantined, every parsed event valid or quarantined,
    every valid event inserted or a duplicate (in the window or against history)."""
    problems = []

    def expect(name: str, left: int, right: int) -> None:
        if left != right:
            problems.append(f"{name}: {left} != {right}")

    expect(
        "lines read = events parsed + quarantined(unparseable)",
        counts["lines_read"],
        counts["events_parsed"] + counts["quarantined_unparseable"],
    )
    expect(
        "events parsed = valid + quarantined(contract)",
        counts["events_parsed"],
        counts["valid"] + counts["quarantined_contract"],
    )
    expect(
        "valid = inserted + duplicates(in window) + duplicates(history)",
        counts["valid"],
        counts["inserted"] + counts["duplicates_in_window"] + counts["duplicates_history"],
    )
    expect("valid = sum of valid per table", counts["valid"], sum(counts[f"valid:{t}"] for t in tables))
    if counts["quarantine_source_rows"] >= 0:  # -1: the MERGE had nothing to write
        expect(
            "quarantine MERGE saw every quarantined line",
            counts["quarantine_source_rows"],
            counts["quarantined_unparseable"] + counts["quarantined_contract"],
        )
    if bronze_expected:
        expect("bronze holds every parsed envelope", counts["bronze_rows"], counts["events_parsed"])
    for table in tables:
        if counts[f"merge_source_rows:{table}"] >= 0:
            expect(
                f"{table}: MERGE saw every deduplicated row",
                counts[f"merge_source_rows:{table}"],
                counts[f"deduplicated:{table}"],
            )
        if counts[f"duplicates_history:{table}"] < 0:
            problems.append(f"{table}: more rows inserted than offered")
    if problems:
        raise AccountingError("accounting invariant broken: " + "; ".join(problems))

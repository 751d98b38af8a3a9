"""The profile summary of `make bench --profile`: samples put in stages and categories."""

from datetime import datetime

from bench.jfr_summary import category, stage_windows


def test_a_sample_goes_to_the_first_category_its_stack_names():
    utf8_copy_in_parquet = [
        "org.apache.spark.unsafe.types.UTF8String.copy() line: 1915",
        "org.apache.parquet.column.values.dictionary.DictionaryValuesWriter.writeBytes(Binary)",
        "org.apache.spark.sql.execution.datasources.parquet.ParquetOutputWriter.write(InternalRow)",
    ]
    assert category(utf8_copy_in_parquet) == "parquet write"
    regex_in_validation = [
        "java.util.regex.Pattern$BmpCharProperty.match(Matcher, int, CharSequence)",
        "org.apache.spark.sql.catalyst.expressions.GeneratedClass$SpecificUnsafeProjection.apply",
    ]
    assert category(regex_in_validation) == "regex"
    assert (
        category(["org.apache.spark.sql.catalyst.expressions.GeneratedClass$X.processNext()"])
        == "row code (projections, filters)"
    )
    assert category(["some.unknown.Frame.run()"]) == "other"


def test_stages_are_bracketed_by_their_log_lines():
    log = [
        "20:00:10 curate stage plan                        10.0 s",
        "20:00:12 lake something else",
        "20:01:10 curate stage validate                   60.0 s",
    ]
    windows = stage_windows(log)
    assert [name for name, _, _ in windows] == ["plan", "validate"]
    assert windows[1][1] == datetime.strptime("20:00:10", "%H:%M:%S")
    assert windows[1][2] == datetime.strptime("20:01:10", "%H:%M:%S")

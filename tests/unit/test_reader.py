import gzip

from jobs.reader import split_file


def rows(batch):
    return batch.to_pylist()


def test_lines_keep_their_file_and_number():
    batch = split_file("f.jsonl.gz", gzip.compress(b'{"a":1}\n{"b":2}\n'))
    assert [(r["source_file"], r["line_number"], r["line"], r["read_error"]) for r in rows(batch)] == [
        ("f.jsonl.gz", 1, '{"a":1}', None),
        ("f.jsonl.gz", 2, '{"b":2}', None),
    ]


def test_a_gzip_member_cut_short_is_one_corrupt_file_row():
    data = gzip.compress(b'{"a":1}\n' * 1000)
    (row,) = rows(split_file("cut.jsonl.gz", data[: len(data) // 2]))
    assert row["line_number"] == 0 and row["read_error"] == "corrupt_file" and row["line"] is None


def test_an_empty_object_has_no_lines():
    assert rows(split_file("empty.jsonl.gz", b"")) == []
    assert rows(split_file("empty.jsonl.gz", gzip.compress(b""))) == []


def test_invalid_utf8_is_flagged_on_its_line_only_and_kept_escaped():
    batch = rows(split_file("u.jsonl.gz", gzip.compress(b'{"ok":1}\n{"bad":"\xff\xfe"}\n')))
    assert batch[0]["read_error"] is None
    assert batch[1]["read_error"] == "invalid_utf8"
    assert batch[1]["line"] == '{"bad":"\\xff\\xfe"}'


def test_an_oversize_line_is_flagged_with_its_size():
    big = b'{"x":"' + b"y" * 2000 + b'"}'
    batch = rows(split_file("o.jsonl.gz", gzip.compress(b'{"a":1}\n' + big + b"\n"), max_line_bytes=1000))
    assert batch[1]["read_error"] == "oversize_line" and batch[1]["line_bytes"] == len(big)
    assert batch[0]["read_error"] is None

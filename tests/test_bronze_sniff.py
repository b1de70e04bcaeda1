"""csv headers of a batch: parsed by Spark once per distinct first line, when that is safe.

A run of 1,000 new files with one header line used to start 1,000 Spark parses; it now starts
one. Files whose first record might not be their first line (a quote in it, a comment, a
blank first line, another line separator or a multi-byte encoding) are still parsed one by one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lakehouse.bronze import sniff


def _source(bronze_kit, **options):
    config = bronze_kit.config()
    source = config.dataset(bronze_kit.dataset).source
    return dataclasses.replace(source, options={**source.options, **options})


@pytest.mark.parametrize(
    ("data", "options", "line"),
    [
        (b"id,name\r\n1,a\n", {}, b"id,name"),
        (b"id,name", {}, None),  # the line may go on past the bytes read
        (b"\nid,name\n", {}, None),  # Spark skips the blank line
        (b'"id","na\nme"\n1,2\n', {}, None),  # a quoted field may span lines
        (b"'id',name\n", {"quote": "'"}, None),
        (b"#note\nid\n", {"comment": "#"}, None),
        (b"id,name\n", {"lineSep": ";"}, None),
        (b"id,name\n", {"encoding": "UTF-16"}, None),
        (b"id,name\n", {"encoding": "ISO-8859-1"}, b"id,name"),
    ],
)
def test_the_first_line_stands_for_the_header_only_when_it_is_surely_the_first_record(
    bronze_kit, data, options, line
):
    assert sniff._first_line(data, _source(bronze_kit, **options)) == line


def test_files_with_the_same_first_line_share_one_spark_parse(bronze_kit, spark, monkeypatch):
    config = bronze_kit.config()
    source = config.dataset(bronze_kit.dataset).source
    files = [
        bronze_kit.land(config, "a.csv", "id, name ,id\n1,x,2\n"),
        bronze_kit.land(config, "b.csv", "id, name ,id\n3,y,4\n5,z,6\n"),
        bronze_kit.land(config, "c.csv", '"id","full\nname"\n1,2\n'),
        bronze_kit.land(config, "d.csv", "id,score\n1,2\n"),
    ]
    parses: list[str] = []
    real = sniff.spark_header

    def counted(spark_, path, source_):
        parses.append(Path(path).name)
        return real(spark_, path, source_)

    monkeypatch.setattr(sniff, "spark_header", counted)
    look = sniff.inspect_files(spark, [(f, Path(f[5:]).stat().st_size, 0) for f in files], source)
    assert parses == ["a.csv", "c.csv", "d.csv"]
    by_name = {Path(p).name: h for p, h in look.headers.items()}
    # Spark's own names for the shared line (duplicates numbered), the same for a and b.
    assert by_name["a.csv"] == by_name["b.csv"] == real(spark, files[0], source)
    # Without multiLine Spark's header stops at the line end: parsed on its own, as Spark does.
    assert by_name["c.csv"] == real(spark, files[2], source) == ("id", "full")
    assert by_name["d.csv"] == ("id", "score")

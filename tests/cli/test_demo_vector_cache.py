"""`casewise demo` indexes the sample anew on every run but keeps the vectors of its unchanged texts."""

from __future__ import annotations

from pathlib import Path

from casewise.embedding.cache import CACHE_FILE
from cli.clinical import empty_but_vector_cache


def test_a_later_demo_run_starts_from_an_empty_folder_but_for_the_vector_cache(tmp_path: Path) -> None:
    data = tmp_path / ".casewise-demo"
    (data / "edge" / "casewise").mkdir(parents=True)
    (data / "edge" / "casewise" / "segment.bin").write_bytes(b"\0" * 8)
    (data / "casewise.db").write_bytes(b"SQLite format 3\0")
    (data / "rebuild-casewise.json").write_text("{}")
    (data / CACHE_FILE).write_bytes(b"SQLite format 3\0")
    empty_but_vector_cache(data)
    assert sorted(p.name for p in data.iterdir()) == [CACHE_FILE], "store and index go; the vector cache stays"
    empty_but_vector_cache(tmp_path / "never-made")  # a first run: nothing to empty
    assert not (tmp_path / "never-made").exists()

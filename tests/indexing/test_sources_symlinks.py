"""Symbolic links inside a source folder: followed when the target is inside a source folder, refused (and named)
when it is outside every one, so pointing Casewise at /records never reads /etc. Real links on a real filesystem."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from indexing.sources import discover

INCLUDE = ["**/*"]
EXCLUDE = ["**/.*", "**/~$*"]


@pytest.fixture()
def tree(tmp_path: Path) -> dict[str, Path]:
    records = tmp_path / "records"
    other = tmp_path / "other_records"
    outside = tmp_path / "etc"
    for d in (records / "2024", other, outside):
        d.mkdir(parents=True)
    (records / "2024" / "note.txt").write_text("Paciente con gonalgia.\n")
    (other / "scan.txt").write_text("Informe de resonancia.\n")
    (outside / "passwd.txt").write_text("root:x:0:0\n")
    (outside / "secret_dir").mkdir()
    (outside / "secret_dir" / "deep.txt").write_text("not clinic data\n")
    (records / "same_root_link.txt").symlink_to(records / "2024" / "note.txt")
    (records / "other_root_link.txt").symlink_to(other / "scan.txt")
    (records / "escape.txt").symlink_to(outside / "passwd.txt")
    (records / "2024" / "relative_escape.txt").symlink_to(Path("..") / ".." / "etc" / "passwd.txt")
    (records / "linked_folder").symlink_to(outside / "secret_dir", target_is_directory=True)
    return {"records": records, "other": other, "outside": outside}


def test_a_link_to_a_file_outside_every_source_folder_is_not_followed_and_is_named(
        tree: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    refused: list[tuple[str, str]] = []
    with caplog.at_level(logging.WARNING, logger="indexing.sources"):
        files = discover([tree["records"]], INCLUDE, EXCLUDE, refused=refused)
    assert not any(p.is_relative_to(tree["outside"].resolve()) for p in files), "nothing outside the root is read"
    assert dict(refused).keys() == {str(tree["records"] / "escape.txt"),
                                    str(tree["records"] / "2024" / "relative_escape.txt"),
                                    str(tree["records"] / "other_root_link.txt")}
    assert all("outside every source folder" in reason for _, reason in refused)
    logged = caplog.text
    assert "escape.txt" in logged and "relative_escape.txt" in logged and "not followed" in logged


def test_a_link_whose_target_is_inside_a_source_folder_is_still_followed(tree: dict[str, Path]) -> None:
    refused: list[tuple[str, str]] = []
    files = discover([tree["records"], tree["other"]], INCLUDE, EXCLUDE, refused=refused)
    note = (tree["records"] / "2024" / "note.txt").resolve()
    scan = (tree["other"] / "scan.txt").resolve()
    assert files == sorted([note, scan]), "a linked file inside a root is found once, under its real path"
    assert str(tree["records"] / "other_root_link.txt") not in dict(refused)
    # With only /records configured, the link into the other folder now leaves every root: refused.
    refused = []
    assert discover([tree["records"]], INCLUDE, EXCLUDE, refused=refused) == [note]
    assert str(tree["records"] / "other_root_link.txt") in dict(refused)


def test_a_root_reached_through_a_link_keeps_its_own_files(tree: dict[str, Path], tmp_path: Path) -> None:
    alias = tmp_path / "records_alias"
    alias.symlink_to(tree["records"], target_is_directory=True)
    refused: list[tuple[str, str]] = []
    files = discover([alias], INCLUDE, EXCLUDE, refused=refused)
    assert (tree["records"] / "2024" / "note.txt").resolve() in files
    assert len(refused) == 3  # escape, relative_escape and the link into the unconfigured other folder

import json
from pathlib import Path

import pytest

from lucid_dreamer.book import notebook
from lucid_dreamer.method.atomic import atomic_write
from lucid_dreamer.pipeline import paths
from lucid_dreamer.pipeline.presets import PRESETS

PACKAGE = Path(__file__).parent.parent / "lucid_dreamer"


def test_a_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    path = tmp_path / "deep" / "out.json"
    with atomic_write(path) as tmp:
        tmp.write_text("new")
        assert not path.exists()  # nothing at the final path until the block ends
    assert path.read_text() == "new" and sorted(p.name for p in path.parent.iterdir()) == ["out.json"]


@pytest.mark.parametrize("interruption", [ValueError, KeyboardInterrupt])
def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_one(tmp_path, interruption):
    path = tmp_path / "out.json"
    path.write_text("old")
    with pytest.raises(interruption):
        with atomic_write(path) as tmp:
            tmp.write_text("half")
            raise interruption
    assert path.read_text() == "old" and list(tmp_path.iterdir()) == [path]


def test_a_folder_replaces_a_folder_and_a_resumable_one_is_kept_on_failure(tmp_path):
    path = tmp_path / "product"
    for content in ("first", "second"):
        with atomic_write(path) as tmp:
            tmp.mkdir()
            (tmp / "file.txt").write_text(content)
    assert (path / "file.txt").read_text() == "second" and list(tmp_path.iterdir()) == [path]
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(tmp_path / "training", keep_partial=True) as tmp:
            tmp.mkdir()
            (tmp / "last.safetensors").write_text("step 100")
            raise KeyboardInterrupt
    assert (tmp / "last.safetensors").read_text() == "step 100" and not (tmp_path / "training").exists()


def test_two_writers_of_one_shared_file_at_once_both_finish_and_the_last_rename_wins(tmp_path):
    path = tmp_path / "truth.json"
    with atomic_write(path, shared=True) as first:
        first.write_text("first")
        with atomic_write(path, shared=True) as second:  # another worker writes the same file meanwhile
            second.write_text("second")
    assert path.read_text() == "first" and list(tmp_path.iterdir()) == [path]


def test_a_shared_write_neither_resumes_nor_replaces_a_folder(tmp_path):
    with pytest.raises(ValueError, match="cannot resume"):
        with atomic_write(tmp_path / "x", keep_partial=True, shared=True):
            pass
    (tmp_path / "product").mkdir()
    with pytest.raises(ValueError, match="only a file"):
        with atomic_write(tmp_path / "product", shared=True) as tmp:
            tmp.mkdir()
    assert list(tmp_path.iterdir()) == [tmp_path / "product"]  # the old folder stays, nothing beside it


def test_what_a_killed_writer_left_is_replaced_by_the_next_write(tmp_path):
    path = tmp_path / "figure.png"
    (tmp_path / ".figure.png.partial").write_text("torn")  # a writer killed before its rename
    with atomic_write(path) as tmp:
        tmp.write_text("whole")
    assert path.read_text() == "whole" and list(tmp_path.iterdir()) == [path]


def test_a_notebook_data_file_that_fails_to_serialise_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    nb = notebook.Notebook("demo", PRESETS["smoke"])
    with pytest.raises(TypeError):
        nb.save_data("numbers", {"value": object()})
    assert not any((nb.figures / "data").iterdir())
    nb.save_data("numbers", {"value": 1})
    assert json.loads((nb.figures / "data" / "numbers.json").read_text())["data"] == {"value": 1}


def test_no_module_but_atomic_renames_a_product_into_place():
    for module in PACKAGE.glob("*.py"):
        if module.name != "atomic.py":
            text = module.read_text()
            assert "os.replace" not in text and ".partial" not in text, module.name

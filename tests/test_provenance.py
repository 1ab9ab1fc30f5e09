import json
import re
import subprocess

import lucid_dreamer
from lucid_dreamer.book import notebook
from lucid_dreamer.pipeline.provenance import caption, package_hash, package_hash_at, provenance


def test_a_record_names_commit_device_versions_and_seeds(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    monkeypatch.chdir(tmp_path)
    nb = notebook.start("99_test", "smoke")
    r = nb.record
    assert r["notebook"] == "99_test" and r["preset"] == "smoke"
    assert re.fullmatch(r"[0-9a-f]{7,}(\+dirty)?|unknown", r["commit"])
    assert r["torch"] and r["mujoco"] and r["python"] and r["device"]
    assert r["lucid_dreamer"] == lucid_dreamer.__version__
    for library in ("numpy", "scipy", "opencv", "matplotlib", "pandas", "safetensors"):
        assert re.match(r"\d+\.\d+", r[library]), library
    assert r["seeds"]["world"] == 0 and r["seeds"]["grid"] == [0, 1]
    assert nb.save_data("x", {"a": 1}) is None  # a notebook cell ending with it prints nothing
    saved = json.loads((nb.figures / "data" / "x.json").read_text())
    assert saved["provenance"]["seeds"] == r["seeds"] and saved["data"] == {"a": 1}
    assert caption(r).startswith("99_test | preset smoke | commit ")
    assert r["precision"]["precision"] in ("bf16 autocast", "float32") and r["precision"]["setting"] == "auto"
    assert f"{r['precision']['precision']} ({r['precision']['hardware']})" in caption(r)


def test_provenance_without_a_notebook():
    assert provenance("cli", "cpu")["preset"] == "cpu"


def test_the_cpu_is_named_with_its_thread_count_in_words(monkeypatch):
    import torch

    from lucid_dreamer.pipeline.provenance import device_name

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for threads, words in ((1, "1 thread)"), (2, "2 threads)")):
        monkeypatch.setattr(torch, "get_num_threads", lambda n=threads: n)
        assert device_name().endswith(words)


def test_package_hash_at_a_commit_is_the_hash_of_that_commits_package(tmp_path):
    package = tmp_path / "lucid_dreamer"
    (package / "method").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "method" / "world.py").write_text("GRAVITY = 9.81\n")
    (package / "notes.txt").write_text("not code")

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True, capture_output=True
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    assert package_hash_at("HEAD", tmp_path) == package_hash(package)
    (package / "method" / "world.py").write_text("GRAVITY = 1.62\n")  # the tree changes, the commit does not
    assert package_hash_at("HEAD", tmp_path) != package_hash(package)
    assert package_hash_at("no-such-commit", tmp_path) is None

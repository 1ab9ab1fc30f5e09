"""requirements.lock pins the versions that the committed results name, and make installs from it."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if re.match(r"^[A-Za-z0-9]", line))


def test_the_lock_pins_the_versions_the_committed_records_name():
    locked = pins()
    records = sorted((ROOT / "figures" / "data" / "grid" / "cpu").glob("*.json"))
    assert records
    made = {(r["torch"].split("+")[0], r["mujoco"]) for r in (json.loads(p.read_text())["provenance"] for p in records)}
    assert made == {(locked["torch"], locked["mujoco"])}  # torch's local label (+cpu) names the build, not the version
    assert locked["mujoco"] == "4.0.0" and "ruff" in locked and "jupyter-book" in locked


def test_the_lock_has_no_cuda_packages_and_make_uses_it():
    assert not [name for name in pins() if name.startswith(("nvidia-", "cuda-", "triton"))]
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.lock" in makefile and "--timeout 5 --retries 0" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text()
        assert "apt.txt" in text and "cache: pip" in text, workflow.name
    assert "bash .ci/run" in (ROOT / ".github" / "workflows" / "tests.yml").read_text()

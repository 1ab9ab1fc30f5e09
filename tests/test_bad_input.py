"""Every bad input listed in `book/own_data.md`, through the command line: one line on stderr
that starts with `error:`, exit code 2, no traceback, and no file written.

`python tests/test_bad_input.py` prints what the user sees for each case (for the docs table).
"""

import contextlib
import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from lucid_dreamer import cli
from lucid_dreamer.method.data import Normalizer
from lucid_dreamer.method.models import ModelConfig
from lucid_dreamer.method.train import TrainConfig, train

DOCS = Path(__file__).parent.parent / "book" / "own_data.md"


def png(path: Path, size=(16, 16), channels=3):
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (*size, channels) if channels > 1 else size
    iio.imwrite(path, np.full(shape, 120, np.uint8))


def latents_file(path: Path, frames=12, nan=False):
    z = torch.randn(3, frames, 16, 4, 4)
    if nan:
        z[0, 0, 0, 0, 0] = float("nan")
    save_file({"latents": z}, path)


def checkpoint(folder: Path):
    z = torch.randn(3, 12, 16, 4, 4)
    cfg = TrainConfig(steps=1, batch_size=2, eval_every=1, val_windows=2)
    train(ModelConfig(width=8, blocks=1, groups=4), cfg, z, z, Normalizer.fit(z, "channel"), folder, progress=False)
    return folder / "best.safetensors"


class Exploit:
    def __reduce__(self):
        return (print, ("unpickled!",))


def frames_setup(t: Path, kind: str) -> list[str]:
    if kind == "empty":
        (t / "f").mkdir()
    elif kind == "unreadable":
        (t / "f").mkdir()
        (t / "f" / "frame_0000.png").write_bytes(b"not a png")
    elif kind == "mixed":
        png(t / "f" / "frame_0000.png"), png(t / "f" / "frame_0001.png", size=(24, 24))
    elif kind == "gray":
        png(t / "f" / "frame_0000.png", channels=1)
    elif kind == "odd":
        png(t / "f" / "frame_0000.png", size=(20, 20))
    elif kind == "bad_video":
        (t / "f.mp4").write_bytes(b"garbage" * 100)
        return ["tokenize", "--frames", str(t / "f.mp4"), "--output", str(t / "z.safetensors")]
    elif kind == "two_sizes":
        png(t / "a" / "frame_0000.png"), png(t / "b" / "frame_0000.png", size=(24, 24))
        return ["tokenize", "--frames", str(t / "a"), str(t / "b"), "--output", str(t / "z.safetensors")]
    return ["tokenize", "--frames", str(t / "f"), "--output", str(t / "z.safetensors")]


def case_truncated_latents(t):
    latents_file(t / "z.safetensors")
    data = (t / "z.safetensors").read_bytes()
    (t / "z.safetensors").write_bytes(data[: len(data) // 2])
    return train_args(t)


def case_nan_latents(t):
    latents_file(t / "z.safetensors", nan=True)
    return train_args(t)


def case_frames_as_latents(t):
    save_file({"frames": torch.zeros(1, 4, 16, 16, 3, dtype=torch.uint8)}, t / "z.safetensors")
    return train_args(t)


def case_pickle(t):
    with open(t / "latent.pt", "wb") as f:
        pickle.dump(Exploit(), f)
    return ["train", "--latents", str(t / "latent.pt"), "--output_dir", str(t / "run")]


def case_paper_shape(t):
    torch.save(torch.zeros(8, 10, 4, 4), t / "latent.pt")
    return ["train", "--latents", str(t / "latent.pt"), "--output_dir", str(t / "run")]


def case_short_episodes(t):
    latents_file(t / "z.safetensors", frames=6)
    return train_args(t)


def dream_args(t: Path, checkpoint: Path, *extra: str) -> list[str]:
    latents = str(t / "z.safetensors")
    return [
        "dream",
        "--checkpoint",
        str(checkpoint),
        "--latents",
        latents,
        "--output_path",
        str(t / "d.safetensors"),
        *extra,
    ]


def train_args(t: Path, *extra: str) -> list[str]:
    return ["train", "--latents", str(t / "z.safetensors"), "--output_dir", str(t / "run"), *extra]


def case_truncated_checkpoint(t):
    ckpt = checkpoint(t / "run")
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    latents_file(t / "z.safetensors")
    return dream_args(t, ckpt)


def case_not_a_checkpoint(t):
    latents_file(t / "z.safetensors")
    return dream_args(t, t / "z.safetensors")


def case_other_settings(t):
    checkpoint(t / "run")
    latents_file(t / "z.safetensors")
    return train_args(t, "--resume")


def case_existing_run(t):
    checkpoint(t / "run")
    latents_file(t / "z.safetensors")
    return train_args(t)


def case_horizon(value):
    def setup(t):
        ckpt = checkpoint(t / "run")
        latents_file(t / "z.safetensors")
        return dream_args(t, ckpt, "--horizon", value)

    return setup


def case_figure_format(t):
    """Frames a dream could be scored against, and a figure name no drawing format has."""
    png(t / "truth" / "frame_0000.png"), png(t / "truth" / "frame_0001.png")
    save_file({"frames": torch.full((1, 2, 16, 16, 3), 120, dtype=torch.uint8)}, t / "dream.safetensors")
    return [
        "analyze",
        "--ground_truth",
        str(t / "truth"),
        "--dreamed",
        str(t / "dream.safetensors"),
        "--output_figure",
        str(t / "a.xyz"),
        "--output_metrics",
        str(t / "m.json"),
    ]


def case_cosmos_without_frames(t):
    (t / "cosmos").mkdir()
    return ["tokenize", "--preset", "smoke", "--cosmos", str(t / "cosmos")]


def case_train_option(*option):
    def setup(t):
        latents_file(t / "z.safetensors")
        return train_args(t, *option)

    return setup


def rewrite_checkpoint(path: Path, nan: bool = False, meta=None) -> None:
    """Rewrite a checkpoint in place: one weight NaN, or other settings (a JSON value)."""
    import json

    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        tensors, metadata = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    if nan:
        name = next(k for k in tensors if k.startswith("model.") and tensors[k].is_floating_point())
        tensors[name].view(-1)[0] = float("nan")
    if meta is not None:
        metadata = {"json": json.dumps(meta(json.loads(metadata["json"])))}
    save_file(tensors, path, metadata=metadata)


def case_checkpoint(nan: bool = False, meta=None):
    def setup(t):
        ckpt = checkpoint(t / "run")
        rewrite_checkpoint(ckpt, nan, meta)
        latents_file(t / "z.safetensors")
        return dream_args(t, ckpt)

    return setup


def misspelt(meta: dict) -> dict:
    meta["model"]["widht"] = meta["model"].pop("width")
    return meta


def case_output_under(where: str):
    def setup(t):
        ckpt = checkpoint(t / "run")
        latents_file(t / "z.safetensors")
        (t / "file.txt").write_text("a file")
        under = t / "file.txt" if where == "file" else Path("/proc")
        args = dream_args(t, ckpt)
        args[args.index("--output_path") + 1] = str(under / "d.safetensors")
        return args

    return setup


def case_output_dir_is_a_file(t):
    latents_file(t / "z.safetensors")
    (t / "run").write_text("a file")
    return train_args(t)


def case_stats_channels(t):
    import json

    latents_file(t / "z.safetensors")
    stats = {k: {"mean": [0.0] * 3, "std": [1.0] * 3} for k in ("channel", "scalar")}
    (t / "z.stats.json").write_text(json.dumps(stats))
    return train_args(t)


def case_divergence(t):
    """Statistics so far off that the very first loss overflows, long before a validation."""
    import json

    latents_file(t / "z.safetensors", frames=40)
    stats = {k: {"mean": [3e38] * 16, "std": [1.0] * 16} for k in ("channel", "scalar")}
    (t / "z.stats.json").write_text(json.dumps(stats))
    return train_args(t, "--steps", "200")


def case_dream_episodes(ids):
    def setup(t):
        save_file({"frames": torch.full((3, 2, 16, 16, 3), 120, dtype=torch.uint8)}, t / "truth.safetensors")
        dream = {"frames": torch.full((1, 2, 16, 16, 3), 120, dtype=torch.uint8), "episodes": torch.tensor(ids)}
        save_file(dream, t / "dream.safetensors")
        return [
            "analyze",
            "--ground_truth",
            str(t / "truth.safetensors"),
            "--dreamed",
            str(t / "dream.safetensors"),
            "--output_figure",
            str(t / "a.png"),
            "--output_metrics",
            str(t / "m.json"),
        ]

    return setup


# (what the user did, how to make it, a fragment of the one-line error)
CASES = [
    ("frame folder does not exist", lambda t: frames_setup(t, "missing"), "frame folder not found"),
    ("frame folder is empty", lambda t: frames_setup(t, "empty"), "no PNG or JPEG frames"),
    ("a frame file is not an image", lambda t: frames_setup(t, "unreadable"), "cannot read frame"),
    ("frames of mixed sizes", lambda t: frames_setup(t, "mixed"), "all frames must match"),
    ("grayscale frames", lambda t: frames_setup(t, "gray"), "is not an RGB image"),
    ("frame sides not a multiple of 8", lambda t: frames_setup(t, "odd"), "is not a multiple of 8"),
    ("video file is damaged", lambda t: frames_setup(t, "bad_video"), "cannot read video"),
    ("episodes of different frame sizes", lambda t: frames_setup(t, "two_sizes"), "different frame sizes"),
    ("`--frames` without `--output`", lambda t: ["tokenize", "--frames", str(t)], "--frames needs --output"),
    ("`--cosmos` without `--frames`", case_cosmos_without_frames, "--cosmos encodes your own episodes"),
    ("latent file does not exist", lambda t: ["train", "--latents", str(t / "nope.safetensors")], "not found"),
    ("latent file is truncated", case_truncated_latents, "it may be truncated"),
    ("latents hold NaN or Inf", case_nan_latents, "NaN or Inf"),
    ("frames given where latents are needed", case_frames_as_latents, "encode them first"),
    ("a `latent.pt` that is a malicious pickle", case_pickle, "refused to load latent file"),
    ("a `latent.pt` of the wrong shape", case_paper_shape, "must hold [16, T, h, w]"),
    ("context + rollout longer than an episode", case_short_episodes, "longer than an episode"),
    (
        "checkpoint does not exist",
        lambda t: ["dream", "--checkpoint", str(t / "no.safetensors"), "--output_path", str(t / "d")],
        "checkpoint not found",
    ),
    ("checkpoint is truncated", case_truncated_checkpoint, "not a readable lucid-dreamer checkpoint"),
    ("a safetensors file that is not a checkpoint", case_not_a_checkpoint, "not a lucid-dreamer checkpoint"),
    ("resuming a run with other settings", case_other_settings, "written with other settings"),
    ("training into a folder that holds a run", case_existing_run, "pass --resume"),
    ("dream horizon 0", case_horizon("0"), "--horizon must be at least 1"),
    ("dream horizon negative", case_horizon("-3"), "--horizon must be at least 1"),
    ("zero training steps", case_train_option("--steps", "0"), "--steps must be at least 1"),
    ("zero epochs", case_train_option("--epochs", "0"), "--epochs must be at least 1"),
    ("zero context frames", case_train_option("--context_window", "0"), "--context_window must be at least 1"),
    ("zero batch size", case_train_option("--batch_size", "0"), "--batch_size must be at least 1"),
    ("negative learning rate", case_train_option("--lr", "-1"), "--lr must be positive"),
    ("a figure format that does not exist", case_figure_format, "--output_figure: cannot draw a .xyz file"),
    ("checkpoint weights hold NaN", case_checkpoint(nan=True), "NaN or Inf weights"),
    ("checkpoint settings are empty", case_checkpoint(meta=lambda m: {}), "has damaged settings"),
    ("checkpoint settings with a misspelt key", case_checkpoint(meta=misspelt), "unknown model setting 'widht'"),
    ("dream written under a file", case_output_under("file"), "file.txt is a file"),
    ("dream written under `/proc`", case_output_under("proc"), "cannot be written"),
    ("dream horizon too long", case_horizon("100000000"), "--horizon must be at most"),
    ("`--output_dir` is a file", case_output_dir_is_a_file, "is a file, not a folder"),
    ("`--stats` of other channels", case_stats_channels, "statistics of 3 channels"),
    ("huge batch size", case_train_option("--batch_size", "10000000000"), "--batch_size must be at most"),
    ("training diverges before its first validation", case_divergence, "no checkpoint was kept"),
    ("dream episode id negative", case_dream_episodes([-1]), "episode ids"),
    ("dream episode id not a whole number", case_dream_episodes([0.5]), "episode ids"),
    ("preset that does not exist", lambda t: ["simulate", "--preset", "huge"], "unknown preset 'huge'"),
]


def files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def run_case(setup, tmp_path: Path) -> tuple[int, list[str], set[Path]]:
    """Exit code, stderr lines and the files the command left behind."""
    args = setup(tmp_path)
    before, err = files(tmp_path), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main([*args, "--quiet"])
    return code, [line for line in err.getvalue().splitlines() if line.strip()], files(tmp_path) - before


@pytest.mark.parametrize("what, setup, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(what, setup, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err, new = run_case(setup, tmp_path)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err
    assert not new, f"left behind: {sorted(map(str, new))}"


def test_artifacts_root_that_is_a_file(tmp_path, monkeypatch, capsys):
    """LUCID_DREAMER_ARTIFACTS naming a file: one line, before anything is simulated."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifacts").write_text("a file")
    monkeypatch.setenv("LUCID_DREAMER_ARTIFACTS", str(tmp_path / "artifacts"))
    before = files(tmp_path)
    assert cli.main(["simulate", "--preset", "smoke", "--quiet"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "LUCID_DREAMER_ARTIFACTS" in err[0] and "is a file" in err[0], err
    assert files(tmp_path) == before


def test_tokenize_frames_wider_than_tall(tmp_path, monkeypatch, capsys):
    """40x72 frames (not square) encode, and their conditions are measured, with no IndexError."""
    from lucid_dreamer.method.tokenizer import ConvTokenizer, TokenizerConfig
    from lucid_dreamer.pipeline import user_data

    monkeypatch.setattr(
        user_data, "tokenizer_for", lambda args, preset: ConvTokenizer(TokenizerConfig(widths=(4, 4, 4)))
    )
    import imageio.v3 as iio

    (tmp_path / "f").mkdir()
    for i in range(3):
        frame = np.full((40, 72, 3), 120, np.uint8)
        frame[16:24, 30 + 8 * i : 38 + 8 * i] = (255, 0, 0)  # a red cube 8 px across, 8 px a frame
        iio.imwrite(tmp_path / "f" / f"frame_{i:04d}.png", frame)
    code = cli.main(["tokenize", "--frames", str(tmp_path / "f"), "--output", str(tmp_path / "z.safetensors")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "latents [1, 3, 16, 5, 9]" in out.out
    assert "(1.00 latent cells)" in out.out, out.out  # cells of 8 px, from the height as from the width


# The same checks where the input is read, for code that calls the package without the CLI.


def test_load_model_refuses_nan_weights_and_damaged_settings(tmp_path):
    from lucid_dreamer.method.errors import UserError
    from lucid_dreamer.method.train import load_model, read_checkpoint

    ckpt = checkpoint(tmp_path / "run")
    load_model(ckpt)  # a sound checkpoint loads
    rewrite_checkpoint(ckpt, meta=lambda m: {**m, "normalizer": {"mean": [0.0] * 3, "std": [1.0] * 3}})
    with pytest.raises(UserError, match="statistics of 3 channels"):
        load_model(ckpt)
    rewrite_checkpoint(ckpt, meta=lambda m: {k: v for k, v in m.items() if k != "train"})
    with pytest.raises(UserError, match="damaged settings: no 'train'"):
        load_model(ckpt)
    rewrite_checkpoint(checkpoint(tmp_path / "other"), nan=True)
    with pytest.raises(UserError, match="NaN or Inf weights"):
        read_checkpoint(tmp_path / "other" / "best.safetensors")  # resuming reads it this way


def test_train_leaves_nothing_when_it_diverges_before_validating(tmp_path):
    from lucid_dreamer.method.errors import UserError

    far = Normalizer(torch.full((16,), 3e38), torch.ones(16))
    z = far.normalize(torch.randn(3, 12, 16, 4, 4))  # near -3e38: the first loss overflows
    cfg = TrainConfig(steps=20, batch_size=2, eval_every=10, val_windows=2)
    with pytest.raises(UserError, match="no checkpoint was kept"):
        train(ModelConfig(width=8, blocks=1, groups=4), cfg, z, z, far, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    (tmp_path / "file").write_text("a file")
    with pytest.raises(UserError, match="is a file, not a folder"):
        train(ModelConfig(width=8, blocks=1, groups=4), cfg, z, z, far, tmp_path / "file", progress=False)


def test_check_writable(tmp_path):
    from lucid_dreamer.method.atomic import check_writable
    from lucid_dreamer.method.errors import UserError

    (tmp_path / "f").write_text("a file")
    check_writable(tmp_path / "new" / "deeper" / "x.json", "--out")  # folders to be made are fine
    check_writable(tmp_path / "new", "--dir", folder=True)
    for path, folder, fragment in [
        (tmp_path / "f" / "x.json", False, "is a file"),
        (tmp_path / "f", True, "is a file, not a folder"),
        (tmp_path, False, "is a folder; name a file"),
        (Path("/proc/x.json"), False, "cannot be written"),
    ]:
        with pytest.raises(UserError, match=fragment):
            check_writable(path, "--out", folder=folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]  # the probe left nothing


def test_read_sequences_checks_episode_ids(tmp_path):
    from lucid_dreamer.method.data import read_sequences
    from lucid_dreamer.method.errors import UserError

    frames = torch.zeros(2, 2, 8, 8, 3, dtype=torch.uint8)
    for ids in ([0], [0, -1], [0.0, 1.0], [[0, 1]]):
        save_file({"frames": frames, "episodes": torch.tensor(ids)}, tmp_path / "d.safetensors")
        with pytest.raises(UserError, match="episode ids"):
            read_sequences(tmp_path / "d.safetensors")
    save_file({"frames": frames, "episodes": torch.tensor([3, 0])}, tmp_path / "d.safetensors")
    assert read_sequences(tmp_path / "d.safetensors")["episodes"].tolist() == [3, 0]


def test_measure_on_frames_wider_than_tall():
    from lucid_dreamer.method.conditions import measure

    frames = np.zeros((1, 3, 40, 72, 3), np.uint8)
    frames[:, :, 16:24, 30:38, 0] = 255  # a red square, moving nowhere
    out = measure(frames, latents=torch.randn(1, 3, 16, 5, 9), cell_px=8)
    assert out["cube_px"] == pytest.approx(8, abs=1) and "motion_mask" in out


def test_the_docs_table_lists_every_case():
    rows = {
        m.group(1): m.group(2) for m in re.finditer(r"^\| (.+?) \| (error: .+) \|$", DOCS.read_text(), re.MULTILINE)
    }
    for what, _, fragment in CASES:
        assert what in rows, f"book/own_data.md has no row for {what!r}"
        assert fragment in rows[what], f"book/own_data.md shows {rows[what]!r} for {what!r}"


if __name__ == "__main__":  # the docs table's rows, from a real run of every case
    import tempfile

    for what, setup, _ in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            code, err, _ = run_case(setup, Path(tmp))
            print(f"| {what} | {err[0].replace(tmp, '…') if err else '(nothing)'} |")

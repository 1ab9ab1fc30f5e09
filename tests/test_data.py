import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lucid_dreamer.method.data import (
    DataConfig,
    Normalizer,
    Windows,
    load_paper_latents,
    read_frames,
    split_episodes,
)
from lucid_dreamer.method.errors import UserError


def latents(e=3, t=10, h=2, w=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(e, t, 16, h, w, generator=g) * torch.arange(1, 17).reshape(16, 1, 1) + 5


@settings(max_examples=50, deadline=None)
@given(n=st.integers(3, 60), val=st.integers(1, 10), test=st.integers(1, 10), seed=st.integers(0, 3))
def test_splits_partition_the_episodes(n, val, test, seed):
    cfg = DataConfig(val_episodes=val, test_episodes=test, split_seed=seed)
    if val + test >= n:
        with pytest.raises(UserError, match="at least one training episode"):
            split_episodes(n, cfg)
        return
    s = split_episodes(n, cfg)
    assert (len(s["val"]), len(s["test"])) == (val, test)
    assert sorted(np.concatenate(list(s.values())).tolist()) == list(range(n))


def test_paper_protocol_uses_one_trajectory_for_everything():
    s = split_episodes(10, DataConfig(protocol="paper"))
    assert all(v.tolist() == [0] for v in s.values())


@settings(max_examples=30, deadline=None)
@given(t=st.integers(2, 12), k=st.integers(1, 6), r=st.integers(1, 6))
def test_windows_are_the_right_slices(t, k, r):
    z = latents(e=2, t=t, h=1, w=1)
    if k + r > t:
        with pytest.raises(UserError, match="longer than an episode"):
            Windows(z, k, r)
        return
    win = Windows(z, k, r)
    assert len(win) == 2 * (t - k - r + 1)
    for i in range(len(win)):
        ctx, tgt = win[i]
        e, s = divmod(i, t - k - r + 1)
        assert torch.equal(ctx[0], z[e, s : s + k]) and torch.equal(tgt[0], z[e, s + k : s + k + r])
    ctx, tgt = win[torch.arange(len(win))]
    assert ctx.shape == (len(win), k, 16, 1, 1) and tgt.shape == (len(win), r, 16, 1, 1)


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(3, 10, 16, 2), "shape"),
        (torch.zeros(1, 3, 10, 8, 2, 2)[0], "shape"),  # 8 channels
        (torch.zeros(1, 10, 16, 2, 2, dtype=torch.int64), "float tensor"),
        (torch.full((1, 10, 16, 2, 2), float("nan")), "NaN or Inf"),
    ],
)
def test_bad_latents_are_user_errors(bad, message):
    with pytest.raises(UserError, match=message):
        Windows(bad, 4, 4)


@pytest.mark.parametrize("kind", ["channel", "scalar"])
def test_normalizer_round_trip_and_statistics(kind):
    z = latents()
    norm = Normalizer.fit(z, kind)
    assert norm.mean.shape == ((16,) if kind == "channel" else (1,))
    zn = norm.normalize(z)
    torch.testing.assert_close(norm.denormalize(zn), z, rtol=1e-5, atol=1e-4)
    if kind == "channel":
        per_channel = zn.transpose(0, 2).reshape(16, -1)
        torch.testing.assert_close(per_channel.mean(1), torch.zeros(16), atol=1e-5, rtol=0)
        torch.testing.assert_close(per_channel.std(1), torch.ones(16), atol=1e-4, rtol=0)
    else:
        assert zn.mean().abs() < 1e-5 and (zn.std() - 1).abs() < 1e-4
    again = Normalizer.from_json(norm.to_json())
    torch.testing.assert_close(again.normalize(z), zn)


@pytest.mark.parametrize("batched", [False, True])
def test_reads_the_papers_files(tmp_path, batched):
    raw = torch.randn(16, 7, 4, 4)  # [16, T, h, w] as the paper saves it
    torch.save(raw[None] if batched else raw, tmp_path / "latent.pt")
    torch.save({"mean": torch.tensor(0.5), "std": torch.tensor(2.0)}, tmp_path / "latent_stats.pt")
    z, norm = load_paper_latents(tmp_path / "latent.pt", tmp_path / "latent_stats.pt")
    assert z.shape == (1, 7, 16, 4, 4)
    assert torch.equal(z[0, 3], raw[:, 3])
    torch.testing.assert_close(norm.normalize(z), (z - 0.5) / (2.0 + 1e-8))


class Exploit:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_a_malicious_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "latent.pt"
    with open(path, "wb") as f:
        pickle.dump(Exploit(), f)
    with pytest.raises(UserError, match="refused to load latent file"):
        load_paper_latents(path)
    assert "unpickled!" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "tensor, message",
    [
        (torch.randn(8, 7, 4, 4), r"\[16, T, h, w\]"),
        (torch.randn(16, 7, 4), r"\[16, T, h, w\]"),
        (torch.full((16, 7, 4, 4), float("inf")), "NaN or Inf"),
    ],
)
def test_bad_paper_latents(tmp_path, tensor, message):
    torch.save(tensor, tmp_path / "latent.pt")
    with pytest.raises(UserError, match=message):
        load_paper_latents(tmp_path / "latent.pt")


def test_missing_and_bad_stats_files(tmp_path):
    with pytest.raises(UserError, match="latent file not found"):
        load_paper_latents(tmp_path / "nope.pt")
    torch.save(torch.randn(16, 5, 2, 2), tmp_path / "latent.pt")
    torch.save({"mean": 1.0}, tmp_path / "stats.pt")
    with pytest.raises(UserError, match="'mean' and 'std'"):
        load_paper_latents(tmp_path / "latent.pt", tmp_path / "stats.pt")
    torch.save({"mean": 1.0, "std": 0.0}, tmp_path / "stats.pt")
    with pytest.raises(UserError, match="not positive"):
        load_paper_latents(tmp_path / "latent.pt", tmp_path / "stats.pt")


def write_png(path, array):
    import imageio.v3 as iio

    iio.imwrite(path, array)


def test_read_frames_sorted_by_name(tmp_path):
    for i in (2, 0, 1):
        write_png(tmp_path / f"frame_{i:04d}.png", np.full((16, 24, 3), i, np.uint8))
    f = read_frames(tmp_path)
    assert f.shape == (3, 16, 24, 3) and f[:, 0, 0, 0].tolist() == [0, 1, 2]


def test_read_frames_drops_alpha(tmp_path):
    write_png(tmp_path / "a.png", np.full((8, 8, 4), 9, np.uint8))
    assert read_frames(tmp_path).shape == (1, 8, 8, 3)


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "no PNG or JPEG frames"),
        (lambda d: write_png(d / "a.png", np.zeros((16, 16), np.uint8)), "not an RGB image"),
        (lambda d: (d / "a.png").write_bytes(b"garbage"), "cannot read frame"),
        (lambda d: write_png(d / "a.png", np.zeros((12, 16, 3), np.uint8)), "multiple of 8"),
        (
            lambda d: (
                write_png(d / "a.png", np.zeros((16, 16, 3), np.uint8)),
                write_png(d / "b.png", np.zeros((8, 16, 3), np.uint8)),
            ),
            "all frames must match",
        ),
    ],
)
def test_bad_frame_folders(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(UserError, match=message):
        read_frames(tmp_path)


def test_missing_frame_folder(tmp_path):
    with pytest.raises(UserError, match="frame folder not found"):
        read_frames(tmp_path / "missing")

import json
import math

import pytest
import torch
from torch import nn

from lucid_dreamer.method.data import Normalizer, Windows
from lucid_dreamer.method.dream import copy_last, dream
from lucid_dreamer.method.errors import UserError
from lucid_dreamer.method.losses import motion_weighted_l1
from lucid_dreamer.method.models import MODELS, ModelConfig, build_model
from lucid_dreamer.method.train import (
    TrainConfig,
    channels_last,
    load_model,
    lr_at,
    read_checkpoint,
    rollout_loss,
    train,
    validate,
)

TINY_MODEL = ModelConfig(width=8, blocks=1, groups=4)
TINY_TRAIN = TrainConfig(steps=12, batch_size=4, eval_every=4, val_windows=8, lr=1e-3)
IDENTITY = Normalizer(torch.zeros(16), torch.ones(16))
NORM = Normalizer(torch.linspace(-2, 2, 16), torch.linspace(0.2, 3.0, 16))
"""A normaliser that changes latents: a loss on normalised latents differs from one on de-normalised ones."""


def latents(e=3, t=12, seed=0):
    return torch.randn(e, t, 16, 4, 4, generator=torch.Generator().manual_seed(seed))


class Recorder(nn.Module):
    """Predicts last frame * scale + 1 and remembers every context it was given."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))
        self.contexts = []

    def forward(self, context):
        self.contexts.append(context)
        return context[:, -1] * self.scale + 1


@pytest.mark.parametrize("teacher_forcing", [False, True])
def test_rollout_feeds_predictions_back_and_teacher_forcing_feeds_truth(teacher_forcing):
    model = Recorder()
    context, targets = torch.randn(2, 4, 16, 3, 3), torch.randn(2, 3, 16, 3, 3)
    loss = rollout_loss(model, context, targets, IDENTITY, TrainConfig(teacher_forcing=teacher_forcing))
    assert len(model.contexts) == 3
    first_prediction = context[:, -1] * 2 + 1
    fed = model.contexts[1][:, -1]
    expected = targets[:, 0] if teacher_forcing else first_prediction
    torch.testing.assert_close(fed, expected)
    torch.testing.assert_close(model.contexts[1][:, :3], context[:, 1:])
    assert fed.requires_grad is not teacher_forcing  # rollout keeps the graph: no detach
    loss.backward()
    assert model.scale.grad is not None


def test_the_motion_mask_compares_each_target_with_the_last_context_frame():
    """What moved is judged against the last context frame; the oldest, far from both, must not count."""
    last = torch.zeros(1, 1, 16, 2, 2)
    context = torch.cat([last + 3, last, last, last], dim=1)
    cfg = TrainConfig(motion_threshold=0.1, motion_weight=10.0)
    # Recorder predicts 1 everywhere; a target equal to the last frame did not move: weight 1
    assert rollout_loss(Recorder(), context, last, IDENTITY, cfg).item() == pytest.approx(1.0)
    # a target 3 away from the last frame (and equal to the oldest) moved: weight 10
    assert rollout_loss(Recorder(), context, last + 3, IDENTITY, cfg).item() == pytest.approx(20.0)


def test_the_motion_loss_is_computed_on_de_normalised_latents():
    context, targets = torch.randn(2, 4, 16, 3, 3), torch.randn(2, 1, 16, 3, 3)
    loss = rollout_loss(Recorder(), context, targets, NORM, TrainConfig())
    prediction = context[:, -1] * 2 + 1
    denormalised = motion_weighted_l1(
        NORM.denormalize(prediction), NORM.denormalize(targets[:, 0]), NORM.denormalize(context[:, -1])
    )
    normalised = motion_weighted_l1(prediction, targets[:, 0], context[:, -1])
    assert loss.item() == pytest.approx(denormalised.item(), rel=1e-5)
    assert loss.item() != pytest.approx(normalised.item(), rel=0.05)


def test_cosine_schedule_ends_at_a_hundredth():
    cfg = TrainConfig(steps=100, lr=1e-3)
    assert lr_at(0, cfg) == pytest.approx(1e-3)
    assert lr_at(50, cfg) == pytest.approx((1e-3 + 1e-5) / 2)
    assert lr_at(100, cfg) == pytest.approx(1e-5)


def run(tmp, **kw):
    return train(TINY_MODEL, TINY_TRAIN, latents(), latents(2, seed=1), IDENTITY, tmp, progress=False, **kw)


def test_training_writes_checkpoints_log_and_summary(tmp_path):
    summary = run(tmp_path)
    assert summary["finished"] and summary["steps"] == 12
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "loss" in x] == list(range(1, 13))
    assert [x["step"] for x in lines if "val_loss" in x] == [4, 8, 12]
    model, meta = load_model(tmp_path / "best.safetensors")
    assert meta["val_loss"] == summary["best_val_loss"]
    assert model(torch.randn(1, 4, 16, 4, 4)).shape == (1, 16, 4, 4)


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    run(tmp_path / "whole")
    assert not run(tmp_path / "split", stop_after=8)["finished"]
    assert run(tmp_path / "split", resume=True)["finished"]
    for name in ("last.safetensors", "best.safetensors"):
        a, _ = read_checkpoint(tmp_path / "whole" / name)
        b, _ = read_checkpoint(tmp_path / "split" / name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
    log = (tmp_path / "split" / "log.jsonl").read_text().splitlines()
    assert sum("loss" in json.loads(x) and "val_loss" not in json.loads(x) for x in log) == 12


def test_the_best_checkpoint_is_chosen_on_the_validation_windows(tmp_path):
    train_z, val_z = latents(), latents(2, seed=1) * 4 + 2  # validation episodes unlike the training ones
    cfg = TrainConfig(steps=2, batch_size=4, eval_every=1, val_windows=8)
    train(TINY_MODEL, cfg, train_z, val_z, NORM, tmp_path, progress=False)
    model, meta = load_model(tmp_path / "best.safetensors")

    def loss_on(z):
        return validate(model, Windows(z, TINY_MODEL.context_frames, cfg.rollout_steps), NORM, cfg, torch.device("cpu"))

    assert meta["val_loss"] == pytest.approx(loss_on(val_z), rel=1e-4)
    assert meta["val_loss"] != pytest.approx(loss_on(train_z), rel=0.1)


def test_same_seed_same_result(tmp_path):
    assert run(tmp_path / "a")["best_val_loss"] == run(tmp_path / "b")["best_val_loss"]


def test_resume_refuses_other_settings(tmp_path):
    run(tmp_path, stop_after=4)
    with pytest.raises(UserError, match="other settings"):
        train(TINY_MODEL, TrainConfig(steps=99), latents(), latents(2), IDENTITY, tmp_path, resume=True, progress=False)


def test_a_diverging_run_stops_and_keeps_the_best_checkpoint(tmp_path, monkeypatch):
    import lucid_dreamer.method.train as train_module

    real, calls = train_module.rollout_loss, []

    def nan_at_third_training_step(*args):
        loss = real(*args)
        if torch.is_grad_enabled():
            calls.append(1)
            if len(calls) == 3:
                return loss * float("nan")
        return loss

    monkeypatch.setattr(train_module, "rollout_loss", nan_at_third_training_step)
    cfg = TrainConfig(steps=50, batch_size=4, eval_every=1, val_windows=4)
    with pytest.raises(UserError, match="became nan at step 3.*best checkpoint"):
        train(TINY_MODEL, cfg, latents(), latents(2), IDENTITY, tmp_path, progress=False)
    tensors, meta = read_checkpoint(tmp_path / "best.safetensors")
    assert meta["step"] == 2 and all(torch.isfinite(t).all() for t in tensors.values())
    assert read_checkpoint(tmp_path / "last.safetensors")[1]["step"] == 2


def test_damaged_checkpoints_are_user_errors(tmp_path):
    run(tmp_path)
    path = tmp_path / "best.safetensors"
    with pytest.raises(UserError, match="does not hold|not the requested"):
        load_model(path, expected=ModelConfig())
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match="truncated"):
        load_model(path)
    with pytest.raises(UserError, match="not found"):
        load_model(tmp_path / "nope.safetensors")


def test_dream_rolls_all_episodes_out_together():
    model = Recorder()
    context = torch.randn(5, 4, 16, 2, 2)
    out = dream(model, context, horizon=3, batch=2)
    assert out.shape == (5, 3, 16, 2, 2)
    torch.testing.assert_close(out[:, 0], context[:, -1] * 2 + 1)
    torch.testing.assert_close(out[:, 2], ((context[:, -1] * 2 + 1) * 2 + 1) * 2 + 1)
    with pytest.raises(UserError, match="at least 1"):
        dream(model, context, horizon=0)
    with pytest.raises(UserError, match="at most 10000"):  # refused before any frame is dreamed
        dream(model, context, horizon=100_000_000)
    assert torch.equal(copy_last(context, 2)[:, 1], context[:, -1])


class Noisy(Recorder):
    """Recorder whose draws sit 100 above its mean."""

    def sample(self, context):
        return self(context) + 100


def test_dreaming_with_sample_draws_and_feeds_the_draws_back():
    context = torch.randn(3, 4, 16, 2, 2)
    mean, drawn = dream(Noisy(), context, 2), dream(Noisy(), context, 2, sample=True)
    torch.testing.assert_close(drawn[:, 0], mean[:, 0] + 100)
    torch.testing.assert_close(drawn[:, 1], drawn[:, 0] * 2 + 1 + 100)
    prob = build_model(ModelConfig(name="probabilistic_resnet", width=8, blocks=1, groups=4))
    noise = dream(prob, context, 1, sample=True) - dream(prob, context, 1)
    assert 0.8 < noise.std().item() < 1.2  # its log-variance starts at 0: unit noise around the mean


def test_the_gradient_difference_term_is_added_per_rollout_step():
    from lucid_dreamer.method.losses import gradient_difference

    context, targets = torch.randn(2, 4, 16, 3, 3), torch.randn(2, 2, 16, 3, 3)
    base = rollout_loss(Recorder(), context, targets, IDENTITY, TrainConfig())
    sharp = rollout_loss(Recorder(), context, targets, IDENTITY, TrainConfig(gdl_weight=0.5))
    first = context[:, -1] * 2 + 1
    second = first * 2 + 1  # the first prediction fed back
    gdl = (gradient_difference(first, targets[:, 0]) + gradient_difference(second, targets[:, 1])) / 2
    assert sharp.item() == pytest.approx(base.item() + 0.5 * gdl.item(), rel=1e-5)


def test_the_nll_loss_needs_a_gaussian_head(tmp_path):
    z = latents()
    with pytest.raises(UserError, match="no Gaussian head"):
        train(TINY_MODEL, TrainConfig(steps=1, loss="gaussian_nll"), z, z, IDENTITY, tmp_path, progress=False)
    prob = ModelConfig(name="probabilistic_resnet", width=8, blocks=1, groups=4)
    cfg = TrainConfig(steps=2, batch_size=2, eval_every=2, val_windows=2, loss="gaussian_nll")
    summary = train(prob, cfg, z, z, IDENTITY, tmp_path / "prob", progress=False)
    assert summary["finished"] and math.isfinite(summary["best_val_loss"])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_takes_the_channels_last_layout_of_its_convolutions(name):
    """The GPU layout (training on CUDA), checked on the CPU: Conv3d weights need channels_last_3d."""
    model = channels_last(build_model(ModelConfig(name=name, width=8, blocks=1, groups=4)))
    for p in model.parameters():
        if p.dim() in (4, 5):
            assert p.is_contiguous(memory_format=torch.channels_last if p.dim() == 4 else torch.channels_last_3d)


def test_every_update_sees_gradients_clipped_to_the_configured_norm(tmp_path, monkeypatch):
    norms, update = [], torch.optim.AdamW.step

    def recording(self, *args, **kwargs):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])).item())
        return update(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording)
    cfg = TrainConfig(steps=6, batch_size=4, eval_every=6, val_windows=8, grad_clip=1e-3)
    train(TINY_MODEL, cfg, latents(), latents(2, seed=1), IDENTITY, tmp_path, progress=False)
    assert len(norms) == 6 and max(norms) <= 1e-3 * 1.001


class Tribonacci(nn.Module):
    """Predicts the sum of the last three frames: any frame missing from the window changes the dream."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, context):
        return context[:, -1] + context[:, -2] + context[:, -3]


def test_the_dream_window_slides_by_one_frame_keeping_the_newest():
    context = torch.tensor([0.0, 0.0, 1.0])[None, :, None, None, None].expand(1, 3, 16, 1, 1)
    out = dream(Tribonacci(), context, horizon=5, bf16=False)
    assert out[0, :, 0, 0, 0].tolist() == [1.0, 2.0, 4.0, 7.0, 13.0]

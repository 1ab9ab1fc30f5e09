import pytest
import torch

from lucid_dreamer.method.errors import UserError
from lucid_dreamer.method.losses import motion_weighted_l1
from lucid_dreamer.method.models import ModelConfig, ResNetRollout, ResNetRollout3d, build_model, count_parameters


def test_parameter_counts_at_the_papers_defaults():
    assert count_parameters(ResNetRollout3d(ModelConfig())) == 1_024_720
    assert count_parameters(ResNetRollout(ModelConfig())) == 342_736


@pytest.mark.parametrize("cfg", [ModelConfig(), ModelConfig(context_frames=2, width=16, blocks=2, dropout=0.0)])
def test_conv3d_and_conv2d_forms_compute_the_same_function(cfg):
    torch.manual_seed(0)
    literal = ResNetRollout3d(cfg).eval()
    flat = literal.to_conv2d().eval()
    x = torch.randn(3, cfg.context_frames, 16, 8, 8)
    with torch.no_grad():
        a, b = literal(x), flat(x)
    assert a.shape == b.shape == (3, 16, 8, 8)
    assert (a - b).abs().max().item() <= 1e-5


def test_init_follows_the_paper():
    torch.manual_seed(0)
    m = ResNetRollout(ModelConfig())
    assert all(torch.count_nonzero(c.bias) == 0 for c in m.modules() if isinstance(c, torch.nn.Conv2d))
    # Kaiming normal, fan_out, relu: std = sqrt(2 / (out_channels * 3 * 3))
    w = m.blocks[0][0].weight
    assert w.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)
    gn = m.stem[1]
    assert torch.all(gn.weight == 1) and torch.all(gn.bias == 0)


def test_registry_builds_by_name_and_rejects_unknown_names():
    assert isinstance(build_model(ModelConfig(name="resnet_rollout_3d")), ResNetRollout3d)
    with pytest.raises(UserError, match="unknown model 'hero'"):
        build_model(ModelConfig(name="hero"))


def test_motion_weighted_l1_by_hand():
    previous = torch.tensor([0.0, 0.0, 0.0, 1.0])
    target = torch.tensor([0.05, 0.5, -0.2, 1.0])  # moved: no, yes, yes, no
    prediction = torch.tensor([0.0, 0.0, 0.0, 0.0])
    # |p - t| = 0.05, 0.5, 0.2, 1.0; weights 1, 10, 10, 1
    expected = (0.05 + 5.0 + 2.0 + 1.0) / 4
    assert motion_weighted_l1(prediction, target, previous).item() == pytest.approx(expected)
    assert motion_weighted_l1(prediction, target, previous, weight=1.0).item() == pytest.approx(1.75 / 4)
    assert motion_weighted_l1(prediction, target, previous, threshold=0.3).item() == pytest.approx(
        (0.05 + 5.0 + 0.2 + 1.0) / 4
    )


SMALL = {
    "resnet_rollout": {},
    "resnet_rollout_3d": {},
    "unet": {"levels": 2},
    "probabilistic_resnet": {},
    "latent_transformer": {"heads": 2},
    "change_resnet": {},
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("context_frames", [1, 4])
def test_every_model_builds_at_smoke_size(name, context_frames):
    cfg = ModelConfig(name=name, context_frames=context_frames, width=16, blocks=1, groups=4, **SMALL[name])
    model = build_model(cfg)
    out = model(torch.randn(2, context_frames, 16, 8, 8))
    assert out.shape == (2, 16, 8, 8) and torch.isfinite(out).all()
    out.sum().backward()  # trainable end to end


def test_the_unet_needs_sides_divisible_by_its_depth():
    with pytest.raises(UserError, match="divisible by 4"):
        build_model(ModelConfig(name="unet", width=8, groups=4))(torch.randn(1, 4, 16, 6, 6))


def test_the_transformer_needs_sides_divisible_by_its_patch():
    with pytest.raises(UserError, match="divisible by 4"):
        build_model(ModelConfig(name="latent_transformer", width=16, heads=2))(torch.randn(1, 4, 16, 6, 6))


def test_the_change_resnet_starts_as_copy_last_frame_and_learns_the_change():
    cfg = ModelConfig(name="change_resnet", width=16, blocks=1, groups=4)
    model = build_model(cfg)
    x = torch.randn(2, 4, 16, 8, 8)
    assert torch.equal(model(x), x[:, -1])
    with torch.no_grad():
        model.head.bias.fill_(0.5)
    assert torch.allclose(model(x), x[:, -1] + 0.5)


def test_the_probabilistic_head_starts_at_unit_variance_and_samples_around_its_mean():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="probabilistic_resnet", width=16, blocks=1, groups=4)).eval()
    x = torch.randn(64, 4, 16, 8, 8)
    mean, log_var = model.distribution(x)
    assert torch.all(log_var == 0) and torch.equal(mean, model(x))
    noise = model.sample(x) - mean
    assert noise.std().item() == pytest.approx(1.0, abs=0.02) and noise.mean().abs().item() < 0.02


def test_gradient_difference_by_hand():
    from lucid_dreamer.method.losses import gradient_difference

    target = torch.tensor([[0.0, 2.0], [0.0, 0.0]])  # |vertical steps| 0, 2; |horizontal| 2, 0
    prediction = torch.tensor([[0.0, 1.0], [1.0, 1.0]])  # vertical 1, 0; horizontal 1, 0
    # vertical: |0 - 1|, |2 - 0| -> mean 1.5; horizontal: |2 - 1|, |0 - 0| -> mean 0.5
    assert gradient_difference(prediction, target).item() == pytest.approx(2.0)
    assert gradient_difference(target, target).item() == 0.0
    # alpha 2: vertical (1 + 4) / 2, horizontal (1 + 0) / 2
    assert gradient_difference(prediction, target, alpha=2.0).item() == pytest.approx(3.0)


def test_gaussian_nll_by_hand():
    import math

    from lucid_dreamer.method.losses import gaussian_nll

    mean, target = torch.zeros(2), torch.tensor([1.0, 3.0])
    log_var = torch.tensor([0.0, math.log(4.0)])
    # 0.5 * (log var + (t - m)^2 / var + log 2 pi): (0 + 1) and (log 4 + 9 / 4)
    expected = 0.5 * ((0 + 1) + (math.log(4) + 2.25)) / 2 + 0.5 * math.log(2 * math.pi)
    assert gaussian_nll(mean, log_var, target).item() == pytest.approx(expected)

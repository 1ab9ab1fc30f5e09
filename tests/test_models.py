import pytest
import torch

from lucid_dreamer.errors import UserError
from lucid_dreamer.losses import motion_weighted_l1
from lucid_dreamer.models import ModelConfig, ResNetRollout, ResNetRollout3d, build_model, count_parameters


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

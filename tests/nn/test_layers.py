import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganforge.errors import GanforgeError
from ganforge.nn.layers import (
    MinibatchDiscrimination,
    SelfAttention2d,
    VirtualBatchNorm,
    spectral_norm_all,
    virtual_batch_reference,
)


def test_spectral_norm_all_bounds_every_weight_by_one():
    torch.manual_seed(0)
    net = nn.ModuleDict(
        {
            "linear": nn.Linear(20, 30),
            "conv": nn.Conv2d(3, 8, 3),
            "deconv": nn.ConvTranspose2d(8, 4, 4),
            "embed": nn.Embedding(10, 6),
            "act": nn.ReLU(),
        }
    )
    with torch.no_grad():
        for name in ("linear", "conv", "deconv", "embed"):
            net[name].weight.mul_(7)
    bias = net["linear"].bias.detach().clone()
    assert spectral_norm_all(net) is net
    spectral_norm_all(net)  # twice is harmless
    net.train()
    for _ in range(30):  # power iterations run on each training-mode access
        for name in ("linear", "conv", "deconv", "embed"):
            _ = net[name].weight
    net.eval()
    matrices = {
        "linear": net["linear"].weight,
        "conv": net["conv"].weight.flatten(1),
        # ConvTranspose2d weights are [in, out, k, k]: normalised along dim 1.
        "deconv": net["deconv"].weight.transpose(0, 1).flatten(1),
        "embed": net["embed"].weight,
    }
    for name, matrix in matrices.items():
        assert len(net[name].parametrizations.weight) == 1
        sigma = torch.linalg.svdvals(matrix.detach())[0].item()
        assert math.isclose(sigma, 1.0, rel_tol=1e-3), name
    assert not parametrize.is_parametrized(net["linear"], "bias")
    assert torch.equal(net["linear"].bias.detach(), bias)


def minibatch_features_by_hand(x, T, B, C):
    """o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1) / (N - 1), loop by loop."""
    M = (x @ T).view(len(x), B, C)
    o = torch.zeros(len(x), B)
    for i in range(len(x)):
        for j in range(len(x)):
            if i != j:
                for b in range(B):
                    o[i, b] += math.exp(-(M[i, b] - M[j, b]).abs().sum().item())
    return o / (len(x) - 1)


@pytest.mark.parametrize("twice_differentiable", [False, True])
def test_minibatch_discrimination_matches_its_definition(twice_differentiable):
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(4, num_kernels=3, kernel_dim=2,
                                    twice_differentiable=twice_differentiable)
    x = torch.randn(5, 4)
    out = layer(x)
    assert layer.out_features == 7 and out.shape == (5, 7)
    assert torch.equal(out[:, :4], x)
    expected = minibatch_features_by_hand(x, layer.T.detach(), 3, 2)
    assert torch.allclose(out[:, 4:], expected, atol=1e-5)


def test_minibatch_discrimination_sees_the_rest_of_the_batch():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, num_kernels=4, kernel_dim=3)
    x0 = torch.randn(1, 6)
    a = layer(torch.cat([x0, torch.randn(3, 6)]))[0]
    b = layer(torch.cat([x0, torch.randn(3, 6)]))[0]
    assert not torch.allclose(a, b)
    # A collapsed batch (all examples alike) scores the maximum, 1, on every kernel.
    collapsed = layer(x0.repeat(4, 1))
    assert torch.allclose(collapsed[:, 6:], torch.full((4, 4), 1.0))
    out = layer(torch.randn(4, 6, requires_grad=True))
    out.sum().backward()
    assert layer.T.grad is not None and torch.isfinite(layer.T.grad).all()
    with pytest.raises(GanforgeError, match="flatten"):
        layer(torch.randn(4, 2, 3))


def test_minibatch_discrimination_has_a_second_derivative(monkeypatch):
    """Gradient penalties differentiate D's input gradient again; torch.cdist cannot be
    differentiated twice before torch 2.13, so the layer must not lean on it."""

    def no_cdist(*args, **kwargs):
        raise RuntimeError("the derivative for '_cdist_backward' is not implemented")

    monkeypatch.setattr(torch, "cdist", no_cdist)
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(4, num_kernels=3, kernel_dim=2,
                                    twice_differentiable=True).double()
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda v: layer(v)[:, 4:], (x,))
    grad, = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
    grad.square().sum().backward()
    assert layer.T.grad is not None and layer.T.grad.abs().sum() > 0


@pytest.mark.parametrize("shape", [(16, 5), (16, 5, 3, 3)])
def test_virtual_batch_norm_reference_pass_is_batch_norm(shape):
    torch.manual_seed(0)
    vbn = VirtualBatchNorm(5)
    ref = torch.randn(shape) * 3 + 2
    out = vbn(ref)  # first training-mode call: the reference batch
    dims = [0] + list(range(2, len(shape)))
    bn = nn.BatchNorm2d(5) if len(shape) == 4 else nn.BatchNorm1d(5)
    assert torch.allclose(out, bn(ref), atol=1e-5)
    assert vbn.reference_size.item() == 16
    assert torch.allclose(vbn.reference_mean, ref.mean(dims))


def test_virtual_batch_norm_combines_reference_and_example():
    torch.manual_seed(0)
    vbn = VirtualBatchNorm(2, eps=0.0)
    ref = torch.randn(4, 2, 3, 3)
    vbn(ref)
    x = torch.randn(3, 2, 3, 3)
    out = vbn(x)
    for i in range(3):
        for c in range(2):
            # The example joins the reference batch as a fifth member, per channel.
            n = 4
            mean = (n * ref[:, c].mean() + x[i, c].mean()) / (n + 1)
            mean_sq = (n * ref[:, c].pow(2).mean() + x[i, c].pow(2).mean()) / (n + 1)
            expected = (x[i, c] - mean) / torch.sqrt(mean_sq - mean**2)
            assert torch.allclose(out[i, c], expected, atol=1e-5)


def test_virtual_batch_norm_output_does_not_depend_on_the_batch():
    torch.manual_seed(0)
    G = nn.Sequential(
        nn.Linear(4, 8),
        VirtualBatchNorm(8),
        nn.ReLU(),
        nn.Linear(8, 2 * 3 * 3),
        nn.Unflatten(1, (2, 3, 3)),
        VirtualBatchNorm(2),
        nn.Tanh(),
    )
    z_ref = torch.randn(32, 4)
    G(z_ref)  # the first training-mode forward takes the reference batch
    z0 = torch.randn(1, 4)
    a = G(torch.cat([z0, torch.randn(7, 4)]))[0]
    b = G(torch.cat([z0, torch.randn(2, 4) * 5]))[0]
    c = G(z0)[0]
    assert torch.allclose(a, b, atol=1e-6) and torch.allclose(a, c, atol=1e-6)
    G.eval()
    assert torch.allclose(G(z0)[0], a, atol=1e-6)
    # Batch norm, for contrast, does depend on the batch.
    bn = nn.BatchNorm1d(4)
    assert not torch.allclose(bn(torch.cat([z0, z0 + 1]))[0], bn(torch.cat([z0, z0 - 1]))[0])


def test_virtual_batch_reference_refreshes_the_statistics():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 4), VirtualBatchNorm(4))
    z_ref = torch.randn(8, 3)
    G(z_ref)
    before = G[1].reference_mean.clone()
    with torch.no_grad():
        G[0].bias.add_(1.0)
    G(torch.randn(5, 3))  # an ordinary batch leaves the reference alone
    assert torch.equal(G[1].reference_mean, before)
    G.eval()
    with virtual_batch_reference(G):
        G(z_ref)
    assert torch.allclose(G[1].reference_mean, before + 1, atol=1e-6)
    assert not G[1].capturing
    assert {"1.reference_mean", "1.reference_mean_sq", "1.reference_size"} <= set(G.state_dict())
    with pytest.raises(GanforgeError, match="no VirtualBatchNorm"):
        with virtual_batch_reference(nn.Linear(2, 2)):
            pass


def test_virtual_batch_norm_needs_a_reference_in_eval_mode():
    vbn = VirtualBatchNorm(3).eval()
    with pytest.raises(GanforgeError, match="reference batch"):
        vbn(torch.randn(2, 3))
    with pytest.raises(GanforgeError, match="num_features"):
        VirtualBatchNorm(3)(torch.randn(2, 4))


def test_self_attention_is_the_identity_at_init():
    attn = SelfAttention2d(16)
    x = torch.randn(2, 16, 5, 4)
    assert torch.equal(attn(x), x)
    assert attn.f.out_channels == attn.g.out_channels == attn.h.out_channels == 2
    attn(x).sum().backward()
    assert attn.gamma.grad is not None and attn.gamma.grad != 0  # it can learn to attend


def test_self_attention_follows_sagan_and_is_non_local():
    torch.manual_seed(0)
    attn = SelfAttention2d(16)
    with torch.no_grad():
        attn.gamma.fill_(1.0)
    x = torch.randn(2, 16, 4, 4)
    # beta_{j,i} = softmax_i(f(x_i) . g(x_j)); o_j = v(sum_i beta_{j,i} h(x_i)); y = x + o.
    flat = x.flatten(2)  # [N, C, HW]
    f, g, h = (conv.weight[:, :, 0, 0] @ flat for conv in (attn.f, attn.g, attn.h))
    beta = torch.softmax(torch.einsum("nci,ncj->nji", f, g), dim=2)
    o = attn.v.weight[:, :, 0, 0] @ torch.einsum("nji,nci->ncj", beta, h)
    assert torch.allclose(attn(x), x + o.view_as(x), atol=1e-5)
    # A change in one corner reaches the opposite corner in a single layer.
    y = x.clone()
    y[:, :, 3, 3] += 1
    assert not torch.allclose(attn(x)[:, :, 0, 0], attn(y)[:, :, 0, 0])

import pytest
import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.models.patch import PatchDiscriminator, patch_layers_for, receptive_field
from ganforge.models.stargan import StarDiscriminator, StarGenerator
from ganforge.models.translation import ResnetGenerator, UNetGenerator, norm_layer
from ganforge.models.unit import UNITDecoders, UNITEncoders


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def image(channels: int, size: int, n: int = 2) -> torch.Tensor:
    return torch.rand(n, channels, size, size) * 2 - 1


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_32px(channels):
    torch.manual_seed(0)
    x = image(channels, 32)
    for G, out in [
        (UNetGenerator(channels, channels, 32, width=8), channels),
        (UNetGenerator(channels, 3, 32, width=8, norm="instance", skips=False), 3),
        (ResnetGenerator(channels, channels, width=8, n_blocks=2), channels),
        (ResnetGenerator(channels, 3, width=8, n_blocks=2, norm="batch"), 3),
    ]:
        y = G(x)
        assert y.shape == (2, out, 32, 32) and y.abs().max() <= 1
    assert UNetGenerator(channels, 1, 64, width=8)(image(channels, 64)).shape == (2, 1, 64, 64)
    for norm in ["batch", "instance", "spectral"]:
        D = PatchDiscriminator(2 * channels, width=8, norm=norm)
        assert D(torch.cat([x, x], 1)).shape == (2, 1, 2, 2)

    G = StarGenerator(channels, num_domains=4, width=8, n_blocks=2)
    assert G(x, torch.eye(4)[[0, 3]]).shape == (2, channels, 32, 32)
    src, cls = StarDiscriminator(channels, 32, num_domains=4, width=8)(x)
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 4)

    E = UNITEncoders(channels, 3, width=8)
    Dec = UNITDecoders(channels, 3, width=8)
    z = E.encode_a(x)
    assert z.shape == (2, E.latent_channels, 8, 8) == (2, 32, 8, 8)
    assert E.encode_b(image(3, 32)).shape == z.shape
    assert Dec.decode_a(z).shape == (2, channels, 32, 32)
    assert Dec.decode_b(z).shape == (2, 3, 32, 32) and Dec.decode_b(z).abs().max() <= 1


def test_parameter_counts_match_the_reference_code():
    # The counts pytorch-CycleGAN-and-pix2pix prints for one-channel pix2pix (issue #1152):
    # unet_256 54.408 M, unet_64 29.238 M; its D on 1 + 1 channels 2.765 M, n_layers=2 0.662 M.
    with torch.device("meta"):
        counts = [n_params(UNetGenerator(1, 1, 256)), n_params(UNetGenerator(1, 1, 64)),
                  n_params(PatchDiscriminator(2)), n_params(PatchDiscriminator(2, n_layers=2))]
    assert [round(c / 1e6, 3) for c in counts] == [54.408, 29.238, 2.765, 0.662]


def test_unet_follows_the_paper_layout():
    with torch.device("meta"):
        G = UNetGenerator(3, 3, 256)
    down = [m.out_channels for m in G.down.modules() if isinstance(m, nn.Conv2d)]
    up = [m.out_channels for m in G.up.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert down == [64, 128, 256, 512, 512, 512, 512, 512]
    assert up == [512, 512, 512, 512, 256, 128, 64, 3]
    dropped = [any(isinstance(m, nn.Dropout) for m in layer) for layer in G.up]
    assert dropped == [True] * 3 + [False] * 5
    normed = [any(isinstance(m, nn.BatchNorm2d) for m in layer) for layer in G.down]
    assert normed == [False] + [True] * 6 + [False]
    with torch.device("meta"):
        assert len(UNetGenerator(3, 3, 32).down) == 5
        assert len(UNetGenerator(3, 3, 96, depth=5).down) == 5


@pytest.mark.parametrize("size,depth", [(48, None), (28, None), (32, 6), (96, 6)])
def test_unet_refuses_sizes_it_cannot_halve(size, depth):
    with pytest.raises(GanforgeError, match="image size"):
        UNetGenerator(3, 3, size, depth=depth)


def test_unknown_norms_are_refused():
    with pytest.raises(GanforgeError, match="batch, instance"):
        norm_layer("group", 8)
    with pytest.raises(GanforgeError, match="spectral"):
        PatchDiscriminator(3, norm="layer")
    with pytest.raises(GanforgeError, match="unknown norm"):
        UNetGenerator(3, 3, 32, norm="spectral")


def test_unet_skips_bypass_the_bottleneck():
    torch.manual_seed(0)
    x1, x2 = image(1, 32), image(1, 32)
    for skips in [True, False]:
        G = UNetGenerator(1, 1, 32, width=8, skips=skips).eval()
        # Cut the bottleneck: only the skips can still carry the input to the output.
        G.down[-1].register_forward_hook(lambda m, i, out: torch.zeros_like(out))
        with torch.no_grad():
            differ = not torch.equal(G(x1), G(x2))
        assert differ == skips
    assert n_params(UNetGenerator(1, 1, 32, width=8)) > n_params(
        UNetGenerator(1, 1, 32, width=8, skips=False))


def test_unet_dropout_is_noise_in_train_mode_only():
    torch.manual_seed(0)
    G, x = UNetGenerator(1, 1, 32, width=8, norm="instance"), image(1, 32)
    with torch.no_grad():
        assert not torch.equal(G(x), G(x))
        G.eval()
        assert torch.equal(G(x), G(x))
        quiet = UNetGenerator(1, 1, 32, width=8, norm="instance", dropout=0.0)
        assert torch.equal(quiet(x), quiet(x))


@pytest.mark.parametrize("n_layers,patch,size", [(1, 16, 64), (2, 34, 128), (3, 70, 128),
                                                 (4, 142, 256)])
def test_patch_receptive_field(n_layers, patch, size):
    torch.manual_seed(0)
    D = PatchDiscriminator(1, width=4, n_layers=n_layers).eval()
    assert receptive_field(D) == patch
    assert patch_layers_for(patch) == n_layers
    # Positive weights and input: every path from a pixel to the logit adds, none cancels, so
    # the gradient is non-zero exactly on the pixels that logit sees.
    with torch.no_grad():
        for m in D.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.abs_()
    x = torch.ones(1, 1, size, size, requires_grad=True)
    out = D(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    seen = x.grad[0, 0] != 0
    rows, cols = seen.any(1).nonzero().flatten(), seen.any(0).nonzero().flatten()
    assert 0 < rows[0] and rows[-1] < size - 1 and 0 < cols[0] and cols[-1] < size - 1
    assert len(rows) == len(cols) == patch
    assert seen[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()


def test_patch_sizes_map_to_layers():
    assert receptive_field(PatchDiscriminator(1, width=4, n_layers=5)) == 286
    assert [patch_layers_for(r) for r in (16, 34, 70, 142, 286)] == [1, 2, 3, 4, 5]
    with pytest.raises(GanforgeError, match="16, 34, 70, 142, 286"):
        patch_layers_for(64)
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3))) == 5


def test_star_discriminator_heads():
    torch.manual_seed(0)
    for size, n_layers, side in [(32, 4, 2), (128, 6, 2), (256, 6, 4), (28, 2, 7)]:
        D = StarDiscriminator(3, size, num_domains=5, width=2)
        assert sum(isinstance(m, nn.Conv2d) for m in D.body) == n_layers
        src, cls = D(image(3, size))
        assert src.shape == (2, 1, side, side) and cls.shape == (2, 5)
    assert StarDiscriminator(3, 32, 5, width=2, n_layers=3)(image(3, 32))[0].shape[2] == 4
    with pytest.raises(GanforgeError, match="halves"):
        StarDiscriminator(3, 32, 5, n_layers=6)


def test_star_generator_follows_the_target_domain():
    torch.manual_seed(0)
    G, x = StarGenerator(3, num_domains=3, width=8, n_blocks=1).eval(), image(3, 32)
    with torch.no_grad():
        to_first, to_last = G(x, torch.eye(3)[[0, 0]]), G(x, torch.eye(3)[[2, 2]])
    # Clearly, not by rounding: a tiled c behind reflection padding and instance norm vanishes.
    assert (to_first - to_last).abs().max() > 1e-2
    with pytest.raises(GanforgeError, match=r"\[N, 3\]"):
        G(x, torch.eye(4)[:2])


@pytest.mark.parametrize("networks", [UNITEncoders, UNITDecoders])
def test_unit_ties_the_shared_blocks(networks):
    torch.manual_seed(0)
    tied = networks(1, 3, width=4, n_blocks=3, shared_blocks=1)
    first, second = (tied.encode_a, tied.encode_b) if networks is UNITEncoders else (
        tied.decode_a, tied.decode_b)
    inputs = (image(1, 16), image(3, 16)) if networks is UNITEncoders else (
        torch.randn(2, 16, 4, 4), torch.randn(2, 16, 4, 4))

    def convs_run(f, x):
        ran = []
        hooks = [m.register_forward_hook(lambda m, i, o: ran.append(m))
                 for m in tied.modules() if isinstance(m, nn.Conv2d)]
        f(x)
        for h in hooks:
            h.remove()
        return ran

    ran_a, ran_b = convs_run(first, inputs[0]), convs_run(second, inputs[1])
    common = [m for m in ran_a if any(m is n for n in ran_b)]
    shared = [m for m in tied.shared.modules() if isinstance(m, nn.Conv2d)]
    assert len(common) == len(shared) == 2 and all(any(m is s for s in shared) for m in common)
    params_a = {id(p) for m in ran_a for p in m.parameters()}
    params_b = {id(p) for m in ran_b for p in m.parameters()}
    assert params_a & params_b == {id(p) for p in tied.shared.parameters()}
    # Each weight is stored once, as safetensors checkpoints need.
    tensors = tied.state_dict().values()
    assert len({t.data_ptr() for t in tensors if t.numel()}) == sum(t.numel() > 0
                                                                   for t in tensors)

    untied = networks(1, 3, width=4, n_blocks=3, shared_blocks=0)
    assert n_params(tied) == n_params(untied) - n_params(tied.shared) < n_params(untied)
    with pytest.raises(GanforgeError, match="shared_blocks"):
        networks(1, 3, n_blocks=2, shared_blocks=3)

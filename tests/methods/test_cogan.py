"""CoGAN: the shared layers are one module, learning from both domains."""

import torch

from ganforge.data import DataSpec
from ganforge.methods import METHODS
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config, tiny_data

SPEC = DataSpec(img_channels=1, img_size=16, kind="translation", b_channels=1)


def test_shared_layers_are_one_module_and_the_others_are_two(tmp_path):
    method = METHODS.get("cogan")(tiny_config("cogan", tmp_path), SPEC)
    G, D = method.G, method.D
    heads = [set(map(id, h.parameters())) for h in G.heads]
    stems = [set(map(id, s.parameters())) for s in D.stems]
    assert not heads[0] & heads[1] and not stems[0] & stems[1]
    shared = set(map(id, G.shared.parameters())) | set(map(id, D.shared.parameters()))
    assert shared and not shared & (heads[0] | heads[1] | stems[0] | stems[1])
    # Each parameter once: the optimisers see the shared layers a single time.
    params = [id(p) for mods in method.groups().values() for m in mods for p in m.parameters()]
    assert len(params) == len(set(params))


def test_both_domains_move_the_shared_generator_layers(tmp_path):
    method = METHODS.get("cogan")(tiny_config("cogan", tmp_path), SPEC)
    z = torch.randn(4, 8)
    a, b = method.G(z)
    for domain, image in ((0, a), (1, b)):
        method.zero_grad()
        method.objective.g(method.D(image, domain)).backward(retain_graph=True)
        assert all(p.grad is not None and p.grad.abs().sum() > 0
                   for p in method.G.shared.parameters() if p.dim() > 1)
        other = method.G.heads[1 - domain]
        assert all(p.grad is None for p in other.parameters())


def test_cogan_trains_and_draws_pairs(tmp_path):
    data, extra = tiny_data("unpaired")
    trainer = Trainer(tiny_config("cogan", tmp_path, **extra), dataset=data)
    trainer.fit()
    g = torch.Generator().manual_seed(0)
    a, b = trainer.method.sample_pairs(3, g)
    assert a.shape == b.shape == (3, 1, 16, 16)
    assert trainer.method.sample(5, torch.Generator().manual_seed(0)).shape == (5, 1, 16, 16)

"""DistanceGAN: the distance losses against loops written out, one-sided and with the cycle."""

import itertools

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.losses.translation import distance_loss, halves_l1, pairwise_l1
from ganforge.training import Trainer
from ganforge.training.log import read_log
from tests.methods.test_methods import tiny_config, tiny_data


def test_pairwise_distance_loss_is_the_papers_sum_over_pairs_written_out():
    g = torch.Generator().manual_seed(0)
    a, fake_b = torch.rand(5, 1, 4, 4, generator=g), torch.rand(5, 1, 4, 4, generator=g)
    stats_a, stats_b = torch.tensor([0.3, 0.1]), torch.tensor([0.4, 0.2])
    terms = []
    for i, j in itertools.combinations(range(5), 2):
        d_a = sum(abs(p - q) for p, q in zip(a[i].flatten().tolist(), a[j].flatten().tolist(),
                                             strict=True)) / 16
        d_b = sum(abs(p - q) for p, q in zip(fake_b[i].flatten().tolist(),
                                             fake_b[j].flatten().tolist(), strict=True)) / 16
        terms.append(abs((d_a - 0.3) / 0.1 - (d_b - 0.4) / 0.2))
    loss = distance_loss(pairwise_l1(a), pairwise_l1(fake_b), stats_a, stats_b)
    assert loss.item() == pytest.approx(sum(terms) / len(terms), rel=1e-5)


def test_self_distance_compares_each_images_left_and_right_halves():
    x = torch.zeros(2, 1, 2, 4)
    x[0, :, :, 2:] = 1.0  # right half white: halves differ by 1 everywhere
    x[1] = 0.5            # uniform: halves equal
    assert halves_l1(x).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("fields", [{}, {"distance": "self"}, {"cycle_weight": 10.0}])
def test_distancegan_trains_and_measures_its_domains(fields, tmp_path):
    data, extra = tiny_data("unpaired")
    cfg = tiny_config("distancegan", tmp_path, **{**extra, **fields})
    trainer = Trainer(cfg, dataset=data)
    trainer.fit()
    method = trainer.method
    # The standardising statistics come from the training images, not the defaults.
    assert not torch.equal(method.stats_a, torch.tensor([0.0, 1.0]))
    assert method.stats_a[1] > 0 and method.stats_b[1] > 0
    rows = read_log(trainer.run_dir / "log.jsonl")
    assert all("distance" in r for r in rows)
    assert ("cycle" in rows[-1]) == bool(fields.get("cycle_weight"))
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    if fields.get("cycle_weight"):
        assert method.translate(x, "BtoA").shape == x.shape
    else:
        assert set(method.G) == {"ab"} and set(method.D) == {"b"}
        with pytest.raises(GanforgeError, match="one-sided"):
            method.translate(x, "BtoA")

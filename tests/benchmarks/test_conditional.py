"""benchmarks/conditional.py --raw-g: the run's own G, not its EMA copy, is what gets scored, so
the EMA's effect is read from one training run."""

import torch
from safetensors.torch import load_file

import ganforge
from ganforge.training import Trainer
from tests.benchmarks import import_benchmark
from tests.methods.test_methods import tiny_config


def test_raw_g_is_the_checkpoints_generator_not_its_average(tmp_path, digits):
    conditional = import_benchmark("conditional")
    run = Trainer(tiny_config("infogan", tmp_path, steps=6, ema=0.5), dataset=digits).fit()
    averaged = ganforge.load(run, device="cpu")
    raw = ganforge.load(run, device="cpu")
    conditional.use_raw_generator(raw, str(run))

    tensors = load_file(str(run / "checkpoint.safetensors"))
    for name, value in raw.method.G.state_dict().items():
        assert torch.equal(value, tensors[f"G.{name}"]), name
    generator = torch.Generator().manual_seed(0)
    z = raw.method.sample_latent(8, generator)
    codes = raw.method.sample_condition(8, generator)
    assert not torch.allclose(raw.generate(z, codes), averaged.generate(z, codes))

    rows = [conditional.evaluate(str(run), 100, 0, "cpu", raw_g=flag) for flag in (False, True)]
    assert [row["G"] for row in rows] == ["as sampled", "raw"]
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in rows)

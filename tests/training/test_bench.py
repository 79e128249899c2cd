import json
import re

import pytest
import torch
from torch import nn

from ganforge.cli import main
from ganforge.training.bench import bench_trainer, count_flops, images_per_step

CPU = torch.device("cpu")


def table_rows(out: str) -> dict[str, list[str]]:
    """{method: cells} of the Markdown table ``ganforge bench`` prints."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 6 and cells[0] not in ("method", ""):
            if not set(cells[0]) <= {"-"}:
                rows[cells[0]] = cells
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_bench_prints_images_per_s_and_flops(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out_json = tmp_path / "bench.json"
    code = main(["bench", "--methods", "gan,dcgan", "--batch-sizes", "8", "--dataset", "digits",
                 "--steps", "2", "--warmup", "1", "--repeats", "1", "--device", "cpu",
                 "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"\| method +\| batch +\| images/s +\| ms/step +\| MFLOP/image +\| "
                     r"GFLOP/s +\|", out)
    rows = table_rows(out)
    assert set(rows) == {"gan", "dcgan"}
    for _, batch, images_per_s, ms, mflop, gflops in rows.values():
        assert batch == "8"
        assert number(images_per_s) > 0 and number(ms) > 0
        assert number(mflop) > 0 and number(gflops) > 0
    # The convolutional step costs more per image than the MLP one.
    assert number(rows["dcgan"][4]) > number(rows["gan"][4])
    results = json.loads(out_json.read_text())["results"]
    assert [r["method"] for r in results] == ["gan", "dcgan"]
    assert all(r["flops_per_image"] > 0 and len(r["window_seconds"]) == 1 for r in results)
    # A benchmark writes no run directory (only the JSON asked for).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]


@pytest.mark.parametrize("argv,message", [
    (["--methods", "gan,nope"], "unknown method 'nope'; choose one of: acgan, attngan, bigan"),
    (["--batch-sizes", "64,x"], "--batch-sizes takes a comma-separated list"),
    (["--batch-sizes", "0"], "--batch-sizes must be positive"),
    (["--precision", "fp8"], "unknown precision 'fp8'"),
])
def test_bench_bad_input_is_one_line(capsys, argv, message):
    code = main(["bench", "--dataset", "digits", "--device", "cpu", *argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "images/s" not in out  # refused before anything was timed


def linear_flops(batch: int, layers: list[tuple[int, int]]) -> int:
    """2 FLOPs per multiply-add of ``batch`` rows through each (in, out) linear layer."""
    return sum(2 * batch * n_in * n_out for n_in, n_out in layers)


def test_flop_counter_counts_a_linear_backward_as_two_forwards():
    # What the bench relies on: each matrix product of the backward costs what the forward did,
    # and the first layer computes no input gradient when its input needs none.
    net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    layers = [(10, 20), (20, 5)]
    x = torch.randn(4, 10)
    assert count_flops(lambda: net(x).sum().backward()) == (
        3 * linear_flops(4, layers) - linear_flops(4, layers[:1]))
    x.requires_grad_(True)
    assert count_flops(lambda: net(x).sum().backward()) == 3 * linear_flops(4, layers)


@pytest.mark.parametrize("shared", [True, False])
def test_mlp_gan_step_flops_equal_a_hand_count(shared, digits):
    batch, image = 8, 16 * 16
    trainer = bench_trainer("gan", "digits", digits, batch, CPU, shared_fakes=shared)
    # MLPGenerator z -> 128 -> 256 -> 512 -> 1024 -> image; MLPDiscriminator image -> 512 ->
    # 256 -> 1 (ganforge.models.mlp); batch norm and activations are not counted.
    G = [(100, 128), (128, 256), (256, 512), (512, 1024), (1024, image)]
    D = [(image, 512), (512, 256), (256, 1)]
    f = lambda layers: linear_flops(batch, layers)  # noqa: E731
    d_step = (f(G)                # the fakes (under no_grad unless G's update reuses them)
              + 2 * f(D)          # D on the real and on the fake batch
              + 2 * f(D)          # weight gradients of both passes
              + 2 * f(D[1:]))     # input gradients, but not into the data / detached fakes
    g_step = ((0 if shared else f(G))  # G(z) again, on fresh noise, unless shared
              + f(D)              # D(G(z))
              + f(D)              # input gradients through D (D's weights are frozen)
              + f(G)              # G's weight gradients
              + f(G[1:]))         # input gradients, but not into z
    assert count_flops(trainer.train_step) == d_step + g_step
    assert images_per_step(trainer) == batch


def test_wgan_gp_counts_every_critic_step_and_its_penalty(digits):
    trainer = bench_trainer("wgan-gp", "digits", digits, 8, CPU)
    assert trainer.cfg.d_steps == 5 and images_per_step(trainer) == 40
    # The gradient penalty's double backward (autograd.grad with create_graph) is counted too.
    with_penalty = count_flops(trainer.train_step)
    plain = bench_trainer("wgan", "digits", digits, 8, CPU)  # the same convolutions, clipped
    assert with_penalty > 1.5 * count_flops(plain.train_step) > 0

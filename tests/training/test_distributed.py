"""Data-parallel training: real 2-process gloo runs on the CPU, the shards, the error messages.

The multi-process tests share one 2-rank run (``two_rank_run``, spawned once for the module) and
one ``torchrun`` launch of the CLI; each takes about ten seconds on 2 slow cores.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganforge.cli import main
from ganforge.config import TrainConfig
from ganforge.configure import configure, configure_saved
from ganforge.data import (
    Augment,
    Batcher,
    DataSpec,
    PairBatcher,
    PointBatcher,
    ToyMixture,
    TranslationData,
)
from ganforge.data.batcher import IndexStream
from ganforge.errors import GanforgeError
from ganforge.methods import METHODS
from ganforge.nn import noise
from ganforge.runs import checkpoint as ckpt
from ganforge.training import Trainer, distributed

TIMEOUT_S = 180


def toy_config(out, **kw) -> TrainConfig:
    # The toy backbone is Linear + ReLU only: no batch norm (which would normalise each rank's
    # half-batch on its own) and no dropout, so 2 ranks compute what one process computes and
    # the runs must agree up to float summation order.
    fields = dict(dataset="ring8", width=16, latent_dim=4, batch_size=64, steps=6, log_every=2,
                  checkpoint_every=3, sample_every=1000, n_samples=100, eval_n=100,
                  device="cpu", seed=3, out=str(out))
    return configure(method="gan", **{**fields, **kw})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(fn, world: int, *args) -> None:
    """Run ``fn(rank, world, port, *args)`` in ``world`` fresh processes; fail on error or hang."""
    port = free_port()
    context = torch.multiprocessing.start_processes(
        fn, args=(world, port, *args), nprocs=world, join=False, start_method="spawn")
    deadline = time.monotonic() + TIMEOUT_S
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"{world}-process run did not finish in {TIMEOUT_S} s")


def join_group(rank: int, world: int, port: int) -> None:
    """What torchrun sets up for a worker."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)


def check_collectives(rank: int, world: int) -> dict[str, torch.Tensor]:
    """The helpers' arithmetic against values written out by hand, on rank-dependent inputs."""
    distributed.setup("cpu")
    params = [torch.nn.Parameter(torch.zeros(shape, dtype=dtype))
              for shape, dtype in [((3, 2), torch.float32), ((5,), torch.float64),
                                   ((4,), torch.float32), ((2, 2), torch.float32)]]
    for i, p in enumerate(params):
        if i != 2:  # a parameter without a gradient stays without one
            p.grad = torch.arange(p.numel(), dtype=p.dtype).view_as(p) * (rank + 1) + i
    # Several buckets per dtype; the training that follows in this process uses them too.
    distributed.BUCKET_BYTES = 16
    distributed.average_gradients(params)
    out = {f"grad{i}": p.grad for i, p in enumerate(params) if p.grad is not None}
    weights = [torch.full((3,), float(rank)), torch.tensor([rank, 7])]
    distributed.broadcast_from_main(weights)
    out.update(broadcast0=weights[0], broadcast1=weights[1])
    out["average"] = distributed.average(torch.tensor([1.0, 2.0 * rank]))
    out["flags"] = torch.tensor([distributed.main_flag(rank == 0),
                                 distributed.main_flag(rank == 1)])
    out["value"] = torch.tensor([int(distributed.main_value(f"rank{rank}")[4:])])
    return out


def train_rank(rank: int, world: int, port: int, cfg: dict, dump: str) -> None:
    join_group(rank, world, port)
    try:
        results = check_collectives(rank, world)
        trainer = Trainer(configure_saved(cfg))
        trainer.fit()
        results.update(ckpt.prefixed("state", trainer.method.state_dict()))
        save_file({k: v.contiguous() for k, v in results.items()}, f"{dump}/rank{rank}.st")
    finally:
        distributed.teardown()


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    """A 6-step run at world size 2 (checkpoints at 3 and 6) and what each rank held."""
    root = tmp_path_factory.mktemp("ddp")
    cfg = toy_config(root / "run")
    spawn(train_rank, 2, cfg.to_dict(), str(root))
    return cfg, root / "run", [load_file(root / f"rank{r}.st") for r in range(2)]


@pytest.fixture(scope="module")
def one_rank_run(two_rank_run, tmp_path_factory):
    """The same run in this process."""
    cfg, _, _ = two_rank_run
    trainer = Trainer(cfg.replace(out=str(tmp_path_factory.mktemp("one") / "run")))
    assert not torch.distributed.is_initialized()  # one process: no process group
    trainer.fit()
    return trainer


def test_gradients_are_averaged_and_messages_agree(two_rank_run):
    _, _, ranks = two_rank_run
    for rank in ranks:
        # Rank r's gradient of parameter i was (arange * (r + 1) + i): the mean is arange*1.5+i.
        for i, shape in [(0, (3, 2)), (1, (5,)), (3, (2, 2))]:
            expected = torch.arange(torch.Size(shape).numel()).view(shape) * 1.5 + i
            assert torch.equal(rank[f"grad{i}"], expected.to(rank[f"grad{i}"].dtype)), i
        assert rank["grad1"].dtype == torch.float64
        assert "grad2" not in rank
        assert torch.equal(rank["broadcast0"], torch.zeros(3))
        assert torch.equal(rank["broadcast1"], torch.tensor([0, 7]))
        assert torch.equal(rank["average"], torch.tensor([1.0, 1.0]))
        assert rank["flags"].tolist() == [True, False]
        assert rank["value"].item() == 0


def test_two_ranks_stay_identical_and_train_like_one_process(two_rank_run, one_rank_run):
    _, run_dir, ranks = two_rank_run
    weights = [{k: v for k, v in r.items() if k.startswith("state.")} for r in ranks]
    assert weights[0].keys() == weights[1].keys() and weights[0]
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key

    for key, value in one_rank_run.method.state_dict().items():
        torch.testing.assert_close(weights[0][f"state.{key}"], value, rtol=1e-5, atol=1e-6)
    # The logged values are averages over the ranks: the one-process values.
    logs = [[json.loads(line) for line in (d / "log.jsonl").read_text().splitlines()]
            for d in (run_dir, one_rank_run.run_dir)]
    assert [r["step"] for r in logs[0]] == [r["step"] for r in logs[1]] == [2, 3, 4, 6]
    for two, one in zip(*logs, strict=True):
        for key in ("d_loss", "g_loss", "D(x)", "D(G(z))"):
            assert two[key] == pytest.approx(one[key], rel=1e-5)


def test_checkpoint_holds_nothing_per_rank(two_rank_run, one_rank_run):
    _, run_dir, _ = two_rank_run
    two, two_state = ckpt.load_checkpoint(run_dir / ckpt.CHECKPOINT)
    one, one_state = ckpt.load_checkpoint(one_rank_run.run_dir / ckpt.CHECKPOINT)
    assert two.keys() == one.keys()
    # The data stream's and the random generator's state are those of one process.
    for key in [k for k in one if k.startswith(("batcher.", "rng."))]:
        assert torch.equal(two[key], one[key]), key
    for key in ("step", "total_steps", "batcher", "scalers"):
        assert two_state[key] == one_state[key], key
    assert not [p for p in run_dir.rglob("*") if "rank" in p.name]


def test_run_saved_at_world_size_two_resumes_at_one(two_rank_run, tmp_path):
    cfg, run_dir, _ = two_rank_run
    copy = tmp_path / "resumed"
    shutil.copytree(run_dir, copy)
    resumed = Trainer.resume(copy, steps=9)
    assert resumed.step == 6
    resumed.fit()
    _, state = ckpt.load_checkpoint(copy / ckpt.CHECKPOINT)
    assert state["step"] == 9
    # 6 steps at world size 2 and 3 more at 1 train what 9 steps in one process train.
    straight = Trainer(cfg.replace(out=str(tmp_path / "straight"), steps=9))
    straight.fit()
    for key, value in straight.method.state_dict().items():
        torch.testing.assert_close(resumed.method.state_dict()[key], value, rtol=1e-5,
                                   atol=1e-6)


def test_torchrun_resumes_a_one_process_run_with_two(tmp_path, digits):
    # An image run with batch norm (DCGAN): each rank normalises its own half-batch.
    cfg = configure(method="dcgan", dataset="digits", image_size=16, width=8, latent_dim=8,
                               batch_size=32, steps=2, log_every=1, checkpoint_every=2,
                               sample_every=1000, n_samples=16, device="cpu", seed=5,
                               out=str(tmp_path / "run"))
    Trainer(cfg, dataset=digits).fit()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "-m", "ganforge.cli", "train",
               "--resume", str(tmp_path / "run"), "--steps", "4"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained 4 steps") == 1  # rank 0 alone reports
    tensors, state = ckpt.load_checkpoint(tmp_path / "run" / ckpt.CHECKPOINT)
    assert state["step"] == 4
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]


# ---- the shards ------------------------------------------------------------------------------


@pytest.mark.parametrize("world", [2, 4])
def test_index_shards_partition_each_global_batch(world):
    whole = IndexStream(50, 12, torch.device("cpu"), seed=1)
    ranks = [IndexStream(50, 12, torch.device("cpu"), seed=1, shard=(r, world))
             for r in range(world)]
    for _ in range(9):  # more than two epochs of 4 batches
        parts = [stream.next() for stream in ranks]
        assert all(len(p) == 12 // world for p in parts)
        assert torch.equal(torch.cat(parts), whole.next())
    for stream in ranks:
        state, expected = stream.state_dict(), whole.state_dict()
        assert (state["epoch"], state["cursor"]) == (expected["epoch"], expected["cursor"])
        assert torch.equal(state["perm"], expected["perm"])
        assert torch.equal(state["generator"], expected["generator"])


def test_image_and_point_batches_are_slices_of_the_global_batch(digits):
    def batchers(shard):
        return [Batcher(digits, 8, "cpu", seed=2, augment=Augment(True, 2, seed=2), shard=shard),
                PointBatcher(ToyMixture("ring8"), 8, "cpu", seed=2, shard=shard),
                PairBatcher(pairs, 8, "cpu", seed=2, augment=Augment(True, 1, seed=2),
                            shard=shard)]

    pairs = TranslationData("t", torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8),
                            torch.randint(0, 256, (30, 3, 8, 8), dtype=torch.uint8), False)
    whole, halves = batchers((0, 1)), [batchers((r, 2)) for r in range(2)]
    for one, *parts in zip(whole, *halves, strict=True):
        for _ in range(3):
            batch, pieces = next(one), [next(p) for p in parts]
            for key in batch:
                assert torch.equal(torch.cat([p[key] for p in pieces]), batch[key]), key
        states = [one.state_dict()] + [p.state_dict() for p in parts]
        for key, value in states[0].items():
            for state in states[1:]:
                same = torch.equal if isinstance(value, torch.Tensor) else (lambda a, b: a == b)
                assert same(state[key], value), key


def test_ranks_draw_their_rows_of_the_global_latents():
    cfg = configure(method="gan", latent_dim=4)
    method = METHODS.get("gan")(cfg, DataSpec(1, 8))
    torch.manual_seed(0)
    whole = method.sample_latent(6)
    parts = []
    for rank in range(3):
        with noise.rows_of(rank, 3):
            torch.manual_seed(0)
            parts.append(method.sample_latent(2))
    assert torch.equal(torch.cat(parts), whole)
    fixed = method.sample_latent(5, torch.Generator().manual_seed(1))  # sample grids: unsharded
    assert torch.equal(fixed, torch.randn(5, 4, generator=torch.Generator().manual_seed(1)))


# ---- errors ----------------------------------------------------------------------------------


def test_a_batch_that_does_not_split_over_the_ranks_is_refused(digits):
    message = r"--batch-size 30 \(the global batch\) does not split evenly over 4 processes; " \
              r"give a multiple of 4"
    with pytest.raises(GanforgeError, match=message):
        Batcher(digits, 30, "cpu", shard=(1, 4))
    with pytest.raises(GanforgeError, match=message):
        PointBatcher(ToyMixture("ring8"), 30, "cpu", shard=(0, 4))


def test_sync_bn_on_cpus_is_refused(capsys):
    with pytest.raises(GanforgeError, match="--sync-bn synchronises batch norm between GPUs"):
        configure(method="dcgan", sync_bn=True, device="cpu")
    code = main(["train", "--sync-bn", "--device", "cpu", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "--sync-bn synchronises batch norm between GPUs and needs CUDA" in err
    assert err.count("\n") == 1


def test_torchrun_processes_take_their_local_gpu_or_the_cpu(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.process_device("cpu") == torch.device("cpu")
    with pytest.raises(GanforgeError, match="under torchrun each process trains on "
                                            "cuda:LOCAL_RANK; use --device cuda or auto"):
        distributed.process_device("cuda:1")


def test_a_sync_bn_run_moved_to_the_cpu_goes_on_without_it(tmp_path, digits):
    cfg = configure(method="dcgan", dataset="digits", image_size=16, width=8, latent_dim=8,
                               batch_size=16, steps=1, sample_every=1000, n_samples=4,
                               device="cpu", out=str(tmp_path / "run"))
    Trainer(cfg, dataset=digits).fit()
    path = tmp_path / "run" / "config.json"
    saved = json.loads(path.read_text())
    saved["config"].update(sync_bn=True, device="cuda")  # as a GPU run would have written it
    path.write_text(json.dumps(saved))
    with pytest.warns(UserWarning, match="--sync-bn needs GPUs; this run continues on the CPU"):
        trainer = Trainer.resume(tmp_path / "run", steps=2, dataset=digits, device="cpu")
    trainer.fit()
    assert trainer.step == 2 and not trainer.cfg.sync_bn

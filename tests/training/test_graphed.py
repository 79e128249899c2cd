"""What --cuda-graphs needs of the Trainer, checked on the CPU: the capture itself needs CUDA
(benchmarks/gpu_check.py exercises it on a GPU)."""

import contextlib
import json

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.training import Trainer
from ganforge.training.graphed import WARMUP_STEPS, GraphedStep, capture_blocker
from ganforge.training.optimizers import make_optimizer
from tests.training.test_trainer import config

CUDA = torch.device("cuda")


def assert_same_weights(a: Trainer, b: Trainer, atol: float = 0.0) -> None:
    for (name, x), y in zip(a.method.state_dict().items(), b.method.state_dict().values(),
                            strict=True):
        assert torch.allclose(x.float(), y.float(), rtol=0.0, atol=atol), name


def with_capturable_optimizers(trainer):
    """The optimisers --cuda-graphs gives a GPU run (fused Adam is capturable on CPUs too)."""
    for group, modules in trainer.method.groups().items():
        trainer.optimizers[group] = make_optimizer(trainer.cfg, group, modules, trainer.device,
                                                   capturable=True)
    return trainer


def test_capture_blockers_name_the_reason(tmp_path, digits):
    dcgan = Trainer(config(tmp_path, "d"), dataset=digits)
    assert capture_blocker(dcgan.cfg, dcgan.method, CUDA, 1) is None
    assert "CUDA device" in capture_blocker(dcgan.cfg, dcgan.method, torch.device("cpu"), 1)
    assert "all-reduce" in capture_blocker(dcgan.cfg, dcgan.method, CUDA, 2)
    fp16 = dcgan.cfg.replace(precision="fp16")
    assert "bf16" in capture_blocker(fp16, dcgan.method, CUDA, 1)
    sgd = dcgan.cfg.replace(optimizer="sgd")
    assert "Adam" in capture_blocker(sgd, dcgan.method, CUDA, 1)
    progan = Trainer(config(tmp_path, "p", method="progan"), dataset=digits)
    assert "change with the training step" in capture_blocker(progan.cfg, progan.method, CUDA, 1)
    # Found in the networks themselves, whatever setting put it there.
    virtual = Trainer(config(tmp_path, "v", method="gan", g_norm="virtual"), dataset=digits)
    assert "virtual batch norm" in capture_blocker(virtual.cfg, virtual.method, CUDA, 1)


def test_cuda_graphs_on_a_cpu_is_refused_in_one_line(tmp_path):
    with pytest.raises(GanforgeError, match="--cuda-graphs .* drop it"):
        config(tmp_path, "c", cuda_graphs=True)


def test_capturable_optimisers_train_as_the_plain_ones(tmp_path, digits):
    """Device-tensor learning rates decay in place (a graph reads that very tensor) and the
    run learns what the plain optimisers learn."""
    plain = Trainer(config(tmp_path, "plain", lr_decay_from=0.25), dataset=digits)
    plain.fit()
    graphable = with_capturable_optimizers(
        Trainer(config(tmp_path, "graphable", lr_decay_from=0.25), dataset=digits))
    lr = graphable.optimizers["G"].param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor)
    graphable.fit()
    assert graphable.optimizers["G"].param_groups[0]["lr"] is lr
    assert float(lr) == pytest.approx(plain.cfg.lr * plain.lr_decay.factor(7, plain.total_steps))
    assert_same_weights(plain, graphable, atol=1e-5)


def test_a_captured_runs_checkpoint_resumes_without_graphs(tmp_path, digits):
    straight = Trainer(config(tmp_path, "straight"), dataset=digits)
    straight.fit()
    first = with_capturable_optimizers(Trainer(config(tmp_path, "first"), dataset=digits))
    first.fit(until=4)
    state = json.loads((tmp_path / "first" / "state.json").read_text())
    assert state["optimizers"]["G"]["param_groups"][0]["lr"] == pytest.approx(2e-4)
    # As if the run had been trained with --cuda-graphs on a GPU and is resumed on this CPU.
    config_file = tmp_path / "first" / "config.json"
    saved = json.loads(config_file.read_text())
    saved["config"]["cuda_graphs"] = True
    config_file.write_text(json.dumps(saved))
    with pytest.warns(UserWarning, match="continues on the cpu without them"):
        resumed = Trainer.resume(tmp_path / "first", dataset=digits)
    assert not resumed.optimizers["G"].param_groups[0]["capturable"]
    resumed.fit()
    assert_same_weights(straight, resumed, atol=1e-5)


def test_log_sums_are_zeroed_in_place(tmp_path, digits):
    """A captured step adds into the same sum tensors for the whole run."""
    trainer = Trainer(config(tmp_path, "logs"), dataset=digits)
    trainer.train_step()
    sums = dict(trainer.losses._sums)
    finite = trainer.losses._finite
    trainer.flush_logs()
    assert all(float(total) == 0.0 for total in sums.values())
    trainer.train_step()
    trainer.train_step()
    assert all(trainer.losses._sums[key] is total for key, total in sums.items())
    assert trainer.losses._finite is finite
    mean = float(sums["d_loss"]) / 2
    row = trainer.flush_logs()
    assert row["d_loss"] == pytest.approx(mean) and mean > 0


def lazy_record(self, static):
    """A stand-in for the CUDA capture: the replay runs the step's Python on the static
    inputs, which is what a replay of the recorded kernels computes."""
    return lambda: self.body(static)


def test_graphed_step_warms_up_then_replays_on_its_static_inputs(tmp_path, digits,
                                                                   monkeypatch):
    monkeypatch.setattr(GraphedStep, "_record", lazy_record)
    eager = with_capturable_optimizers(Trainer(config(tmp_path, "eager"), dataset=digits))
    eager.fit()
    graphed = with_capturable_optimizers(Trainer(config(tmp_path, "graphed"), dataset=digits))
    graphed.graphed_step = GraphedStep(graphed.step_body, graphed.device)
    bodies = []
    body = graphed.step_body
    graphed.graphed_step.body = lambda batches: bodies.append(batches) or body(batches)
    graphed.fit()
    assert graphed.graphed_step.captured and graphed.graphed_step.eager_steps == WARMUP_STEPS
    static = graphed.graphed_step.static
    assert all(b is static for b in bodies[WARMUP_STEPS:])
    assert_same_weights(eager, graphed)
    rows = [json.loads(line) for line in (tmp_path / "graphed" / "log.jsonl").read_text()
            .splitlines()]
    expected = [json.loads(line) for line in (tmp_path / "eager" / "log.jsonl").read_text()
                .splitlines()]
    assert [r["d_loss"] for r in rows] == [r["d_loss"] for r in expected]


def test_a_step_that_cannot_be_captured_stops_with_the_operation_named(tmp_path, digits,
                                                                     monkeypatch):
    def refuse(self, static):
        try:
            raise RuntimeError("operation not permitted when stream is capturing\ndetail")
        except RuntimeError:  # as torch's capture_end raises it: the cause only as context
            raise RuntimeError(  # noqa: B904
                "operation failed due to a previous error during capture")

    monkeypatch.setattr(GraphedStep, "_record", refuse)
    trainer = Trainer(config(tmp_path, "refused"), dataset=digits)
    trainer.graphed_step = GraphedStep(trainer.step_body, trainer.device)
    with pytest.raises(GanforgeError, match=r"could not be captured \(operation not permitted "
                       r"when stream is capturing\); run with --no-cuda-graphs"):
        trainer.fit()
    assert trainer.step == WARMUP_STEPS


def test_virtual_batch_norm_is_not_captured(tmp_path, digits):
    trainer = Trainer(config(tmp_path, "vbn", g_norm="virtual"), dataset=digits)
    assert "virtual batch norm" in capture_blocker(trainer.cfg, trainer.method, CUDA, 1)


def a_sync_in_the_last_warmup_step(monkeypatch):
    """As CUDA's sync debug mode reports a host sync (a loss read with .item())."""

    @contextlib.contextmanager
    def watch(self, found):
        yield
        found.append("called a synchronizing CUDA operation at gan.py:12")

    monkeypatch.setattr(GraphedStep, "_watch_syncs", watch)
    monkeypatch.setattr(GraphedStep, "_record", lazy_record)


def test_a_step_that_waits_for_the_host_stops_a_run_that_asked_for_graphs(tmp_path, digits,
                                                                          monkeypatch):
    a_sync_in_the_last_warmup_step(monkeypatch)
    trainer = Trainer(config(tmp_path, "strict"), dataset=digits)
    trainer.graphed_step = GraphedStep(trainer.step_body, trainer.device, strict=True)
    with pytest.raises(GanforgeError, match=r"^--cuda-graphs: this training step waits for the "
                       r"host \(called a synchronizing CUDA operation at gan.py:12\), so it "
                       r"cannot be captured; run with --no-cuda-graphs$"):
        trainer.fit()
    assert not trainer.graphed_step.captured


def test_a_step_that_waits_for_the_host_trains_eagerly_by_default(tmp_path, digits,
                                                                  monkeypatch):
    """Graphs by default: the warm-up step completes, the reason is said once, and the run goes
    on eagerly, learning exactly what an eager run learns."""
    a_sync_in_the_last_warmup_step(monkeypatch)
    eager = Trainer(config(tmp_path, "eager"), dataset=digits)
    eager.fit()
    fallback = Trainer(config(tmp_path, "fallback"), dataset=digits)
    fallback.graphed_step = GraphedStep(fallback.step_body, fallback.device, strict=False)
    with pytest.warns(UserWarning, match="waits for the host .* trains without them") as seen:
        fallback.fit()
    assert len([w for w in seen if "waits for the host" in str(w.message)]) == 1
    assert not fallback.graphed_step.captured
    assert fallback.graphed_step.uncapturable is not None
    assert fallback.step == eager.step
    assert_same_weights(eager, fallback)


def test_graphs_are_the_default_only_on_cuda(tmp_path, digits):
    assert config(tmp_path, "c").cuda_graphs is None
    trainer = Trainer(config(tmp_path, "c"), dataset=digits)
    assert trainer.graphed_step is None  # on the CPU: no graphs, and no word about it


def test_a_sync_is_named_by_its_python_line_without_torchs_internal_site():
    import warnings

    from ganforge.training.graphed import _sync_site

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("called a synchronizing CUDA operation (Triggered internally at "
                      "/pytorch/c10/cuda/CUDAFunctions.cpp:162.)", stacklevel=1)
    assert _sync_site(caught[0]) == ("called a synchronizing CUDA operation at "
                                     f"test_graphed.py:{caught[0].lineno}")

"""Issue #21's GPU checks, in one run sized for a borrowed GPU's few minutes.

Parts (each writes its figures into ``gpu_check.json`` as soon as it ends):

1. ``methods``: every registered method takes ``--method-steps`` training steps eagerly and
   then, afresh, with ``--cuda-graphs``; for each: whether the step was captured (or why not),
   whether the weights moved and stayed finite, and ms per step. Each method runs in a process
   of its own (a failed capture leaves CUDA unusable in its process), ``--jobs`` at a time. Two
   probes check the fallback: a DCGAN whose step reads a loss on the host must stop with the
   operation named under ``--cuda-graphs`` and train eagerly under the default.
2. ``reference``: the PyTorch-GAN scripts (dcgan.py, gan.py, cgan.py, wgan_gp.py, as
   :mod:`reference_dcgan` and its siblings time them), end to end on this GPU.
3. ``throughput``: ``ganforge bench`` of gan, cgan and wgan-gp at 28 px and dcgan at 32 px (the
   reference scripts' sizes) on MNIST held on the device: eager and captured at batch 64 and
   1,024, and captured in bf16 at 1,024; model FLOPs per image and GFLOP/s.
4. ``quality``: DCGAN trained ``--quality-steps`` steps eagerly with seeds 0 and 1 and captured
   with seed 0 (``--quality-runs``): MNIST-FID, the packaged classifier's confident share and
   class KL of 10,000 samples each (the two eager seeds say what noise is), and their sample grids.
5. ``epochs``: DCGAN for ``--epochs`` epochs of MNIST with the default settings (captured on
   CUDA): its wall time and the same figures, and its grid.
6. ``sweep`` (not run unless named in ``--parts``): captured DCGAN at batch 64, 256 and 1,024
   on the same number of images, learning rate kept and sqrt-scaled, EMA half-life fixed.

On a GPU machine, from the repository root::

    python benchmarks/gpu_check.py --data-dir DATA --out "$OUT"

``--smoke --device cpu`` runs every part through the same code with a few steps each, in well
under a minute (tests/benchmarks/test_gpu_check.py does), so that nothing breaks on the GPU for
a typo. At most eight files are written to ``--out`` (the JSON, the log and the pictures);
run directories go to ``--work``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the reference scripts and their torchvision stand-in

from paper_dcgan import PAPER_DCGAN, PAPER_DCGAN_NETS  # noqa: E402

PARTS = ("methods", "reference", "throughput", "quality", "epochs", "sweep")
DEFAULT_PARTS = PARTS[:-1]

# The data each registered method trains on (translation and text methods need their own).
def method_data() -> dict[str, str]:
    """Each method's MNIST-sized data set, from the data it declares it trains on."""
    from ganforge.methods import METHODS
    from ganforge.methods.capabilities import DomainTranslator

    def data(method) -> str:
        needs = method.trains_on
        if needs.captions:
            return "captioned-mnist"
        if issubclass(method, DomainTranslator):
            return "mnist-styles"
        if "translation" in needs.kinds:
            return "edges2mnist" if needs.pairs else "digits2mnist"
        return "mnist"

    return {name: data(method) for name, method in METHODS.items()}


METHOD_DATA = method_data()
SMOKE_METHODS = "dcgan,text2img,pix2pix,cyclegan,stargan"
# Probes of the capture's host-sync check: a DCGAN that reads a loss on the host, with graphs
# asked for (it must stop, naming the operation) and by default (it must train eagerly).
SYNC_PROBES = {"sync-probe-strict": True, "sync-probe-default": None}
# The throughput, quality and epoch figures are of DCGAN's all-convolutional nets at batch 64
# without EMA, its MNIST default until 2026-12-06 (now InfoGAN's dense-layer nets, batch 128,
# an EMA of G).


class Budget:
    """The sizes of one run: the GPU check's, or the smoke run's few steps."""

    def __init__(self, smoke: bool, args: argparse.Namespace) -> None:
        self.smoke = smoke
        self.method_steps = 2 if smoke else args.method_steps
        self.ref_batches = 2 if smoke else 300
        self.ref_warmup = 1 if smoke else 20
        self.bench = ({"steps": 1, "warmup": 1, "repeats": 1} if smoke
                      else {"warmup": 5, "repeats": 3, "window_seconds": 0.5})
        self.bench_batches = (8, 16) if smoke else (64, 1024)
        self.quality_steps = 6 if smoke else args.quality_steps
        self.epochs = 0.004 if smoke else args.epochs
        self.n_eval = 500 if smoke else 10_000
        self.sweep_images = 512 if smoke else args.sweep_images


# ---- 1. every method, eager and captured -------------------------------------------------------


def _train_steps(cfg, steps: int, patch=None) -> dict:
    """Build a Trainer of ``cfg``, take ``steps`` steps and say how it went."""
    from ganforge.training import Trainer

    row: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = Trainer(cfg)
        if patch is not None:
            patch(trainer)
        trainer.method.train()
        before = [p.detach().clone() for p in trainer.method.parameters()]
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        logs = trainer.flush_logs()  # raises on a NaN or inf loss
        _sync(trainer.device)
        row["ms_per_step"] = 1e3 * (time.perf_counter() - start) / steps
    row["captured"] = trainer.replays_cuda_graph
    notes = [str(w.message) for w in caught
             if "graph" in str(w.message).lower() or "host" in str(w.message)]
    row["why_not"] = "; ".join(notes) or None
    after = list(trainer.method.parameters())
    row["moved"] = any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    row["finite"] = all(bool(torch.isfinite(p).all()) for p in after)
    row["logs"] = {k: round(v, 4) for k, v in (logs or {}).items()
                   if isinstance(v, float) and k != "images_per_s"}
    return row


def _reads_a_loss_on_the_host(trainer) -> None:
    """Make D's loss wait for the host (``.item()``), as a careless method might."""
    d_loss = trainer.method.d_loss

    def d_loss_read(batch):
        loss, logs = d_loss(batch)
        float(loss.item())
        return loss, logs

    trainer.method.d_loss = d_loss_read


def check_method(name: str, dataset: str, data_dir: str, device: str, steps: int,
                 smoke: bool = False) -> dict:
    """``name``'s eager and captured rows (in a process of its own); a smoke run trains
    networks of width 8 on batches of 8, not the method's own (the translation methods' full
    widths take 12-17 s a step on a CPU core)."""
    from ganforge.configure import configure

    small = {"batch_size": 8, "width": 8} if smoke else {}

    if name in SYNC_PROBES:
        mode = SYNC_PROBES[name]
        cfg = configure(method="dcgan", dataset=dataset, data_dir=data_dir, device=device,
                        steps=10**6, cuda_graphs=mode, **{**PAPER_DCGAN, **small})
        try:
            row = _train_steps(cfg, steps, patch=_reads_a_loss_on_the_host)
        except Exception as e:  # the strict probe is expected to stop
            row = {"error": _one_line(e)}
        return {"method": name, "dataset": dataset, "probe": row}
    result = {"method": name, "dataset": dataset}
    for mode, graphs in (("eager", False), ("captured", True)):
        if graphs and device == "cpu":
            result[mode] = {"skipped": "CUDA graphs need a CUDA device"}
            continue
        cfg = configure(method=name, dataset=dataset, data_dir=data_dir, device=device,
                                   steps=10**6, cuda_graphs=graphs, seed=0, **small)
        try:
            result[mode] = _train_steps(cfg, steps)
        except Exception as e:  # every method is reported, whatever one does
            result[mode] = {"error": _one_line(e)}
    return result


def check_methods(args, budget: Budget, log) -> list[dict]:
    from ganforge.methods import METHODS

    names = sorted(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = sorted(set(names) - set(METHODS))
    if unknown:
        raise SystemExit(f"gpu_check: unknown methods {', '.join(unknown)}")
    jobs = [(m, METHOD_DATA[m]) for m in names]
    jobs += [(probe, "mnist") for probe in SYNC_PROBES]

    def one(job):
        name, dataset = job
        cmd = [sys.executable, __file__, "--check-method", name, dataset, "--data-dir",
               args.data_dir, "--device", args.device, "--method-steps",
               str(budget.method_steps)] + (["--smoke"] if budget.smoke else [])
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.method_timeout)
        except subprocess.TimeoutExpired:
            return {"method": name, "error": f"timed out after {args.method_timeout} s"}
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines:
            return json.loads(lines[-1])
        # The last line names the error; the whole stderr goes to the log.
        log(f"{name} stderr:\n{done.stderr.strip()[-3000:]}")
        return {"method": name, "error": (done.stderr.strip() or "no output").splitlines()[-1]}

    rows = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for row in pool.map(one, jobs):
            log(json.dumps(row, default=str))
            rows.append(row)
    log(methods_table(rows))
    return rows


def methods_table(rows: list[dict]) -> str:
    """Method x (eager ok, captured ok, why not) as Markdown."""

    def ok(cell: dict | None) -> str:
        if not cell:
            return "-"
        if "error" in cell:
            return "error"
        if "skipped" in cell:
            return "skipped"
        good = cell["finite"] and cell["moved"]
        return f"{'ok' if good else 'BAD'} ({cell['ms_per_step']:.1f} ms/step)"

    lines = ["| method | data | eager | captured | graph replayed | why not / error |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "probe" in r:
            p = r["probe"]
            lines.append(f"| {r['method']} | {r['dataset']} | | {ok(p)} | "
                         f"{p.get('captured', '-')} | {p.get('error') or p.get('why_not') or ''} |")
            continue
        eager, cap = r.get("eager"), r.get("captured")
        why = (r.get("error") or (cap or {}).get("error") or (cap or {}).get("why_not")
               or (cap or {}).get("skipped") or (eager or {}).get("error") or "")
        lines.append(f"| {r['method']} | {r.get('dataset', '')} | {ok(eager)} | {ok(cap)} | "
                     f"{(cap or {}).get('captured', '-')} | {why} |")
    return "\n".join(lines)


# ---- 2. the reference scripts ------------------------------------------------------------------


def reference(args, budget: Budget, log) -> dict:
    import reference_cgan
    import reference_dcgan
    import reference_gan
    import reference_wgan_gp

    figures = {}
    loops = (("dcgan.py", reference_dcgan.parser, reference_dcgan.ReferenceLoop),
             ("gan.py", reference_gan.parser, reference_gan.gan_loop),
             ("cgan.py", reference_cgan.parser, reference_cgan.ConditionalLoop),
             ("wgan_gp.py", reference_wgan_gp.parser, reference_wgan_gp.CriticLoop))
    for name, parser, loop in loops:
        opt = parser.parse_args(["--data-dir", str(Path(args.data_dir) / "mnist")])
        with open(os.devnull, "w") as quiet:  # its per-batch print (and .item() syncs) stay
            batches = loop(opt, opt.data_dir, log=quiet).batches()
            reference_dcgan.time_batches(batches, budget.ref_warmup)
            images, seconds = reference_dcgan.time_batches(batches, budget.ref_batches)
        figures[name] = images / seconds
        log(f"reference {name}: {figures[name]:,.0f} images/s end to end")
    return figures


# ---- 3. throughput -----------------------------------------------------------------------------


def throughput(args, budget: Budget, log) -> dict:
    from ganforge.training.bench import run_benchmarks

    results = {}
    small, large = budget.bench_batches
    every = [(False, "fp32", [small, large]), (True, "fp32", [small, large]),
             (True, "bf16", [large])]
    # The references' own networks (MLPs for gan.py, cgan.py and wgan_gp.py; dcgan.py at
    # 32 px), then cgan's and wgan-gp's default conv backbone at the references' batch.
    plans = [("mlp-28", ["gan"], None, {}, every),
             ("mlp-28", ["cgan", "wgan-gp"], None, {"arch": "mlp"}, every),
             ("dcgan-32", ["dcgan"], 32, PAPER_DCGAN_NETS, every),
             ("conv-28", ["cgan", "wgan-gp"], None, {}, [(False, "fp32", [small]),
                                                          (True, "fp32", [small])])]
    for label, methods, size, overrides, modes in plans:
        for graphs, precision, batches in modes:
            if graphs and args.device == "cpu":
                continue
            key = f"{label}-{'graph' if graphs else 'eager'}-{precision}"
            with contextlib.redirect_stdout(sys.stderr):  # its table: the log has the figures
                found = run_benchmarks(methods, batches, dataset="mnist", data_dir=args.data_dir,
                                       image_size=size, device=args.device, precision=precision,
                                       cuda_graphs=graphs, overrides=overrides, **budget.bench)
            results.setdefault(key, []).extend(r.to_dict() for r in found)
            for r in found:
                log(f"{key} {r.method} batch {r.batch_size}: {r.images_per_s:,.0f} images/s, "
                    f"{r.flops_per_image / 1e6:.1f} MFLOP/image, {r.gflops_per_s:,.0f} GFLOP/s "
                    f"(captured: {r.cuda_graph})")
    return results


# ---- 4-6. training runs and their samples --------------------------------------------------------


class Scorer:
    """MNIST-FID, confident share and class KL of a run's samples against the MNIST test set."""

    def __init__(self, args, budget: Budget) -> None:
        from ganforge.inference.sources import load_source
        from ganforge.metrics.evaluate import Evaluator

        self.n = budget.n_eval
        self.device = args.device
        self.evaluator = Evaluator("mnist-fid,mnist-classes", device=torch.device(args.device))
        self.real = load_source("mnist:test", self.n, data_dir=args.data_dir, image_size=28)

    def __call__(self, run_dir: Path) -> dict:
        from ganforge.inference.sources import load_source

        fake = load_source(run_dir, self.n, seed=0, device=self.device)
        values = self.evaluator(fake.images, self.real.images, self.real.id)
        return {k: values[k] for k in ("mnist_fid", "mnist_confident_share", "mnist_kl_uniform")}


def train_and_score(cfg, scorer: Scorer, log) -> tuple[dict, torch.Tensor]:
    """Train ``cfg``'s run; its figures and a grid of 64 of its samples."""
    import ganforge
    from ganforge.data import to_uint8
    from ganforge.training import Trainer
    from ganforge.viz import image_grid

    start = time.perf_counter()
    trainer = Trainer(cfg)
    trainer.fit()
    _sync(trainer.device)
    seconds = time.perf_counter() - start
    row = {"steps": trainer.step, "seconds": round(seconds, 1),
           "captured": trainer.replays_cuda_graph, **scorer(Path(cfg.out))}
    model = ganforge.load(cfg.out, device=scorer.device)
    grid = image_grid(to_uint8(model.sample(64, seed=0) * 2 - 1), nrow=8)
    log(json.dumps({"run": Path(cfg.out).name, **row}))
    return row, grid


def _dcgan(args, work: Path, name: str, **fields):
    from ganforge.configure import configure

    return configure(method="dcgan", dataset="mnist", data_dir=args.data_dir,
                     device=args.device, out=str(work / name), sample_every=10**9,
                     checkpoint_every=10**9, **{**PAPER_DCGAN, **fields})


def quality(args, budget: Budget, work: Path, out: Path, log) -> dict:
    from ganforge.viz import montage, save_image

    scorer = Scorer(args, budget)
    figures, grids = {}, []
    runs = [(f"{mode}-seed{seed}", mode == "captured", int(seed))
            for mode, seed in (r.split(":") for r in args.quality_runs.split(","))]
    for name, graphs, seed in runs:
        if graphs and args.device == "cpu":
            continue
        cfg = _dcgan(args, work, f"quality-{name}", steps=budget.quality_steps,
                     cuda_graphs=graphs, seed=seed)
        figures[name], grid = train_and_score(cfg, scorer, log)
        grids.append(grid)
    save_image(montage(grids, ncol=len(grids)), out / "quality_grids.png", 2)
    return figures


def epochs(args, budget: Budget, work: Path, out: Path, log) -> dict:
    from ganforge.viz import save_image

    scorer = Scorer(args, budget)
    cfg = _dcgan(args, work, "epochs", epochs=budget.epochs)
    row, grid = train_and_score(cfg, scorer, log)
    save_image(grid, out / f"dcgan_{budget.epochs:g}_epochs.png", 2)
    return {"epochs": budget.epochs, **row}


def sweep(args, budget: Budget, work: Path, out: Path, log) -> list[dict]:
    from ganforge.viz import montage, save_image

    scorer = Scorer(args, budget)
    rows, grids = [], []
    for batch in (64, 256, 1024):
        for rule in ("fixed", "sqrt") if batch > 64 else ("fixed",):
            lr = 2e-4 * ((batch / 64) ** 0.5 if rule == "sqrt" else 1.0)
            cfg = _dcgan(args, work, f"sweep-{batch}-{rule}", batch_size=batch, lr=lr,
                         steps=max(1, budget.sweep_images // batch), ema=0.5 ** (batch / 10_000))
            row, grid = train_and_score(cfg, scorer, log)
            rows.append({"batch": batch, "lr_rule": rule, "lr": lr, **row})
            grids.append(grid)
    save_image(montage(grids, ncol=len(grids)), out / "sweep_grids.png", 2)
    return rows


# ---- the run -------------------------------------------------------------------------------------


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def environment(device: str) -> dict:
    info = {"torch": torch.__version__, "python": sys.version.split()[0], "device": device}
    if device != "cpu":
        info.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version(),
                    capability=".".join(map(str, torch.cuda.get_device_capability())))
    return info


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--out", default="gpu-check", help="JSON, log and pictures (at most 8 files)")
    p.add_argument("--work", default=None, help="run directories (default: a temporary folder)")
    p.add_argument("--device", default="cuda", help="cuda, or cpu with --smoke")
    p.add_argument("--smoke", action="store_true",
                   help="a few steps of every part, to check the script itself")
    p.add_argument("--parts", default=",".join(DEFAULT_PARTS),
                   help=f"comma-separated, of: {', '.join(PARTS)} (default: all but sweep)")
    p.add_argument("--methods", default=None,
                   help="comma-separated methods the methods part checks (default: all; with "
                   f"--smoke: {SMOKE_METHODS}, one for each kind of data)")
    p.add_argument("--jobs", type=int, default=6, help="methods checked at once")
    p.add_argument("--method-steps", type=int, default=20)
    p.add_argument("--method-timeout", type=int, default=240)
    p.add_argument("--quality-steps", type=int, default=3000)
    p.add_argument("--quality-runs", default="eager:0,eager:1,captured:0",
                   help="the quality part's DCGAN runs, MODE:SEED with MODE eager or captured")
    p.add_argument("--epochs", type=float, default=20)
    p.add_argument("--sweep-images", type=int, default=640_000)
    p.add_argument("--check-method", nargs=2, metavar=("METHOD", "DATASET"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.methods = args.methods or (SMOKE_METHODS if args.smoke else "all")
    unknown = set(args.parts.split(",")) - set(PARTS)
    if unknown:
        p.error(f"unknown parts {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    if args.device == "cpu" and not args.smoke:
        p.error("the GPU checks need --device cuda; --device cpu is for --smoke")
    if args.device != "cpu" and not torch.cuda.is_available():
        p.error("no CUDA device; this script checks the GPU path (use --smoke --device cpu)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    budget = Budget(args.smoke, args)
    if args.check_method:
        name, dataset = args.check_method
        print(json.dumps(check_method(name, dataset, args.data_dir, args.device,
                                      budget.method_steps, args.smoke), default=str))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu-check-"))
    lines: list[str] = []

    def log(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    report: dict = {"environment": environment(args.device), "smoke": args.smoke}
    log(json.dumps(report["environment"]))
    parts = {"methods": lambda: check_methods(args, budget, log),
             "reference": lambda: reference(args, budget, log),
             "throughput": lambda: throughput(args, budget, log),
             "quality": lambda: quality(args, budget, work, out, log),
             "epochs": lambda: epochs(args, budget, work, out, log),
             "sweep": lambda: sweep(args, budget, work, out, log)}
    failed = []
    for name in args.parts.split(","):
        start = time.perf_counter()
        try:
            report[name] = parts[name]()
        except Exception as e:  # one broken part must not cost the others' figures
            report[name] = {"error": _one_line(e)}
            failed.append(name)
            log(f"-- {name} FAILED: {_one_line(e)}")
        report.setdefault("seconds", {})[name] = round(time.perf_counter() - start, 1)
        log(f"-- {name} done in {time.perf_counter() - start:.0f} s")
        (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
        (out / "gpu_check.log").write_text("\n".join(lines) + "\n")
    if failed:
        log(f"failed parts: {','.join(failed)}")
        (out / "gpu_check.log").write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

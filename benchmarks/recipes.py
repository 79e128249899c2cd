"""Default recipes chosen by measurement: train candidate recipes of a task at the same CPU
budget, over seeds, and score them the same way (issue #22).

A *task* is a method on a data set with a CPU budget and a score:

* ``quickstart``: dcgan on digits (16 px), 80 s; the digits LeNet's confident share, class KL
  and digits-FID of 2,000 samples against the 1,500 train digits, and a second opinion from an
  SVC on 8x8 pixels;
* ``dcgan-mnist`` (300 s) and ``gan-mnist`` (160 s): the MNIST LeNet's MNIST-FID, confident share
  and class KL of 10,000 samples against the 10,000 test digits;
* ``cgan-mnist`` and ``acgan-mnist`` (300 s): requested-class accuracy (1,000 per class), and as
  dcgan-mnist;
* ``infogan-mnist`` (720 s): the categorical code matched to the classes (Hungarian), 10,000
  samples.

``run`` trains one recipe on this machine, bounded by the budget in seconds (``--time-limit``:
what a user of a 2-core CPU gets) or by a number of steps::

    python benchmarks/recipes.py run --task quickstart --seeds 0,1,2 --device cpu
    python benchmarks/recipes.py run --task dcgan-mnist --set ema=0.999 --set augment=translation

``plan`` writes a random search over a task's candidate space as a JSON plan, each candidate's
steps set from a table of measured CPU ms/step (``--costs``, JSON lines of ``cost`` rows), so
every candidate gets the same CPU budget; ``sweep`` runs a plan on a GPU, ``--workers``
processes sharing it, until ``--deadline`` seconds, writing ``results.jsonl``::

    python benchmarks/recipes.py cost --out costs.jsonl          # on the 2-core CPU
    python benchmarks/recipes.py plan --costs costs.jsonl --out plan.json
    python benchmarks/recipes.py sweep --plan plan.json --out OUT --workers 8 --deadline 330
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from paper_dcgan import PAPER_DCGAN  # noqa: E402

DEFAULT_DATA = str(HERE.parent.parent / "shared" / "data")


@dataclass(frozen=True)
class Task:
    method: str
    dataset: str
    budget_s: float
    score: str  # "digits", "mnist", "conditional"
    # Fields under every recipe: the sweep of dcgan-mnist searched around the paper's nets,
    # DCGAN's MNIST default until 2026-12-06.
    base: tuple[tuple[str, object], ...] = ()


TASKS = {
    "quickstart": Task("dcgan", "digits", 80, "digits"),
    "dcgan-mnist": Task("dcgan", "mnist", 300, "mnist", tuple(PAPER_DCGAN.items())),
    "gan-mnist": Task("gan", "mnist", 160, "mnist"),
    "cgan-mnist": Task("cgan", "mnist", 300, "conditional"),
    "acgan-mnist": Task("acgan", "mnist", 300, "conditional"),
    "infogan-mnist": Task("infogan", "mnist", 720, "conditional"),
}

# Candidate spaces of the random search; each key is a TrainConfig field (or a method option).
SPACES = {
    "dcgan": {
        "width": [32, 64, 128], "batch_size": [32, 64, 128],
        "lr_g": [1e-4, 2e-4, 5e-4, 1e-3], "d_over_g": [0.5, 1, 2, 4], "beta1": [0.5, 0.0],
        "ema": [None, 0.99, 0.995, 0.999],
        "augment": [None, "translation", "translation,cutout", "color,translation,cutout"],
        "game": ["gan/batch", "hinge/spectral", "gan/spectral", "gan/none"],
        "label_smoothing": [0.0, 0.1],
    },
    "gan": {
        "batch_size": [32, 64, 128], "lr_g": [1e-4, 2e-4, 5e-4, 1e-3], "d_over_g": [0.5, 1, 2],
        "beta1": [0.5, 0.0], "ema": [None, 0.99, 0.999], "label_smoothing": [0.0, 0.1],
    },
    "conditional": {
        "lr_g": [1e-4, 2e-4, 5e-4], "d_over_g": [0.5, 1, 2], "ema": [None, 0.99, 0.999],
        "augment": [None, "translation", "translation,cutout"], "batch_size": [32, 64, 128],
    },
    "cgan": {
        "lr_g": [1e-4, 2e-4, 5e-4], "d_over_g": [0.5, 1, 2], "ema": [None, 0.99, 0.999],
        "augment": [None, "translation", "translation,cutout"], "batch_size": [32, 64, 128],
        "d_cond": ["concat", "projection"],
    },
    "infogan": {
        "lr_g": [5e-4, 1e-3, 2e-3], "lr_d": [1e-4, 2e-4, 4e-4], "ema": [None, 0.99, 0.999],
        "batch_size": [32, 64, 128],
    },
}
SPACE_OF = {"quickstart": "dcgan", "dcgan-mnist": "dcgan", "gan-mnist": "gan",
            "cgan-mnist": "cgan", "acgan-mnist": "conditional",
            "infogan-mnist": "infogan"}


def config_fields(task: Task, recipe: dict) -> dict:
    """Config fields from a recipe's knobs (``game`` is loss/d_norm, ``d_over_g`` the ratio of
    D's learning rate to G's); the method's own settings among them."""
    fields = dict(recipe)
    if "game" in fields:
        fields["loss"], fields["d_norm"] = fields.pop("game").split("/")
    if "d_over_g" in fields:
        fields["lr_d"] = fields["lr_g"] * fields.pop("d_over_g")
    if fields.get("loss", "gan") != "gan":  # smoothing is of the sigmoid losses' real target
        fields.pop("label_smoothing", None)
    return fields


# ---- training and scoring ----------------------------------------------------------------------


class Scorer:
    """The task's figures for a finished run directory (networks built once per process)."""

    def __init__(self, data_dir: str, device: str) -> None:
        self.data_dir, self.device = data_dir, device
        self._evaluators: dict = {}
        self._real: dict = {}
        self._svc = None

    def _evaluator(self, metrics: str, real_spec: str, size: int):
        from ganforge.inference.sources import load_source
        from ganforge.metrics.evaluate import Evaluator

        if metrics not in self._evaluators:
            self._evaluators[metrics] = Evaluator(metrics, device=torch.device(self.device))
            self._real[metrics] = load_source(real_spec, 10_000, data_dir=self.data_dir,
                                              image_size=size)
        return self._evaluators[metrics], self._real[metrics]

    def __call__(self, task: Task, run_dir: Path) -> dict:
        from ganforge.inference.sources import load_source

        if task.score == "digits":
            evaluator, real = self._evaluator("digits-fid,digits-classes", "digits", 16)
            fake = load_source(run_dir, 2000, seed=0, device=self.device).images
            values = evaluator(fake, real.images, real.id)
            return {"fid": values["digits_fid"],
                    "confident": values["digits_confident_share"],
                    "kl": values["digits_kl_uniform"], **self.independent_digits(fake)}
        evaluator, real = self._evaluator("mnist-fid,mnist-classes", "mnist:test", 28)
        fake = load_source(run_dir, 10_000, seed=0, device=self.device).images
        values = evaluator(fake, real.images, real.id)
        row = {"fid": values["mnist_fid"], "confident": values["mnist_confident_share"],
               "kl": values["mnist_kl_uniform"]}
        if task.score == "conditional":
            import conditional

            row["accuracy"] = conditional.evaluate(str(run_dir), 10_000, 0, self.device)[
                "accuracy"]
        return row

    def independent_digits(self, images: torch.Tensor) -> dict:
        """A second opinion from a classifier that shares nothing with the digits LeNet: an RBF
        SVC with Platt probabilities on the 8x8 pixels of all 1,797 digits, given the samples
        average-pooled back to 8x8."""
        import numpy as np
        from sklearn.datasets import load_digits
        from sklearn.svm import SVC

        from ganforge.metrics.domain import kl_to_uniform

        if self._svc is None:
            digits = load_digits()
            self._svc = SVC(gamma=0.001, probability=True, random_state=0).fit(
                digits.data, digits.target)
        x = torch.nn.functional.avg_pool2d(images.float().cpu() / 255.0 * 16.0, 2)
        p = self._svc.predict_proba(x.flatten(1).numpy())
        counts = np.bincount(p.argmax(1), minlength=10)
        return {"svc_confident": float((p.max(1) >= 0.9).mean()), "svc_kl": kl_to_uniform(counts)}


_DATA: dict = {}


def train_and_score(task_name: str, fields: dict, seed: int, device: str, data_dir: str,
                    scorer: Scorer, work: Path, steps: int | None = None,
                    time_limit: float | None = None) -> dict:
    from ganforge.configure import configure
    from ganforge.training import Trainer

    task = TASKS[task_name]
    run = Path(tempfile.mkdtemp(prefix=f"{task_name}-", dir=work))
    limit = {"steps": steps} if steps else {"steps": 10**7, "time_limit": time_limit}
    fields = {**dict(task.base), **fields}
    cfg = configure(method=fields.pop("method", task.method), dataset=task.dataset,
                    data_dir=data_dir, device=device, seed=seed, out=str(run),
                    sample_every=10**9, checkpoint_every=10**9, **limit, **fields)
    start = time.perf_counter()
    if task.dataset not in _DATA:  # decoded once per process, not once per run
        from ganforge.data import load_training_data

        _DATA[task.dataset] = load_training_data(task.dataset, data_dir=data_dir)
    trainer = Trainer(cfg, dataset=_DATA[task.dataset])
    trainer.fit()
    seconds = time.perf_counter() - start
    row = {"task": task_name, "fields": fields, "seed": seed, "steps": trainer.step,
           "seconds": round(seconds, 1), **scorer(task, run)}
    for f in run.iterdir():  # keep nothing but the figures
        if f.is_file():
            f.unlink()
    return row


# ---- CPU costs and the plan -------------------------------------------------------------------


def measure_cost(task_name: str, fields: dict, data, steps: int = 8, repeats: int = 3) -> float:
    """CPU ms per training step of a recipe: median of ``repeats`` windows after warm-up."""
    from ganforge.configure import configure
    from ganforge.training import Trainer

    task = TASKS[task_name]
    cfg = configure(method=task.method, dataset=task.dataset, device="cpu", seed=0,
                    steps=10**6, **{**dict(task.base), **fields})
    trainer = Trainer(cfg, dataset=data)
    trainer.method.train()
    for _ in range(3):
        trainer.train_step()
    windows = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        trainer.flush_logs()
        windows.append((time.perf_counter() - start) / steps)
    return 1e3 * statistics.median(windows)


# A recipe's CPU cost is modelled as base(width, batch size) x factor(game) x factor(augment):
# the base is measured over the width x batch grid, each factor once at the default width and
# batch against the space's first value (learning rates and EMA cost nothing measurable).
SIZE_KEYS = ("width", "batch_size")
FACTOR_KEYS = ("game", "augment")


def cost_recipes(task_name: str) -> list[dict]:
    """The recipes whose costs make up the task's cost model."""
    space = SPACES[SPACE_OF[task_name]]
    recipes = [{}]
    for key in (k for k in SIZE_KEYS if k in space):
        recipes = [{**r, key: v} for r in recipes for v in space[key]]
    for key in (k for k in FACTOR_KEYS if k in space):
        recipes += [{key: v} for v in space[key]]
    return recipes


def cost_key(task_name: str, recipe: dict) -> str:
    return json.dumps([task_name, sorted(recipe.items())])


def modelled_cost(costs: dict[str, float], task_name: str, recipe: dict) -> float:
    """CPU ms/step of ``recipe`` from the measured table (see ``cost_recipes``)."""
    from ganforge.configure import configure

    space = SPACES[SPACE_OF[task_name]]
    defaults = configure(method=TASKS[task_name].method).to_dict()
    size = {k: recipe.get(k, defaults[k]) for k in SIZE_KEYS if k in space}
    ms = costs[cost_key(task_name, size)]
    for key in (k for k in FACTOR_KEYS if k in space and k in recipe):
        # Relative to the space's first value (the method's own: gan/batch, no augmentation).
        reference = costs[cost_key(task_name, {key: space[key][0]})]
        ms *= costs[cost_key(task_name, {key: recipe[key]})] / reference
    return ms


def plan(costs: dict[str, float], per_task: dict[str, int], seeds: list[int],
         seed: int = 0) -> list[dict]:
    """Random candidates of each task (its default first), steps from the CPU cost table."""
    rng = random.Random(seed)
    entries = []
    for task_name, count in per_task.items():
        space = SPACES[SPACE_OF[task_name]]
        candidates = [{}]
        while len(candidates) < count:
            recipe = {k: rng.choice(v) for k, v in space.items()}
            if recipe not in candidates:
                candidates.append(recipe)
        for i, recipe in enumerate(candidates):
            steps = int(TASKS[task_name].budget_s * 1e3 / modelled_cost(costs, task_name,
                                                                         recipe))
            fields = config_fields(TASKS[task_name], recipe)
            entries += [{"task": task_name, "candidate": i, "recipe": recipe, "fields": fields,
                         "steps": steps, "seed": s} for s in seeds]
    # Interleave the tasks so a deadline cuts every task alike.
    entries.sort(key=lambda e: (e["seed"], e["candidate"], e["task"]))
    return entries


# ---- the commands --------------------------------------------------------------------------------


def cmd_run(args) -> None:
    task = TASKS[args.task]
    fields = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        try:
            fields[key] = json.loads(value)
        except json.JSONDecodeError:  # a word, e.g. two-head
            fields[key] = value
    method = fields.pop("method", None)
    fields = config_fields(replace(task, method=method or task.method), fields)
    if method:
        fields["method"] = method
    scorer = Scorer(args.data_dir, args.device)
    work = Path(tempfile.mkdtemp(prefix="recipes-"))
    limit = args.time_limit or (None if args.steps else task.budget_s)
    for seed in map(int, args.seeds.split(",")):
        row = train_and_score(args.task, fields, seed, args.device, args.data_dir, scorer,
                              work, steps=args.steps, time_limit=limit)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


def cmd_cost(args) -> None:
    from ganforge.data import load_dataset

    torch.set_num_threads(args.threads)
    tasks = args.tasks.split(",")
    data = {}
    with open(args.out, "a") as out:
        for task_name in tasks:
            task = TASKS[task_name]
            if task.dataset not in data:
                data[task.dataset] = load_dataset(task.dataset, data_dir=args.data_dir,
                                                  image_size=16 if task.dataset == "digits"
                                                  else None)
            for recipe in cost_recipes(task_name):
                ms = measure_cost(task_name, config_fields(task, {
                    "lr_g": 2e-4, "d_over_g": 1, **recipe}), data[task.dataset])
                row = {"cost": cost_key(task_name, recipe), "ms_per_step": round(ms, 2)}
                print(json.dumps(row), flush=True)
                out.write(json.dumps(row) + "\n")
                out.flush()


def cmd_plan(args) -> None:
    costs = {}
    for line in Path(args.costs).read_text().splitlines():
        row = json.loads(line)
        costs[row["cost"]] = row["ms_per_step"]
    per_task = {k: int(v) for k, v in (p.split("=") for p in args.candidates.split(","))}
    entries = plan(costs, per_task, [int(s) for s in args.seeds.split(",")], args.seed)
    Path(args.out).write_text(json.dumps(entries, indent=0))
    print(f"{len(entries)} runs in {args.out}")


def cmd_worker(args) -> None:
    entries = json.loads(Path(args.plan).read_text())[args.index :: args.of]
    scorer = Scorer(args.data_dir, args.device)
    work = Path(tempfile.mkdtemp(prefix="sweep-"))
    for entry in entries:
        if time.time() > args.deadline:
            break
        try:
            row = train_and_score(entry["task"], entry["fields"], entry["seed"], args.device,
                                  args.data_dir, scorer, work, steps=entry["steps"])
        except Exception as e:  # one failing recipe must not stop the others
            row = {"task": entry["task"], "fields": entry["fields"], "seed": entry["seed"],
                   "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
        print(json.dumps({"candidate": entry["candidate"], "recipe": entry["recipe"], **row}),
              flush=True)


def cmd_sweep(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + args.deadline
    results = out / "results.jsonl"
    lock = threading.Lock()
    procs = [subprocess.Popen([sys.executable, __file__, "worker", "--plan", args.plan,
                               "--index", str(i), "--of", str(args.workers), "--deadline",
                               str(deadline), "--device", args.device, "--data-dir",
                               args.data_dir], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL if not args.verbose else None, text=True)
             for i in range(args.workers)]

    def collect(proc) -> None:
        for line in proc.stdout:
            if line.startswith("{"):
                with lock, open(results, "a") as f:
                    f.write(line)

    threads = [threading.Thread(target=collect, args=(p,)) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    print(f"{len(rows)} runs, {sum('error' in r for r in rows)} failed")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--task", required=True, choices=sorted(TASKS))
    r.add_argument("--set", action="append", metavar="FIELD=VALUE")
    r.add_argument("--seeds", default="0")
    r.add_argument("--steps", type=int)
    r.add_argument("--time-limit", type=float)
    r.add_argument("--out")
    c = sub.add_parser("cost")
    c.add_argument("--tasks", default=",".join(TASKS))
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--out", required=True)
    pl = sub.add_parser("plan")
    pl.add_argument("--costs", required=True)
    pl.add_argument("--candidates", default="quickstart=40,dcgan-mnist=30,cgan-mnist=12,"
                    "acgan-mnist=12,infogan-mnist=8,gan-mnist=10")
    pl.add_argument("--seeds", default="0,1")
    pl.add_argument("--seed", type=int, default=0)
    pl.add_argument("--out", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--plan", required=True)
    w.add_argument("--index", type=int, required=True)
    w.add_argument("--of", type=int, required=True)
    w.add_argument("--deadline", type=float, required=True)
    s = sub.add_parser("sweep")
    s.add_argument("--plan", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--workers", type=int, default=8)
    s.add_argument("--deadline", type=float, default=300, help="seconds")
    s.add_argument("--verbose", action="store_true")
    for q in (r, c, w, s):
        q.add_argument("--data-dir", default=DEFAULT_DATA)
    for q in (r, w, s):
        q.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)
    {"run": cmd_run, "cost": cmd_cost, "plan": cmd_plan, "worker": cmd_worker,
     "sweep": cmd_sweep}[args.command](args)


if __name__ == "__main__":
    main()

"""Do other classifiers read a run's samples as the packaged one does?

The confident share and class KL that `ganforge train` prints, and that RESULTS.md reports, come
from one classifier per data set (a LeNet). A figure that only one network agrees with may be
that network's quirk, and issue #22's figures are re-checked with other classifiers. This
script scores the same samples with several judges that share nothing with the packaged LeNets
(other model families, trained here on the same training split) and with the packaged one, and
scores the held-out real digits with each, so every judge's figure can be read against its own
figure for real data; for cgan, acgan and infogan runs also the share of samples each judge
reads as the class that was asked for (InfoGAN: its categorical code, matched to the classes):

- MNIST (28 px): k-nearest neighbours (k=10) on 50 principal components, a random forest and
  multinomial logistic regression on the pixels, and a small CNN (two 3x3 convolutions, max
  pooling, dropout: the Keras MNIST example's shape at half its width) trained for 2 epochs;
- scikit-learn's digits (16 px runs, as the quick start): the same families on the 8x8 pixels
  the data came as (samples average-pooled back to 8x8), trained on the 1,500 training digits
  only (RESULTS.md's earlier SVC saw all 1,797, the 297 test digits too), plus that RBF SVC.

A judge's probability for "confident" (>= 0.9, as the packaged metric) is its own: the share of
the 10 neighbours that agree, the share of trees, the softmax. So the useful figure is the ratio
of the samples' share to the real digits' share under the same judge (the issue's quick-start
bar is this ratio >= 90% for the packaged classifier).

    python benchmarks/independent_judges.py RUN [RUN ...] --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import conditional
import numpy as np
import torch
from torch import nn

import ganforge
from ganforge.data import load_dataset, to_uint8
from ganforge.inference.sources import run_data
from ganforge.metrics.class_scores import class_histogram, kl_to_uniform
from ganforge.metrics.domain import DigitsClassifierExtractor, MNISTClassifierExtractor
from ganforge.metrics.sources import sample_uint8

THRESHOLD = 0.9


def small_cnn(size: int) -> nn.Module:
    flat = 32 * ((size - 4) // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


class CNNJudge:
    """The small CNN, trained with Adam on pixels in [0, 1] (its own seed, its own init)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, epochs: int, seed: int = 1):
        torch.manual_seed(seed)
        self.net = small_cnn(images.shape[-1])
        opt = torch.optim.Adam(self.net.parameters(), 1e-3)
        x, y = images.float() / 255, labels.long()
        self.net.train()
        for _ in range(epochs):
            order = torch.randperm(len(x))
            for i in range(0, len(x), 128):
                idx = order[i : i + 128]
                loss = nn.functional.cross_entropy(self.net(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        self.net.eval()

    @torch.no_grad()
    def predict_proba(self, images: torch.Tensor) -> np.ndarray:
        x = images.float() / 255
        return torch.cat([self.net(x[i : i + 1000]).softmax(1)
                          for i in range(0, len(x), 1000)]).numpy()


class PixelJudge:
    """A scikit-learn classifier on flattened pixels (optionally average-pooled first)."""

    def __init__(self, model, images: torch.Tensor, labels: torch.Tensor, pool: int = 1):
        self.model, self.pool = model, pool
        self.model.fit(self.pixels(images), labels.numpy())

    def pixels(self, images: torch.Tensor) -> np.ndarray:
        x = images.float() / 255
        if self.pool > 1:
            x = nn.functional.avg_pool2d(x, self.pool)
        return x.flatten(1).numpy()

    def predict_proba(self, images: torch.Tensor) -> np.ndarray:
        return self.model.predict_proba(self.pixels(images))


class PackagedJudge:
    def __init__(self, extractor) -> None:
        self.extractor = extractor

    def predict_proba(self, images: torch.Tensor) -> np.ndarray:
        return self.extractor.features(images)["logits"].softmax(1).numpy()


def build_judges(dataset: str, data_dir: str | None, cnn_epochs: int | None = None
                 ) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """The judges for ``dataset``, its held-out real images (uint8, the run's size) and their
    labels. ``cnn_epochs``: 2 for MNIST, 100 for the 1,500 digits unless given."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    train = load_dataset(dataset, data_dir=data_dir, split="train")
    test = load_dataset(dataset, data_dir=data_dir, split="test")
    x, y = train.images, train.labels
    pool = 2 if dataset == "digits" else 1  # digits: back to the 8x8 they came as
    forest = RandomForestClassifier(200, n_jobs=-1, random_state=0)
    judges = {
        "packaged LeNet": PackagedJudge(DigitsClassifierExtractor() if dataset == "digits"
                                        else MNISTClassifierExtractor()),
        "10-NN": PixelJudge(make_pipeline(PCA(50, random_state=0), KNeighborsClassifier(10))
                            if dataset == "mnist" else KNeighborsClassifier(10), x, y, pool),
        "random forest": PixelJudge(forest, x, y, pool),
        "logistic regression": PixelJudge(LogisticRegression(C=0.05 if dataset == "mnist"
                                                             else 1.0, max_iter=500),
                                          x, y, pool),
        "small CNN": CNNJudge(x, y, cnn_epochs or (2 if dataset == "mnist" else 100)),
    }
    if dataset == "digits":
        # Platt-scaled, as SVC(probability=True) was; gamma as recipes.py's, for pixels in [0, 1]
        svc = CalibratedClassifierCV(SVC(gamma=16**2 * 0.001), method="sigmoid", ensemble=False)
        judges["RBF SVC"] = PixelJudge(svc, x, y, pool)
    return judges, test.images, test.labels


def samples(run: str, n: int):
    """``n`` uint8 samples of ``run`` (its EMA G where it kept one), and for cgan, acgan and
    infogan runs the scorer of a judge's predictions against what was asked for (requested
    classes, or InfoGAN's categorical code matched to the classes) and its name."""
    model = ganforge.load(run, device="cpu")
    if model.num_classes or hasattr(model.method, "codes"):
        with torch.no_grad():
            images, agreement, kind = conditional.conditioned_samples(model, n, seed=0)
        return to_uint8(images * 2 - 1), agreement, kind
    return sample_uint8(model.method, n, seed=0), None, None


def figures(proba: np.ndarray) -> dict:
    # A probability's argmax is its logit's, so the packaged histogram reads either.
    return {"confident": float((proba.max(1) >= THRESHOLD).mean()),
            "kl": kl_to_uniform(class_histogram(proba))}


def read_real(judges: dict, real: torch.Tensor, labels: torch.Tensor) -> dict:
    """Each judge's accuracy and figures on the held-out real images: the same for every run of
    the data set, so read once."""
    reading = {}
    for name, judge in judges.items():
        proba = judge.predict_proba(real)
        reading[name] = (float((proba.argmax(1) == labels.numpy()).mean()), figures(proba))
    return reading


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run directories (MNIST or digits runs)")
    p.add_argument("--data-dir", default=None, help="where MNIST is (for MNIST runs)")
    p.add_argument("--n", type=int, default=None,
                   help="samples per run (default: 10,000 for MNIST, 2,000 for digits)")
    p.add_argument("--out", default=None, help="append one JSON row per run and judge here")
    a = p.parse_args()
    cache: dict = {}
    for run in a.runs:
        info = run_data(run)
        dataset = info["dataset"]
        if dataset not in ("mnist", "digits"):
            raise SystemExit(f"{run} trained on {dataset}: this script judges MNIST and digits "
                             "runs")
        if dataset not in cache:
            t0 = time.time()
            judges, real, labels = build_judges(dataset, a.data_dir or info["data_dir"])
            cache[dataset] = judges, len(real), read_real(judges, real, labels)
            print(f"{dataset}: judges trained in {time.time() - t0:.0f} s")
        judges, n_real, real_reading = cache[dataset]
        n = a.n or (10_000 if dataset == "mnist" else 2000)
        fake, agreement, kind = samples(run, n)
        print(f"\n{run} ({n} samples; real: {n_real} held-out {dataset} test images)")
        print(f"  {'judge':<22}{'accuracy':>9}{'real conf.':>12}{'samples':>9}{'ratio':>7}"
              f"{'real KL':>9}{'KL':>7}" + (f"  {kind}" if kind else ""))
        for name, judge in judges.items():
            p_fake = judge.predict_proba(fake)
            acc, r = real_reading[name]
            f = figures(p_fake)
            if agreement:
                f["agreement"] = agreement(torch.as_tensor(p_fake.argmax(1)))["accuracy"]
            print(f"  {name:<22}{acc:>9.3f}{r['confident']:>12.3f}{f['confident']:>9.3f}"
                  f"{f['confident'] / r['confident']:>7.2f}{r['kl']:>9.3f}{f['kl']:>7.3f}"
                  + (f"  {f['agreement']:.3f}" if agreement else ""))
            if a.out:
                row = {"run": str(Path(run).resolve()), "dataset": dataset, "n": n,
                       "judge": name, "judge_accuracy": acc, "real": r, "samples": f,
                       **({"agreement_measure": kind} if kind else {})}
                with open(a.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

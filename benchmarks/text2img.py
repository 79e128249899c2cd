"""Does text2img draw what the caption says? Trains GAN-INT-CLS on captioned-mnist for a time
budget (or loads a run) and measures, on the test split's captions:

- **digit accuracy**: one sample per held-out (test image, caption) pair, classified by the
  packaged MNIST LeNet (99.5% on the MNIST test set); the share read as the caption's digit.
- **attribute control**: for each attribute, digit and noise vector z, the two captions that
  differ only in that word ("a thick four" vs "a thin four", "a large four" vs "a small four",
  "a slanted four" vs "a four slanted left") drawn with the same z; the rate at which the first
  measures higher (thickness, size, slant as defined in ganforge.data.captions), and the share
  of each caption's samples that fall in the bin it asked for (training-set thresholds).
- **diversity**: the mean distance between the LeNet features of 200 samples of "a four" (and
  each other digit) over the same for 200 real test fours: 1 is the data's variety.

It writes a captions x samples grid and text interpolations beside the figures:

    python benchmarks/text2img.py --seconds 600 --data-dir ../shared/data --out runs/t2i-bench
    python benchmarks/text2img.py --steps 1600 --seconds 3600 --data-dir ../shared/data
    python benchmarks/text2img.py --run runs/t2i-bench/run --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

import ganforge
from ganforge.configure import configure
from ganforge.data import load_dataset
from ganforge.data.captions import (
    ATTRIBUTES,
    DIGIT_NAMES,
    attribute_bins,
    digit_thresholds,
    measure_attributes,
)
from ganforge.errors import GanforgeError
from ganforge.metrics.domain import load_mnist_classifier, mnist_fid
from ganforge.training import Trainer
from ganforge.viz import save_image

# The caption pair of each attribute: (high word, low word) as captions of a digit.
PAIRS = {
    "thickness": ("a thick {}", "a thin {}"),
    "size": ("a large {}", "a small {}"),
    "slant": ("a slanted {}", "a {} slanted left"),
}
GRID_CAPTIONS = [f"a {d}" if d != "eight" else "an eight" for d in DIGIT_NAMES] + [
    "a thin four", "a thick four", "a small seven", "a large seven", "a two slanted left",
    "a slanted two", "a small thin upright three", "a large thick slanted three"]
INTERPOLATIONS = [("a thin four", "a thick four"), ("a two slanted left", "a slanted two"),
                  ("a one", "a seven"), ("a small zero", "a large zero")]


def train(seconds: float, steps: int | None, data_dir: str, out: Path, width: int,
          batch_size: int, ema: float | None, seed: int, method: str = "text2img",
          settings: dict | None = None) -> Path:
    cfg = configure(method=method, dataset="captioned-mnist", data_dir=data_dir, width=width,
                    batch_size=batch_size, steps=steps or 1_000_000, time_limit=seconds,
                    device="cpu", ema=ema or None, seed=seed, out=str(out / "run"),
                    sample_every=250, checkpoint_every=1000, **(settings or {}))
    return Trainer(cfg).fit()


@torch.no_grad()
def draw(model, z: torch.Tensor, tokens: torch.Tensor, batch: int = 500) -> torch.Tensor:
    return torch.cat([model.generate(z[i : i + batch], tokens[i : i + batch])
                      for i in range(0, len(z), batch)])


@torch.no_grad()
def digit_accuracy(model, classifier, data_dir: str, n: int, seed: int) -> dict:
    test = load_dataset("captioned-mnist", data_dir=data_dir, split="test")
    if tuple(test.vocabulary) != tuple(model.method.spec.vocabulary):
        raise SystemExit("the run's vocabulary is not captioned-mnist's")
    generator = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(test), generator=generator)[:n]
    k = torch.randint(test.captions.shape[1], (len(idx),), generator=generator)
    tokens = test.captions[idx, k]
    z = model.method.sample_latent(len(idx), generator)
    fakes = draw(model, z, tokens)
    predicted = classifier(fakes).argmax(1)
    correct = predicted == test.labels[idx]
    bare = (tokens != 0).sum(1) == 2  # "a seven": article and digit only
    examples = [test.caption_text(int(i), int(j)) for i, j in zip(idx[:5], k[:5], strict=True)]
    return {"digit_accuracy": correct.float().mean().item(),
            "digit_accuracy_bare_captions": correct[bare].float().mean().item(),
            "digit_accuracy_attribute_captions": correct[~bare].float().mean().item(),
            # Against the held-out images the captions describe, as many as the samples.
            "mnist_fid": mnist_fid(test.images[idx], fakes),
            "captions": len(idx), "example_captions": examples}


@torch.no_grad()
def attribute_control(model, classifier, thresholds: dict, per_digit: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed + 1)
    results = {}
    for attribute, (high, low) in PAIRS.items():
        wins, in_bin_high, in_bin_low, correct, differences = [], [], [], [], []
        for digit, name in enumerate(DIGIT_NAMES):
            z = model.method.sample_latent(per_digit, generator)
            tokens = model.text_condition([high.format(name), low.format(name)])
            images = {side: draw(model, z, tokens[i : i + 1].expand(per_digit, -1))
                      for i, side in enumerate(("high", "low"))}
            labels = torch.full((per_digit,), digit)
            value = {s: measure_attributes(x)[attribute] for s, x in images.items()}
            wins.append(value["high"] > value["low"])
            differences.append(value["high"] - value["low"])
            bins = {s: attribute_bins(v, labels, thresholds[attribute]) for s, v in value.items()}
            in_bin_high.append(bins["high"] == 2)
            in_bin_low.append(bins["low"] == 0)
            for x in images.values():
                correct.append(classifier(x).argmax(1) == digit)
        results[attribute] = {
            "pairs": per_digit * len(DIGIT_NAMES),
            "higher_rate": torch.cat(wins).float().mean().item(),
            "mean_difference": torch.cat(differences).mean().item(),
            "high_caption_in_high_bin": torch.cat(in_bin_high).float().mean().item(),
            "low_caption_in_low_bin": torch.cat(in_bin_low).float().mean().item(),
            "digit_accuracy": torch.cat(correct).float().mean().item(),
        }
    return results


@torch.no_grad()
def diversity(model, classifier, data_dir: str, per_digit: int, seed: int) -> dict:
    """The mean distance between the LeNet features of a bare caption's samples ("a four"),
    over the same for real test images of the digit: 1 is the data's variety, 0 one image."""
    test = load_dataset("mnist", data_dir=data_dir, split="test")
    generator = torch.Generator().manual_seed(seed + 2)

    def spread(images: torch.Tensor) -> float:
        f = classifier.features(images)
        return torch.cdist(f, f).sum().item() / (len(f) * (len(f) - 1))

    ratios = []
    for digit, name in enumerate(DIGIT_NAMES):
        z = model.method.sample_latent(per_digit, generator)
        article = "an" if name == "eight" else "a"
        fakes = draw(model, z, model.text_condition([f"{article} {name}"]).expand(per_digit, -1))
        ratios.append(spread(fakes) / spread(test.images[test.labels == digit][:per_digit]))
    return {"diversity_vs_real": sum(ratios) / len(ratios),
            "diversity_vs_real_per_digit": [round(r, 3) for r in ratios]}


@torch.no_grad()
def scales_picture(model, seed: int, captions=GRID_CAPTIONS[:10], per_caption: int = 3):
    """Every scale of a multi-stage G for the same noise, upscaled to full size: a row per
    caption, its samples' scales side by side (coarsest first). None for one stage."""
    n = len(captions) * per_caption
    z = model.method.sample_latent(n, torch.Generator().manual_seed(seed))
    tokens = model.text_condition(list(captions)).repeat_interleave(per_caption, 0)
    images, _ = model.G.stages(z.to(model.method.device), tokens)
    if len(images) < 2:
        return None
    size = images[-1].shape[-1]
    scaled = [torch.nn.functional.interpolate(x, size=size, mode="nearest") for x in images]
    rows = torch.stack(scaled, 1).flatten(0, 1).add(1).div(2).clamp(0, 1)  # [n * stages, ...]
    cols = [f"{x.shape[-1]} px" for x in images] * per_caption
    return model.picture(rows, nrow=len(images) * per_caption, rows=list(captions), cols=cols)


ATTENTION_CAPTIONS = ["a small thin upright three", "a large thick slanted three",
                      "a thin four", "a two slanted left", "a large zero"]


@torch.no_grad()
def attention_picture(model, seed: int, captions=ATTENTION_CAPTIONS):
    """A row per caption: the image, then the last attention stage's map of each word
    (brighter: the regions that drew on that word), upscaled to the image."""
    tokens = model.text_condition(captions)
    z = model.method.sample_latent(len(captions), torch.Generator().manual_seed(seed))
    images, _, maps = model.G.run(z.to(model.method.device), tokens)
    beta = maps[-1]  # [n, L, h, w]
    size = images[-1].shape[-1]
    beta = torch.nn.functional.interpolate(beta, size=size, mode="nearest")
    beta = beta / beta.flatten(2).amax(2).clamp_min(1e-6)[..., None, None]
    words = max(len(c.split()) for c in captions)
    cells = []
    for i, caption in enumerate(captions):
        cells.append(images[-1][i].add(1).div(2).clamp(0, 1))
        n_words = len(caption.split())
        for j in range(words):
            cells.append(beta[i, j : j + 1] if j < n_words else torch.zeros(1, size, size))
    cols = ["image", *[f"word {j + 1}" for j in range(words)]]
    return model.picture(torch.stack(cells), nrow=words + 1, rows=captions, cols=cols,
                         title="attngan: each word's attention in the last stage")


def pictures(model, out: Path, seed: int) -> list[str]:
    written = [save_image(model.text_grid(GRID_CAPTIONS, per_caption=10, seed=seed),
                          out / "text_grid.png")]
    scales = scales_picture(model, seed)
    if scales is not None:
        written.append(save_image(scales, out / "scales.png"))
    if hasattr(model.G, "run"):  # AttnGAN: where each word looked
        written.append(save_image(attention_picture(model, seed), out / "attention.png"))
    for i, (a, b) in enumerate(INTERPOLATIONS):
        try:
            picture = model.text_interpolation(a, b, steps=9, rows=3, seed=seed)
        except GanforgeError as error:  # AttnGAN draws from words, not sentence vectors
            print(f"no text interpolations: {error}")
            break
        written.append(save_image(picture, out / f"text_interpolation_{i}.png"))
    return [str(p) for p in written]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="training time budget")
    parser.add_argument("--steps", type=int, default=None,
                        help="stop after this many steps if the time budget lasts (a budget that "
                        "does not depend on how busy the machine is)")
    parser.add_argument("--data-dir", default=os.environ.get("GANFORGE_DATA"),
                        help="folder holding mnist/ (default: $GANFORGE_DATA)")
    parser.add_argument("--out", default="runs/text2img-bench",
                        help="folder for the run (OUT/run), pictures and results.json")
    parser.add_argument("--run", default=None, help="evaluate this run instead of training one")
    parser.add_argument("--width", type=int, default=32, help="DCGAN width of G and D")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--method", default="text2img",
                        help="text2img, tac-gan or stackgan++")
    parser.add_argument("--stages", type=int, default=None,
                        help="generator stages (default: the method's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a method setting, e.g. --set class_weight=2 (repeatable)")
    parser.add_argument("--ema", type=float, default=0.995,
                        help="keep an EMA of G with this decay and sample from it (0: none)")
    parser.add_argument("--n", type=int, default=2000, help="held-out captions to draw")
    parser.add_argument("--per-digit", type=int, default=50,
                        help="noise vectors per digit for each attribute pair")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    settings = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    if args.stages is not None:
        settings["stages"] = args.stages
    run = Path(args.run) if args.run else train(args.seconds, args.steps, args.data_dir, out,
                                                args.width, args.batch_size,
                                                args.ema, args.seed, args.method, settings)
    trained = time.perf_counter() - started
    model = ganforge.load(run, device="cpu")
    classifier = load_mnist_classifier()
    train_set = load_dataset("mnist", data_dir=args.data_dir)
    results = {
        "run": str(run), "step": model.step, "train_seconds": round(trained, 1),
        **digit_accuracy(model, classifier, args.data_dir, args.n, args.seed),
        "attributes": attribute_control(model, classifier, digit_thresholds(train_set),
                                        args.per_digit, args.seed),
        **diversity(model, classifier, args.data_dir, 200, args.seed),
        "pictures": pictures(model, out, args.seed),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"{run}: step {model.step}")
    print(f"digit accuracy on {results['captions']} held-out captions: "
          f"{results['digit_accuracy']:.1%} (bare {results['digit_accuracy_bare_captions']:.1%}, "
          f"with attributes {results['digit_accuracy_attribute_captions']:.1%}); "
          f"MNIST-FID {results['mnist_fid']:.1f}")
    for attribute in ATTRIBUTES:
        r = results["attributes"][attribute]
        high, low = (p.format("N") for p in PAIRS[attribute])
        print(f"{attribute:>9}: '{high}' > '{low}' for the same z in {r['higher_rate']:.1%} of "
              f"{r['pairs']} pairs (mean difference {r['mean_difference']:+.3f}); in the asked "
              f"bin {r['high_caption_in_high_bin']:.1%} / {r['low_caption_in_low_bin']:.1%}; "
              f"digit accuracy {r['digit_accuracy']:.1%}")
    print(f"diversity of a bare caption's samples / real digits' (LeNet features): "
          f"{results['diversity_vs_real']:.2f}")
    print(f"pictures: {', '.join(results['pictures'])}; figures: {out / 'results.json'}")


if __name__ == "__main__":
    main()

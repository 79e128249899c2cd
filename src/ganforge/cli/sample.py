"""`ganforge sample`: pictures from a trained run."""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import numpy as np

from ganforge.cli.flags import DefaultsHelpFormatter
from ganforge.data import to_uint8
from ganforge.devices import DEVICES
from ganforge.errors import GanforgeError
from ganforge.files import atomic_write
from ganforge.inference import load
from ganforge.inference.ppgn import PPGNSettings
from ganforge.metrics.sources import load_images
from ganforge.viz import image_grid, save_image
from ganforge.viz.grid import check_suffix
from ganforge.viz.scatter import save_gif


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sample", help="draw samples, class grids, latent grids, code sweeps, interpolations",
        formatter_class=DefaultsHelpFormatter,
        description="Draw pictures from a trained run. Without a picture option: a grid of --n "
                    "random samples. The picture options are exclusive.")
    p.add_argument("run_dir", help="a run directory written by `ganforge train`")
    p.add_argument("--n", type=int, default=None,
                   help="number of samples (default: 64 images, or 2500 points of a toy run)")
    p.add_argument("--out", default=None,
                   help="PNG file to write (default: samples.png; --walk: a GIF, walk.gif); "
                   "for plain samples also FILE.npz (the --n images as uint8 [N, C, H, W] "
                   "under 'images', what `ganforge eval --fake` reads) or DIR/ (one PNG each)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    p.add_argument("--device", default="auto", help=f"one of: {', '.join(DEVICES)}")
    p.add_argument("--class", dest="cls", type=int, default=None, metavar="K",
                   help="conditional models: draw --n samples of class K (InfoGAN: value K of "
                   "the categorical code)")
    pictures = p.add_mutually_exclusive_group()
    pictures.add_argument("--per-class", type=int, default=None, metavar="N",
                          help="conditional models: one labelled row per class, N samples each")
    pictures.add_argument("--latent-grid", type=int, default=None, metavar="N",
                          help="an even N x N grid over a 2-D latent space (a run trained with "
                          "--latent-dim 2, or InfoGAN's two continuous codes) spanning --range")
    pictures.add_argument("--sweep", default=None, metavar="CODE",
                          help="InfoGAN: cont:I sweeps continuous code I over --range across "
                          "columns, one row per categorical value; cat:I shows the values of "
                          "categorical code I across columns")
    pictures.add_argument("--interpolate", type=int, default=None, metavar="STEPS",
                          help="rows of STEPS-image walks between random latents")
    pictures.add_argument("--reconstruct", default=None, metavar="SPEC",
                          help="vae, vaegan, bigan: --n images from SPEC (a data set NAME[:SPLIT], "
                          "image folder or .npz) above their reconstructions G(E(x))")
    pictures.add_argument("--stages", type=int, default=None, metavar="N",
                          help="lapgan, progan: N samples shown at every stage, coarse to fine "
                          "(a row per pyramid level or resolution)")
    pictures.add_argument("--ppgn", type=int, default=None, metavar="K",
                          help="PPGN (Nguyen et al. 2017): --rows chains in G's latent space "
                          "toward digit class K of the packaged MNIST classifier, --steps "
                          "points along each; with --out FILE.npz or DIR/, --n final samples")
    p.add_argument("--ppgn-steps", type=int, default=200, help="length of each PPGN chain")
    pictures.add_argument("--walk", type=int, default=None, metavar="KEYFRAMES",
                          help="an animated GIF of a looping walk through KEYFRAMES latents")
    p.add_argument("--text", action="append", default=None, metavar="CAPTION",
                   help="text2img: one labelled row of --nrow samples (default 8) per caption, "
                   "the noise shared down each column; repeat it for more rows")
    p.add_argument("--interpolate-text", default=None, metavar="CAPTION",
                   help="text2img, with one --text A: --rows rows of --steps images whose "
                   "sentence embedding moves from A to CAPTION, the noise fixed along each row")
    p.add_argument("--range", dest="extent", type=float, default=None,
                   help="half-width of --latent-grid (default 2.5) or --sweep (default 2)")
    p.add_argument("--steps", type=int, default=10,
                   help="columns of --sweep and --interpolate-text; frames per leg of --walk")
    p.add_argument("--rows", type=int, default=8,
                   help="rows of --interpolate and --interpolate-text")
    p.add_argument("--mode", default="slerp", help="interpolation: linear or slerp")
    p.add_argument("--d-filter", default=None, metavar="RULE",
                   help="keep only candidates the run's D accepts: drs (discriminator "
                   "rejection sampling, Azadi et al. 2019, D calibrated on 1,000 images of the "
                   "run's data) or top:P%% (the best P percent by D's score)")


def sample_export(out: str | None) -> Path | None:
    """The .npz file or folder ``--out`` names for plain samples; None for a picture."""
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() == ".npz" or out.endswith(("/", os.sep)) or path.is_dir():
        return path
    return None


def write_samples(images, path: Path) -> Path:
    """uint8 [N, C, H, W] images into an .npz (atomically) or a folder of numbered PNGs."""
    if path.suffix.lower() == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images.cpu().numpy())
        atomic_write(path, buffer.getvalue())
        return path
    path.mkdir(parents=True, exist_ok=True)
    width = len(str(len(images) - 1))
    for i, image in enumerate(images):
        save_image(image, path / f"{i:0{width}d}.png")
    return path


def calibration_images(model, n: int = 1000):
    """Real images to calibrate D's scores with: the run's own data set, when it is here."""
    if model.draws_points:
        return None
    try:
        return load_images(model.cfg.dataset, n, data_dir=model.cfg.data_dir,
                           image_size=model.method.spec.img_size).images
    except GanforgeError as error:
        print(f"D's scores are not calibrated: {error}")
        return None


def run(args: argparse.Namespace) -> int:
    for name in ("n", "steps", "rows"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise GanforgeError(f"--{name} must be at least 1, got {getattr(args, name)}")
    # Before any work: a GIF written into a .png (or a PNG into a .gif) shows as broken.
    default, suffix, kind = (("walk.gif", ".gif", "an animated GIF") if args.walk is not None
                             else ("samples.png", ".png", "PNG"))
    export = sample_export(args.out)
    if export is None:
        args.out = check_suffix(args.out or default, suffix, kind)
    model = load(args.run_dir, device=args.device)
    if args.n is None:
        args.n = 2500 if model.draws_points else 32 if args.reconstruct else 64
    latent_pictures = ("walk", "per_class", "latent_grid", "sweep", "interpolate", "reconstruct",
                       "stages", "ppgn")
    if args.ppgn is not None and not 0 <= args.ppgn <= 9:
        raise GanforgeError(f"--ppgn takes a digit class 0-9 (the condition network is the "
                            f"packaged MNIST classifier); got {args.ppgn}")
    ppgn = PPGNSettings(steps=args.ppgn_steps)
    chosen = [n for n in latent_pictures if getattr(args, n) is not None]
    if model.translates and chosen:
        raise GanforgeError(f"--{chosen[0].replace('_', '-')} does not apply to a "
                            f"{model.cfg.method} run, which translates given images: use "
                            "`ganforge translate`, or no picture option for its input/output grid")
    if export is not None and args.ppgn is not None:
        images, report = model.sample_ppgn(args.n, args.ppgn, ppgn, seed=args.seed)
        path = write_samples(to_uint8(images * 2 - 1), export)
        print(f"wrote {args.n} PPGN samples of class {args.ppgn} ({args.ppgn_steps} steps; mean "
              f"log p(class) {report['log_p'][-1].mean():.3f}) to {path}")
        return 0
    if export is not None:
        if chosen or args.text is not None or model.translates or model.draws_points:
            raise GanforgeError(f"--out {args.out} writes plain samples (.npz or a folder of "
                                "PNGs); pictures and translations go to a .png")
        if args.d_filter is not None:
            images, report = model.sample_filtered(args.n, args.d_filter, seed=args.seed,
                                                   real=calibration_images(model),
                                                   classes=args.cls)
        else:
            images = model.sample(args.n, args.seed, args.cls)
        path = write_samples(to_uint8(images * 2 - 1), export)
        print(f"wrote {args.n} samples from step {model.step} to {path}")
        return 0
    if args.d_filter is not None and (chosen or args.text is not None or model.translates
                                      or model.draws_points):
        option = "--" + (chosen[0] if chosen else "text").replace("_", "-")
        other = ("a translation run" if model.translates else "a toy run's points"
                 if model.draws_points else option)
        raise GanforgeError(f"--d-filter draws a grid of filtered random samples; it does not "
                            f"combine with {other}")
    if args.interpolate_text is not None and len(args.text or ()) != 1:
        raise GanforgeError("--interpolate-text B walks from one caption to another: give "
                            "exactly one --text A with it")
    if args.text is not None and (chosen or args.cls is not None):
        other = chosen[0].replace("_", "-") if chosen else "class"
        raise GanforgeError(f"--text picks the captions of the picture; it does not combine "
                            f"with --{other}")
    if args.interpolate_text is not None:
        picture = model.text_interpolation(args.text[0], args.interpolate_text, steps=args.steps,
                                           rows=args.rows, seed=args.seed)
        path = save_image(picture, args.out)
        what = f"{args.rows} interpolations from {args.text[0]!r} to {args.interpolate_text!r}"
    elif args.text is not None:
        per_caption = args.nrow or 8
        path = save_image(model.text_grid(args.text, per_caption, seed=args.seed), args.out)
        what = f"{per_caption} samples for each of {len(args.text)} captions"
    elif args.walk is not None:
        frames = model.walk(keyframes=args.walk, steps=args.steps, mode=args.mode, seed=args.seed)
        path = save_gif(frames, args.out)
        what = f"a {len(frames)}-frame walk through {args.walk} keyframes"
    elif args.reconstruct is not None:
        model.check_encoder()
        source = load_images(args.reconstruct, args.n, seed=args.seed,
                             data_dir=model.cfg.data_dir, image_size=model.method.spec.img_size)
        path = save_image(model.reconstruction_grid(source.images, per_row=args.nrow or 8),
                          args.out)
        what = f"reconstructions of {len(source.images)} images of {args.reconstruct}"
    elif args.stages is not None:
        path = save_image(model.stage_picture(args.stages, seed=args.seed), args.out)
        what = f"{args.stages} samples at every stage"
    elif args.ppgn is not None:
        picture = model.ppgn_picture(args.ppgn, args.rows, args.steps, ppgn, seed=args.seed)
        path = save_image(picture, args.out)
        what = f"{args.rows} PPGN chains of {args.ppgn_steps} steps toward class {args.ppgn}"
    elif args.per_class is not None:
        classes = [args.cls] if args.cls is not None else None
        path = save_image(model.class_grid(args.per_class, classes, seed=args.seed), args.out)
        what = f"{args.per_class} samples per class"
    elif args.latent_grid is not None:
        extent = args.extent if args.extent is not None else 2.5
        picture = model.latent_grid(args.latent_grid, extent, seed=args.seed, cls=args.cls)
        path = save_image(picture, args.out)
        what = f"a {args.latent_grid}x{args.latent_grid} latent grid over +-{extent}"
    elif args.sweep is not None:
        extent = args.extent if args.extent is not None else 2.0
        picture = model.code_sweep(args.sweep, steps=args.steps, extent=extent, seed=args.seed)
        path = save_image(picture, args.out)
        what = f"a sweep of {args.sweep}"
    elif args.interpolate is not None:
        picture = model.interpolation(args.rows, args.interpolate, args.mode, seed=args.seed)
        path = save_image(picture, args.out)
        what = f"{args.rows} {args.mode} interpolations"
    elif args.d_filter is not None:
        images, report = model.sample_filtered(args.n, args.d_filter, seed=args.seed,
                                               real=calibration_images(model), classes=args.cls)
        path = save_image(image_grid(to_uint8(images * 2 - 1), nrow=args.nrow), args.out,
                          model.scale)
        what = (f"{args.n} samples that D accepted ({report.accepted} of {report.candidates} "
                f"candidates, {report.acceptance:.0%})")
    else:
        path = model.save_grid(args.out, n=args.n, seed=args.seed, nrow=args.nrow,
                               classes=args.cls)
        what = f"{args.n} samples" + (f" of class {args.cls}" if args.cls is not None else "")
        if model.translates:
            what = "the run's display inputs beside their translations"
    print(f"wrote {what} from step {model.step} to {path}")
    return 0

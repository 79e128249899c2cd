"""PyTorch-GAN's DCGAN script, as written, timed: the reference ganforge's speed is judged by.

The source is eriklindernoren/PyTorch-GAN ``implementations/dcgan/dcgan.py`` (master,
commit c5d6be1): its ``weights_init_normal``, ``Generator`` (Linear to 128 x 8 x 8, two
Upsample + 3x3 conv stages at 16 and 32 px, a 3x3 conv to the image) and ``Discriminator``
(four stride-2 3x3 convs with Dropout2d, 16 to 128 channels, Linear + Sigmoid), ``BCELoss``,
``Adam(lr=0.0002, betas=(0.5, 0.999))`` for both players, ``img_size`` 32, ``latent_dim`` 100,
``batch_size`` 64, MNIST through ``DataLoader(shuffle=True)`` with ``num_workers`` left at 0, and
its loop in its order: G step first (noise from ``np.random.normal``, ``Variable`` wrappers,
legacy ``Tensor`` constructors), then the D step on the real batch and the detached fakes, then
the per-batch ``print`` of ``d_loss.item()`` and ``g_loss.item()``.

What differs, and only this:

* torchvision is replaced by :mod:`torchvision_equivalents` (its wheel is broken here):
  ``datasets.MNIST`` + ``Compose([Resize(32), ToTensor(), Normalize([0.5], [0.5])])`` written
  out over PIL images of the real MNIST IDX files, which must already be on disk (no download);
* the ``save_image`` calls (every ``sample_interval`` batches) are dropped, and so is
  ``os.makedirs("images")``;
* the script's global ``opt`` is passed to ``Generator(opt)`` and ``Discriminator(opt)``, and
  the loop body is a method (:meth:`ReferenceLoop.train_batch`) so that the side-by-side
  benchmark can drive it window by window; the per-batch line goes to ``log`` (stdout by
  default, ``os.devnull`` in the side-by-side: the ``.item()`` syncs stay either way).

Run from the repository root::

    python benchmarks/reference_dcgan.py --batches 50 --data-dir ../shared/data/mnist

It trains ``--warmup`` untimed batches, then times ``--batches`` batches of its epoch loop (data
loading included) and prints images/s.
"""

# The copied script keeps its own text: long lines, super(Class, self), %-formatting.
# ruff: noqa: E501, UP008, UP031

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable
from torchvision_equivalents import MNIST, Compose, Normalize, Resize, ToTensor

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "mnist")

def reference_parser(doc: str, img_size: int, batches: int,
                     warmup: int) -> argparse.ArgumentParser:
    """The PyTorch-GAN scripts' shared options (their defaults), and the timing options."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--n_epochs", type=int, default=200, help="number of epochs of training")
    parser.add_argument("--batch_size", type=int, default=64, help="size of the batches")
    parser.add_argument("--lr", type=float, default=0.0002, help="adam: learning rate")
    parser.add_argument("--b1", type=float, default=0.5, help="adam: decay of first order momentum of gradient")
    parser.add_argument("--b2", type=float, default=0.999, help="adam: decay of first order momentum of gradient")
    parser.add_argument("--n_cpu", type=int, default=8, help="number of cpu threads to use during batch generation")
    parser.add_argument("--latent_dim", type=int, default=100, help="dimensionality of the latent space")
    parser.add_argument("--img_size", type=int, default=img_size, help="size of each image dimension")
    parser.add_argument("--channels", type=int, default=1, help="number of image channels")
    parser.add_argument("--sample_interval", type=int, default=400, help="interval between image sampling")
    # Added for timing: where MNIST's IDX files are, and how many batches to time.
    parser.add_argument("--data-dir", default=DEFAULT_DATA,
                        help="folder holding train-images-idx3-ubyte.gz (default: "
                        "../shared/data/mnist)")
    parser.add_argument("--batches", type=int, default=batches, help="timed batches")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed batches first")
    return parser


parser = reference_parser(__doc__, img_size=32, batches=50, warmup=3)


def weights_init_normal(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm2d") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


class Generator(nn.Module):
    def __init__(self, opt):
        super(Generator, self).__init__()

        self.init_size = opt.img_size // 4
        self.l1 = nn.Sequential(nn.Linear(opt.latent_dim, 128 * self.init_size ** 2))

        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, stride=1, padding=1),
            nn.BatchNorm2d(128, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, stride=1, padding=1),
            nn.BatchNorm2d(64, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, opt.channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z):
        out = self.l1(z)
        out = out.view(out.shape[0], 128, self.init_size, self.init_size)
        img = self.conv_blocks(out)
        return img


class Discriminator(nn.Module):
    def __init__(self, opt):
        super(Discriminator, self).__init__()

        def discriminator_block(in_filters, out_filters, bn=True):
            block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.25)]
            if bn:
                block.append(nn.BatchNorm2d(out_filters, 0.8))
            return block

        self.model = nn.Sequential(
            *discriminator_block(opt.channels, 16, bn=False),
            *discriminator_block(16, 32),
            *discriminator_block(32, 64),
            *discriminator_block(64, 128),
        )

        # The height and width of downsampled image
        ds_size = opt.img_size // 2 ** 4
        self.adv_layer = nn.Sequential(nn.Linear(128 * ds_size ** 2, 1), nn.Sigmoid())

    def forward(self, img):
        out = self.model(img)
        out = out.view(out.shape[0], -1)
        validity = self.adv_layer(out)

        return validity


class ReferenceLoop:
    """The script from its loss function on, in its order; :meth:`batches` is its epoch loop,
    one training batch per ``next``. PyTorch-GAN's gan.py runs the same loop text (see
    reference_gan.py), so it passes its own networks and ``init_weights=False``."""

    def __init__(self, opt, data_dir, generator=None, discriminator=None, init_weights=True,
                 log=sys.stdout):
        self.opt, self.log = opt, log
        cuda = True if torch.cuda.is_available() else False

        # Loss function
        self.adversarial_loss = torch.nn.BCELoss()

        # Initialize generator and discriminator
        self.generator = generator if generator is not None else Generator(opt)
        self.discriminator = discriminator if discriminator is not None else Discriminator(opt)

        if cuda:
            self.generator.cuda()
            self.discriminator.cuda()
            self.adversarial_loss.cuda()

        # Initialize weights
        if init_weights:
            self.generator.apply(weights_init_normal)
            self.discriminator.apply(weights_init_normal)

        # Configure data loader
        self.dataloader = torch.utils.data.DataLoader(
            MNIST(
                data_dir,
                train=True,
                transform=Compose(
                    [Resize(opt.img_size), ToTensor(), Normalize([0.5], [0.5])]
                ),
            ),
            batch_size=opt.batch_size,
            shuffle=True,
        )

        # Optimizers
        self.optimizer_G = torch.optim.Adam(self.generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
        self.optimizer_D = torch.optim.Adam(self.discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))

        self.Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
        self.device = torch.device("cuda" if cuda else "cpu")

    def batches(self):
        """The epoch loop; yields the number of images of each batch after training on it."""
        for epoch in range(self.opt.n_epochs):
            for i, (imgs, labels) in enumerate(self.dataloader):
                self.train_batch(epoch, i, imgs, labels)
                yield imgs.shape[0]

    def train_batch(self, epoch, i, imgs, labels=None):
        opt, Tensor, adversarial_loss = self.opt, self.Tensor, self.adversarial_loss
        generator, discriminator = self.generator, self.discriminator
        optimizer_G, optimizer_D = self.optimizer_G, self.optimizer_D

        # Adversarial ground truths
        valid = Variable(Tensor(imgs.shape[0], 1).fill_(1.0), requires_grad=False)
        fake = Variable(Tensor(imgs.shape[0], 1).fill_(0.0), requires_grad=False)

        # Configure input
        real_imgs = Variable(imgs.type(Tensor))

        # -----------------
        #  Train Generator
        # -----------------

        optimizer_G.zero_grad()

        # Sample noise as generator input
        z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))

        # Generate a batch of images
        gen_imgs = generator(z)

        # Loss measures generator's ability to fool the discriminator
        g_loss = adversarial_loss(discriminator(gen_imgs), valid)

        g_loss.backward()
        optimizer_G.step()

        # ---------------------
        #  Train Discriminator
        # ---------------------

        optimizer_D.zero_grad()

        # Measure discriminator's ability to classify real from generated samples
        real_loss = adversarial_loss(discriminator(real_imgs), valid)
        fake_loss = adversarial_loss(discriminator(gen_imgs.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2

        d_loss.backward()
        optimizer_D.step()

        self.report(epoch, i, d_loss, g_loss)
        # (save_image of gen_imgs.data[:25] every sample_interval batches: dropped)

    def report(self, epoch, i, d_loss, g_loss):
        """The scripts' per-batch line, with its two host syncs (``.item()``)."""
        print(
            "[Epoch %d/%d] [Batch %d/%d] [D loss: %f] [G loss: %f]"
            % (epoch, self.opt.n_epochs, i, len(self.dataloader), d_loss.item(), g_loss.item()),
            file=self.log,
        )


def time_batches(batches, n: int) -> tuple[int, float]:
    """(images, seconds) of the next ``n`` batches of a :meth:`ReferenceLoop.batches` stream."""
    start = time.perf_counter()
    images = sum(next(batches) for _ in range(n))
    return images, time.perf_counter() - start


def main(argv=None, parser=parser, loop=ReferenceLoop) -> int:
    opt = parser.parse_args(argv)
    print(opt)
    if not os.path.isfile(os.path.join(opt.data_dir, "train-images-idx3-ubyte.gz")):
        print(f"error: no MNIST IDX files in {opt.data_dir}; pass --data-dir", file=sys.stderr)
        return 2
    batches = loop(opt, opt.data_dir).batches()
    time_batches(batches, opt.warmup)
    images, seconds = time_batches(batches, opt.batches)
    print(f"{images} images in {opt.batches} batches, {seconds:.2f} s: "
          f"{images / seconds:,.1f} images/s (torch threads {torch.get_num_threads()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

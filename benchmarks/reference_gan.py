"""PyTorch-GAN's GAN script (the MLP GAN), as written, timed: the reference for ganforge's gan.

The source is eriklindernoren/PyTorch-GAN ``implementations/gan/gan.py`` (master, commit
c5d6be1): its ``Generator`` (Linear 100 -> 128 -> 256 -> 512 -> 1024 -> 784, BatchNorm1d with
eps 0.8 after all but the first, LeakyReLU 0.2, Tanh) and ``Discriminator`` (784 -> 512 -> 256
-> 1, LeakyReLU 0.2, Sigmoid), default PyTorch initialisation (the script applies no
``weights_init``), ``img_size`` 28, batch 64, ``BCELoss``, ``Adam(0.0002, (0.5, 0.999))``, MNIST
through ``Resize(28)`` (a no-op at 28 px), ``ToTensor``, ``Normalize([0.5], [0.5])`` and
``DataLoader(shuffle=True)``. Its training loop is the same text as dcgan.py's, so it runs
through :class:`reference_dcgan.ReferenceLoop`, with the same changes (torchvision written out,
``save_image`` dropped, ``opt`` passed to the classes).

Run from the repository root::

    python benchmarks/reference_gan.py --batches 200
"""

# The copied script keeps its own text: long lines, super(Class, self), %-formatting.
# ruff: noqa: E501, UP008, UP031

from __future__ import annotations

import sys
from functools import partial

import numpy as np
import torch.nn as nn
from reference_dcgan import ReferenceLoop, main, reference_parser

parser = reference_parser(__doc__, img_size=28, batches=200, warmup=10)


class Generator(nn.Module):
    def __init__(self, opt):
        super(Generator, self).__init__()
        self.img_shape = img_shape = (opt.channels, opt.img_size, opt.img_size)

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(opt.latent_dim, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(img_shape))),
            nn.Tanh()
        )

    def forward(self, z):
        img = self.model(z)
        img = img.view(img.size(0), *self.img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self, opt):
        super(Discriminator, self).__init__()
        img_shape = (opt.channels, opt.img_size, opt.img_size)

        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, img):
        img_flat = img.view(img.size(0), -1)
        validity = self.model(img_flat)

        return validity


def gan_loop(opt, data_dir, log=sys.stdout) -> ReferenceLoop:
    """gan.py's state: its own networks (built before the optimisers, as there), no weight
    init, and the shared loop."""
    return ReferenceLoop(opt, data_dir, Generator(opt), Discriminator(opt), init_weights=False,
                         log=log)


if __name__ == "__main__":
    sys.exit(partial(main, parser=parser, loop=gan_loop)())

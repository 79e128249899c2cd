"""The work of PyTorch-GAN's WGAN-GP script, timed: the reference for ganforge's wgan-gp.

What eriklindernoren/PyTorch-GAN ``implementations/wgan_gp/wgan_gp.py`` (master) does each
batch, written here for timing (not its text): gan.py's MLP generator (Linear 100 -> 128 -> 256
-> 512 -> 1024 -> 784, BatchNorm1d eps 0.8, LeakyReLU 0.2, Tanh) and a critic Linear 784 -> 512
-> 256 -> 1 with LeakyReLU 0.2 and no sigmoid, default init, ``Adam(2e-4, (0.5, 0.999))`` for
both, MNIST at 28 px through ``DataLoader(batch_size=64, shuffle=True)``. Every batch is a critic
step: noise from ``np.random.normal`` made on the host, the critic's mean on real and fake
images, and the gradient penalty (weight 10) on random interpolates (``np.random.random``
mixing weights made on the host), differentiated twice with ``autograd.grad(create_graph=True)``;
every 5th batch (``n_critic``) also a generator step on fresh fakes and a printed line holding
``d_loss.item()`` and ``g_loss.item()``. Image saving is left out, as for
:mod:`reference_dcgan`.

Run from the repository root::

    python benchmarks/reference_wgan_gp.py --batches 200
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from reference_cgan import mlp
from reference_dcgan import ReferenceLoop, main, reference_parser
from torch import nn

parser = reference_parser(__doc__, img_size=28, batches=200, warmup=10)
parser.add_argument("--n_critic", type=int, default=5, help="critic steps per generator step")
LAMBDA_GP = 10


class Generator(nn.Module):
    def __init__(self, opt):
        super().__init__()
        self.shape = (opt.channels, opt.img_size, opt.img_size)
        self.net = nn.Sequential(*mlp([opt.latent_dim, 128, 256, 512, 1024]),
                                 nn.Linear(1024, int(np.prod(self.shape))), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(len(z), *self.shape)


class Critic(nn.Module):
    def __init__(self, opt):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(opt.channels * opt.img_size**2, 512), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256), nn.LeakyReLU(0.2, inplace=True), nn.Linear(256, 1))

    def forward(self, img):
        return self.net(img.flatten(1))


class CriticLoop(ReferenceLoop):
    """wgan_gp.py's state and loop: a critic step every batch, a G step every n_critic."""

    def __init__(self, opt, data_dir, log=sys.stdout):
        super().__init__(opt, data_dir, Generator(opt), Critic(opt), init_weights=False,
                         log=log)

    def penalty(self, real, fake):
        alpha = torch.tensor(np.random.random((real.size(0), 1, 1, 1)), dtype=torch.float32,
                             device=self.device)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = self.discriminator(mixed)
        grads = torch.autograd.grad(out, mixed, torch.ones_like(out), create_graph=True,
                                    retain_graph=True, only_inputs=True)[0]
        return ((grads.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    def train_batch(self, epoch, i, imgs, labels):
        opt, device = self.opt, self.device
        real_imgs = imgs.to(device)
        self.optimizer_D.zero_grad()
        z = torch.tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim)),
                         dtype=torch.float32, device=device)
        fake_imgs = self.generator(z)
        d_loss = (-self.discriminator(real_imgs).mean() + self.discriminator(fake_imgs).mean()
                  + LAMBDA_GP * self.penalty(real_imgs.data, fake_imgs.data))
        d_loss.backward()
        self.optimizer_D.step()
        self.optimizer_G.zero_grad()
        if i % opt.n_critic == 0:
            g_loss = -self.discriminator(self.generator(z)).mean()
            g_loss.backward()
            self.optimizer_G.step()
            self.report(epoch, i, d_loss, g_loss)


if __name__ == "__main__":
    sys.exit(main(parser=parser, loop=CriticLoop))

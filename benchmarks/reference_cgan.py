"""The work of PyTorch-GAN's conditional GAN script, timed: the reference for ganforge's cgan.

What eriklindernoren/PyTorch-GAN ``implementations/cgan/cgan.py`` (master) does each batch,
written here for timing (not its text): a generator that concatenates a 10-d label embedding
with 100-d Gaussian noise and maps it through Linear 110 -> 128 -> 256 -> 512 -> 1024 -> 1,024
(BatchNorm1d with eps 0.8 after all but the first, LeakyReLU 0.2, Tanh) to a 32 x 32 image; a
discriminator that concatenates the flat image with its own 10-d label embedding and maps it
through Linear 1,034 -> 512 -> 512 -> 512 -> 1 (LeakyReLU 0.2, Dropout 0.4 on the middle two);
``MSELoss`` on the raw output; ``Adam(2e-4, (0.5, 0.999))`` for both; MNIST through
``Resize(32)``, ``ToTensor``, ``Normalize([0.5], [0.5])`` and ``DataLoader(batch_size=64,
shuffle=True)``; per batch, in its order: noise from ``np.random.normal`` and labels from
``np.random.randint`` made on the host and copied over, the G step, the D step on the real
batch with its labels and on the detached fakes with theirs, then a printed line holding
``d_loss.item()`` and ``g_loss.item()`` (two host syncs). Image saving is left out, as for
:mod:`reference_dcgan`.

Run from the repository root::

    python benchmarks/reference_cgan.py --batches 200
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from reference_dcgan import ReferenceLoop, main, reference_parser
from torch import nn

parser = reference_parser(__doc__, img_size=32, batches=200, warmup=10)
parser.add_argument("--n_classes", type=int, default=10, help="number of classes for dataset")


def mlp(sizes: list[int], bn_eps: float = 0.8) -> list[nn.Module]:
    """gan.py's generator blocks: Linear, BatchNorm1d (not on the first), LeakyReLU."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers += [nn.Linear(a, b)] + ([nn.BatchNorm1d(b, bn_eps)] if i else [])
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class LabelledGenerator(nn.Module):
    def __init__(self, opt):
        super().__init__()
        self.shape = (opt.channels, opt.img_size, opt.img_size)
        self.embed = nn.Embedding(opt.n_classes, opt.n_classes)
        self.net = nn.Sequential(*mlp([opt.latent_dim + opt.n_classes, 128, 256, 512, 1024]),
                                 nn.Linear(1024, int(np.prod(self.shape))), nn.Tanh())

    def forward(self, z, labels):
        return self.net(torch.cat((self.embed(labels), z), -1)).view(len(z), *self.shape)


class LabelledDiscriminator(nn.Module):
    def __init__(self, opt):
        super().__init__()
        self.embed = nn.Embedding(opt.n_classes, opt.n_classes)
        pixels = opt.channels * opt.img_size**2
        self.net = nn.Sequential(
            nn.Linear(pixels + opt.n_classes, 512), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512), nn.Dropout(0.4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512), nn.Dropout(0.4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 1))

    def forward(self, img, labels):
        return self.net(torch.cat((img.flatten(1), self.embed(labels)), -1))


class ConditionalLoop(ReferenceLoop):
    """cgan.py's state and loop: its networks (default init), MSE loss, G step then D step."""

    def __init__(self, opt, data_dir, log=sys.stdout):
        super().__init__(opt, data_dir, LabelledGenerator(opt), LabelledDiscriminator(opt),
                         init_weights=False, log=log)
        self.adversarial_loss = nn.MSELoss()

    def train_batch(self, epoch, i, imgs, labels):
        opt, device = self.opt, self.device
        n = imgs.shape[0]
        valid = torch.ones(n, 1, device=device)
        fake = torch.zeros(n, 1, device=device)
        real_imgs, labels = imgs.to(device), labels.to(device)

        self.optimizer_G.zero_grad()
        z = torch.tensor(np.random.normal(0, 1, (n, opt.latent_dim)), dtype=torch.float32,
                         device=device)
        gen_labels = torch.tensor(np.random.randint(0, opt.n_classes, n), device=device)
        gen_imgs = self.generator(z, gen_labels)
        g_loss = self.adversarial_loss(self.discriminator(gen_imgs, gen_labels), valid)
        g_loss.backward()
        self.optimizer_G.step()

        self.optimizer_D.zero_grad()
        d_real = self.adversarial_loss(self.discriminator(real_imgs, labels), valid)
        d_fake = self.adversarial_loss(self.discriminator(gen_imgs.detach(), gen_labels), fake)
        d_loss = (d_real + d_fake) / 2
        d_loss.backward()
        self.optimizer_D.step()
        self.report(epoch, i, d_loss, g_loss)


if __name__ == "__main__":
    sys.exit(main(parser=parser, loop=ConditionalLoop))

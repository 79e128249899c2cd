"""A data set smaller than the batch trains with a batch it can fill, and says so."""

import json

import pytest
import torch

from ganforge.data import ImageDataset
from ganforge.errors import GanforgeError
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config


def images(n):
    return ImageDataset("few", torch.randint(0, 256, (n, 1, 16, 16), dtype=torch.uint8))


def test_fewer_images_than_the_batch_train_with_the_largest_power_of_two(tmp_path):
    cfg = tiny_config("dcgan", tmp_path, batch_size=64, steps=2)
    with pytest.warns(UserWarning, match="holds 11 images, fewer than --batch-size 64: "
                      "training with batches of 8"):
        run = Trainer(cfg, dataset=images(11)).fit()
    assert json.loads((run / "config.json").read_text())["config"]["batch_size"] == 8


def test_a_single_image_is_refused_in_one_line(tmp_path):
    cfg = tiny_config("dcgan", tmp_path, batch_size=4, steps=1)
    with pytest.raises(GanforgeError, match="holds 1 image; a GAN needs at least 2"):
        Trainer(cfg, dataset=images(1))

"""Tiny trained runs of each kind the explorer offers controls for, made once per session."""

import pytest

from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config, tiny_data

KINDS = {"dcgan": "image", "cgan": "image", "infogan": "image", "pix2pix": "pairs",
         "cyclegan": "unpaired", "stargan": "image", "text2img": "captions", "lapgan": "image",
         "gan": "points"}


@pytest.fixture(scope="session")
def app_runs(tmp_path_factory):
    made = {}
    for method, kind in KINDS.items():
        data, fields = tiny_data(kind)
        cfg = tiny_config(method, tmp_path_factory.mktemp(method), **{**fields, "steps": 2})
        made[method] = Trainer(cfg, dataset=data).fit()
    return made

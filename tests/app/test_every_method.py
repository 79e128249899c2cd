"""Every registered method's run opens in the explorer and draws every view the explorer
offers for it: no method meets a traceback from deep inside torch in the page."""

import io

import pytest
from PIL import Image

from ganforge.app.explorer import Explorer, Request
from ganforge.methods import METHODS
from ganforge.training import Trainer
from tests.methods.test_methods import data_kinds, tiny_config, tiny_data


@pytest.mark.parametrize("method", METHODS.names())
def test_the_explorer_draws_every_view_of_every_method(method, tmp_path):
    data, fields = tiny_data(data_kinds(method)[0])
    run = Trainer(tiny_config(method, tmp_path, **{**fields, "steps": 2}), dataset=data).fit()
    explorer = Explorer.open([run], device="cpu")
    (info,) = explorer.describe()
    assert info["views"]
    for view in info["views"]:
        picture = Image.open(io.BytesIO(explorer.render(Request(run=info["name"], view=view))))
        assert min(picture.size) >= 16

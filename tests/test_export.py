"""ganforge export: ONNX and TorchScript files that draw what the eager generator draws, at the
exported batch size and another one, and one-line refusals."""

import numpy as np
import pytest
import torch

import ganforge
from ganforge.cli import main
from ganforge.inference.export import export, export_module
from ganforge.training import Trainer
from tests.methods.test_methods import tiny_config, tiny_data

onnxruntime = pytest.importorskip("onnxruntime")  # in the dev extra; CI has it

CASES = [("gan", "image"), ("dcgan", "image"), ("cgan", "image"), ("infogan", "image"),
         ("pix2pix", "pairs"), ("cyclegan", "unpaired")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    made = {}
    for method, kind in CASES:
        data, fields = tiny_data(kind)
        cfg = tiny_config(method, tmp_path_factory.mktemp(method), **{**fields, "steps": 2})
        made[method] = Trainer(cfg, dataset=data).fit()
    return made


def inputs_of(module_inputs, batch):
    """The example inputs again at another batch size (the rows repeated)."""
    return tuple(torch.cat([x] * 2)[:batch] for x in module_inputs)


@pytest.mark.parametrize("method", [m for m, _ in CASES])
def test_exports_match_eager_at_any_batch(method, runs, tmp_path):
    model = ganforge.load(runs[method], device="cpu")
    module, example, names, _ = export_module(model)
    onnx_path, _ = export(model, tmp_path / "g.onnx", "onnx")
    script_path, _ = export(model, tmp_path / "g.pt", "torchscript")
    session = onnxruntime.InferenceSession(str(onnx_path))
    scripted = torch.jit.load(str(script_path))
    for batch in (8, 5):  # the exported batch and one it never saw
        xs = inputs_of(example, batch)
        with torch.no_grad():
            eager = module(*xs).numpy()
            script = scripted(*xs).numpy()
        onnx_out = session.run(None, {n: x.numpy() for n, x in zip(names, xs, strict=True)})[0]
        assert eager.shape[0] == batch
        np.testing.assert_allclose(onnx_out, eager, atol=1e-4)
        np.testing.assert_allclose(script, eager, atol=1e-4)


def test_export_command_and_refusals(runs, tmp_path, capsys):
    out = tmp_path / "cgan.onnx"
    assert main(["export", str(runs["cgan"]), "--format", "onnx", "--out", str(out)]) == 0
    assert out.exists() and "inputs z, classes" in capsys.readouterr().out
    assert main(["export", str(runs["pix2pix"]), "--format", "torchscript",
                 "--direction", "sideways", "--out", str(tmp_path / "p.pt")]) == 2
    assert "unknown direction" in capsys.readouterr().err
    toy = Trainer(tiny_config("d-only", tmp_path / "d", **tiny_data("points")[1], steps=1),
                  dataset=tiny_data("points")[0]).fit()
    capsys.readouterr()
    assert main(["export", str(toy), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert "d-only cannot be exported: it has no generator" in err and err.count("\n") == 1

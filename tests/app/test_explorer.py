"""The explorer's pictures, without a browser: each control changes what is drawn, the same
request draws the same picture, and bad requests are one-line errors."""

import io

import numpy as np
import pytest
from PIL import Image

from ganforge.app.explorer import Explorer, Request, decode_upload
from ganforge.errors import GanforgeError


@pytest.fixture(scope="module")
def explorer(app_runs):
    return Explorer.open(list(app_runs.values()), device="cpu")


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def draw(explorer, **fields) -> np.ndarray:
    return pixels(explorer.render(Request(**fields)))


def png_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_each_run_offers_the_controls_of_its_method(explorer):
    runs = {r["name"]: r for r in explorer.describe()}
    kinds = {name: r["kind"] for name, r in runs.items()}
    assert kinds == {"dcgan": "unconditional", "cgan": "conditional", "infogan": "codes",
                     "pix2pix": "translation", "cyclegan": "translation", "stargan": "domains",
                     "text2img": "text", "lapgan": "unconditional", "gan": "points"}
    assert runs["cgan"]["classes"] == [str(k) for k in range(10)]
    assert runs["infogan"]["categorical"] == [10] and runs["infogan"]["continuous"] == 2
    assert runs["infogan"]["codes"] == ["cat:0", "cont:0", "cont:1"]
    assert runs["infogan"]["views"] == ["samples", "interpolate", "sweep"]
    assert runs["pix2pix"]["directions"] == ["AtoB"]
    assert runs["cyclegan"]["directions"] == ["AtoB", "BtoA"]
    assert runs["stargan"]["domains"] == [str(k) for k in range(10)]
    assert "stages" in runs["lapgan"]["views"] and "stages" not in runs["dcgan"]["views"]
    assert runs["text2img"]["captions"][0] == "a zero"
    assert runs["dcgan"]["latent_dim"] == 8


def test_a_seed_draws_the_same_picture_and_another_seed_another(explorer):
    a = draw(explorer, run="dcgan", seed=3)
    assert a.shape[0] > 100  # 16 images of 16 px, enlarged
    assert np.array_equal(a, draw(explorer, run="dcgan", seed=3))
    assert not np.array_equal(a, draw(explorer, run="dcgan", seed=4))
    assert draw(explorer, run="dcgan", n=64).shape[0] > 1.9 * a.shape[0]  # 8 rows against 4


def test_a_latent_slider_sets_its_dimension_in_every_sample(explorer):
    low = draw(explorer, run="dcgan", latent={0: -3.0})
    high = draw(explorer, run="dcgan", latent={0: 3.0})
    assert not np.array_equal(low, high)
    # The same fixed dimensions with every other noise value the same: the same picture.
    assert np.array_equal(high, draw(explorer, run="dcgan", latent={"0": 3.0}))
    with pytest.raises(GanforgeError, match="latent dimension 8 does not exist.*0 to 7"):
        explorer.render(Request(run="dcgan", latent={8: 1.0}))


def test_class_and_codes_pickers(explorer):
    assert not np.array_equal(draw(explorer, run="cgan", cls=3), draw(explorer, run="cgan", cls=5))
    with pytest.raises(GanforgeError, match="class 12 does not exist"):
        explorer.render(Request(run="cgan", cls=12))
    left = draw(explorer, run="infogan", cls=1, continuous=[-2.0, None])
    right = draw(explorer, run="infogan", cls=1, continuous=[2.0, None])
    assert not np.array_equal(left, right)
    assert not np.array_equal(right, draw(explorer, run="infogan", cls=2,
                                          continuous=[2.0, None]))
    sweep = draw(explorer, run="infogan", view="sweep", code="cont:0", steps=6)
    assert sweep.shape[0] > 10 * 16  # a row per value of the categorical code
    assert not np.array_equal(sweep, draw(explorer, run="infogan", view="sweep", code="cont:1",
                                          steps=6))
    with pytest.raises(GanforgeError, match="unknown code 'cont:5'; this model has cat:0, "
                                            "cont:0, cont:1"):
        explorer.render(Request(run="infogan", view="sweep", code="cont:5"))


def test_interpolation_and_stages(explorer):
    short = draw(explorer, run="cgan", view="interpolate", steps=4, cls=1)
    long = draw(explorer, run="cgan", view="interpolate", steps=12, cls=1)
    assert long.shape[1] > 2.5 * short.shape[1] and long.shape[0] == short.shape[0]
    assert draw(explorer, run="lapgan", view="stages").shape[0] > 100
    with pytest.raises(GanforgeError, match="shows samples, interpolate, not 'stages'"):
        explorer.render(Request(run="dcgan", view="stages"))


def test_captions_choose_what_a_text_model_draws(explorer):
    one = draw(explorer, run="text2img", view="text", caption="a one")
    assert not np.array_equal(one, draw(explorer, run="text2img", view="text",
                                        caption="a seven"))
    with pytest.raises(GanforgeError, match="unknown word"):
        explorer.render(Request(run="text2img", view="text", caption="a zebra"))


def test_translation_of_an_uploaded_picture_of_any_size_and_mode(explorer):
    rng = np.random.default_rng(0)
    upload = png_of(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8))  # RGB, not square
    x = decode_upload(upload, channels=1, size=16)
    assert x.shape == (1, 1, 16, 16) and str(x.dtype) == "torch.uint8"
    mine = draw(explorer, run="pix2pix", view="translate", image=upload)
    examples = draw(explorer, run="pix2pix", view="translate", n=4)
    assert mine.shape[0] < examples.shape[0]  # one input row against four
    assert examples.shape[1] > 1.4 * mine.shape[1]  # input, output and the pair's target
    back = draw(explorer, run="cyclegan", view="translate", direction="BtoA", n=4)
    assert not np.array_equal(back, draw(explorer, run="cyclegan", view="translate", n=4))
    every = draw(explorer, run="stargan", view="translate", image=upload)
    one = draw(explorer, run="stargan", view="translate", image=upload, to_domain="3")
    assert every.shape[1] > 4 * one.shape[1]  # the input and ten domains against one
    with pytest.raises(GanforgeError, match="not a picture"):
        explorer.render(Request(run="pix2pix", view="translate", image=b"not a png"))
    with pytest.raises(GanforgeError, match="unknown domain 'blue'"):
        explorer.render(Request(run="stargan", view="translate", to_domain="blue"))


def test_points_runs_draw_their_scatter(explorer):
    picture = draw(explorer, run="gan")
    assert picture.ndim == 3 and picture.shape[2] == 3


def test_bad_requests_are_one_line_errors(explorer):
    with pytest.raises(GanforgeError, match="unknown run 'nope'; this explorer serves: dcgan"):
        explorer.render(Request(run="nope"))
    with pytest.raises(GanforgeError, match="n must be one of 1, 4, 16, 64"):
        explorer.render(Request(run="dcgan", n=7))
    with pytest.raises(GanforgeError, match="unknown request field 'colour'"):
        Request.from_json({"run": "dcgan", "colour": 1})
    with pytest.raises(GanforgeError, match="bad request value"):
        Request.from_json({"run": "dcgan", "seed": "x"})
    with pytest.raises(GanforgeError, match="naming its run"):
        Request.from_json([1, 2])
    request = Request.from_json({"run": "pix2pix", "view": "translate",
                                 "image_base64": "data:image/png;base64,aGVsbG8="})
    assert request.image == b"hello"
    with pytest.raises(GanforgeError, match="give at least one run"):
        Explorer({})

"""The explorer in a real browser: headless Chromium opens the page, a user presses "new samples",
moves a latent slider, picks a class, and the picture changes each time. Chromium comes from
Debian (`.ci/run` installs it); without it this test is skipped, unless GANFORGE_REQUIRE_BROWSER
is set, as CI sets it, when it fails."""

import os

import pytest

from tests.app.browser import CHROMEDRIVER, CHROMIUM, Page, running_app

pytest.importorskip("uvicorn")
if not (CHROMIUM and CHROMEDRIVER):
    message = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"
    if os.environ.get("GANFORGE_REQUIRE_BROWSER"):
        raise RuntimeError(message)
    pytest.skip(message, allow_module_level=True)
pytest.importorskip("selenium")


@pytest.fixture(scope="module")
def page(app_runs):
    with running_app([app_runs[m] for m in ("dcgan", "cgan", "infogan", "cyclegan")]) as url:
        page = Page(url)
        yield page
        page.close()


def test_new_samples_and_a_slider_change_the_picture(page, tmp_path):
    page.choose_run("dcgan")
    first = page.picture()
    page.act(lambda: page.element("#new-samples").click())
    after_button = page.picture()
    assert after_button != first
    from selenium.webdriver.common.keys import Keys

    page.act(lambda: page.element("#latent input[data-dim='0']").send_keys(Keys.END))
    assert page.picture() != after_button
    assert page.element("#error").text == ""
    shot = page.screenshot(tmp_path / "dcgan.png")
    assert shot.stat().st_size > 10_000


def test_class_picker_codes_and_translation(page):
    page.choose_run("cgan")
    before = page.picture()
    page.act(lambda: page.choose("#cls", "7"))
    assert page.picture() != before
    page.choose_run("infogan")
    before = page.picture()
    from selenium.webdriver.common.keys import Keys

    page.act(lambda: page.element("#continuous input").send_keys(Keys.HOME))
    assert page.picture() != before
    page.choose_run("cyclegan")
    before = page.picture()
    page.act(lambda: page.choose("#direction", "BtoA"))
    assert page.picture() != before
    assert "download" in page.element("#download").get_attribute("outerHTML")
    assert page.element("#download").get_attribute("href").startswith("blob:")

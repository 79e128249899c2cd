"""Drive ``ganforge app`` as a user does: the command started on a free port, its page opened in
headless Chromium (Debian's ``chromium`` and ``chromium-driver``, through Selenium). Used by the
browser test and by ``scripts/app_screenshots.py``."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from ganforge.app.server import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@contextlib.contextmanager
def running_app(runs: Sequence[str | Path], timeout: float = 60.0) -> Iterator[str]:
    """``ganforge app RUNS --port P`` in a child process until the block ends; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "ganforge.cli", "app", *map(str, runs), "--port",
               str(port), "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"ganforge app exited: {process.stdout.read()}")
            try:
                urllib.request.urlopen(url + "api/runs", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ganforge app did not answer on {url}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


class Page:
    """The explorer's page in headless Chromium."""

    def __init__(self, url: str, width: int = 1280, height: int = 900) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", f"--window-size={width},{height}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(30)
        self.driver.get(url)
        self.wait_for_renders(1)

    def close(self) -> None:
        self.driver.quit()

    def element(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    @property
    def renders(self) -> int:
        return int(self.element("#picture").get_attribute("data-renders"))

    def wait_for_renders(self, count: int, timeout: float = 30.0) -> None:
        """Until the page has drawn ``count`` pictures; an error showing the page's message
        otherwise."""
        deadline = time.monotonic() + timeout
        while self.renders < count:
            error = self.element("#error").text
            if error or time.monotonic() > deadline:
                raise AssertionError(f"the page did not draw picture {count}: "
                                     f"{error or 'timed out'}")
            time.sleep(0.05)

    def act(self, action) -> None:
        """Do ``action`` (a user's gesture) and wait until the page has drawn its result."""
        before = self.renders
        action()
        self.wait_for_renders(before + 1)

    def picture(self) -> bytes:
        """The pixels of the picture shown, read back from the page through a canvas."""
        data_url = self.driver.execute_script(
            "const img = document.getElementById('picture');"
            "const c = document.createElement('canvas');"
            "c.width = img.naturalWidth; c.height = img.naturalHeight;"
            "c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL('image/png');")
        return base64.b64decode(data_url.split(",", 1)[1])

    def choose(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.element(css)).select_by_value(value)

    def choose_run(self, name: str) -> None:
        if self.element("#run").get_attribute("value") != name:  # no change event otherwise
            self.act(lambda: self.choose("#run", name))

    def screenshot(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

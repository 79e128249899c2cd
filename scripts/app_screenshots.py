"""Screenshots of ``ganforge app`` for the README: the page of each run given, in headless
Chromium, after the gestures a user would make (a class picked, a code slider moved, a
translation direction chosen).

    python scripts/app_screenshots.py RUN [RUN ...] --out docs/img
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.app.browser

from selenium.webdriver.common.keys import Keys  # noqa: E402

from tests.app.browser import Page, running_app  # noqa: E402


def pose(page: Page, run: dict) -> None:
    """A gesture showing what the run's controls do."""
    kind = run["kind"]
    if kind == "conditional":
        page.act(lambda: page.choose("#n", "64"))
        page.act(lambda: page.choose("#cls", "7"))
    elif kind == "codes":
        page.act(lambda: page.choose("#view", "sweep"))
        page.act(lambda: page.choose("#code", "cont:0"))
    elif kind in ("translation", "domains"):
        page.act(lambda: page.choose("#n", "16"))  # eight of the run's own pairs
    elif kind == "text":
        def caption():  # one change event: select all, type over it, Enter
            page.element("#caption").send_keys(Keys.CONTROL, "a")
            page.element("#caption").send_keys("a seven", Keys.ENTER)
        page.act(caption)
    elif kind == "unconditional":
        page.act(lambda: page.element("#latent input[data-dim='0']").send_keys(Keys.END))
    # points: the scatter as it is


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", default="docs/img")
    args = parser.parse_args()
    with running_app(args.runs) as url:
        page = Page(url, width=1280, height=900)
        try:
            for run in page.driver.execute_script("return state.runs"):
                page.choose_run(run["name"])
                pose(page, run)
                shot = page.screenshot(Path(args.out) / f"app_{run['method']}.png")
                print(shot)
        finally:
            page.close()


if __name__ == "__main__":
    main()

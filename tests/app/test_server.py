"""``ganforge app`` over HTTP: the page works offline, the API draws PNGs and answers bad requests
with a one-line error, and the command refuses what it cannot serve in one line."""

import json
import re
import socket
import sys
import urllib.error
import urllib.request

import pytest

from ganforge.app.server import page
from ganforge.cli import main
from tests.app.browser import running_app

pytest.importorskip("uvicorn")  # the [app] extra, in [dev]: CI has it


def post(url: str, body) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url + "api/render", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_page_fetches_nothing_from_elsewhere():
    html = page()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", html)
    assert "fetch(\"/api/render\"" in html


def test_the_server_lists_runs_and_draws(app_runs):
    with running_app([app_runs["cgan"], app_runs["pix2pix"]]) as url:
        runs = json.loads(urllib.request.urlopen(url + "api/runs", timeout=10).read())
        assert [r["name"] for r in runs] == ["cgan", "pix2pix"]
        status, kind, body = post(url, {"run": "cgan", "cls": 4, "seed": 2})
        assert (status, kind) == (200, "image/png") and body[:8] == b"\x89PNG\r\n\x1a\n"
        status, kind, body = post(url, {"run": "cgan", "cls": 40})
        assert status == 400 and json.loads(body) == {
            "error": "class 40 does not exist: this model draws 0 to 9"}
        status, _, body = post(url, "not an object")
        assert status == 400 and "naming its run" in json.loads(body)["error"]
        assert "<title>ganforge explorer</title>" in urllib.request.urlopen(url).read().decode()


def test_the_command_refuses_in_one_line(app_runs, tmp_path, capsys):
    assert main(["app", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", str(app_runs["dcgan"]), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"ganforge: error: port {port} on 127.0.0.1 is taken; give another with "
                   "--port (or --port 0 for a free one)")


def test_without_the_extra_the_command_says_how_to_get_it(app_runs, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    assert main(["app", str(app_runs["dcgan"]), "--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        'ganforge: error: the explorer needs the app extra (uvicorn is missing): '
        'pip install "ganforge[app]"')

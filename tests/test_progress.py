"""Progress of long work: a bar with rate and time left on a terminal, plain lines with the same
elsewhere; evaluation (feature extraction, sampling), downloads and bench all show it."""

import hashlib
import io
import time

import pytest
import torch

import ganforge.progress
from ganforge.data.download import fetch
from ganforge.metrics.sources import sample_uint8
from ganforge.progress import Meter
from tests.metrics.test_registry_cache_extractor import MeanColourExtractor


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def every_update(monkeypatch):
    monkeypatch.setattr(ganforge.progress, "PROGRESS_SECONDS", 0.0)


def test_plain_lines_off_a_terminal_give_count_rate_and_time_left():
    stream = io.StringIO()
    with Meter("features (x)", 200, "images", stream=stream, every=0.0) as meter:
        meter.update(50)
        meter.update(50)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("features (x): 100/200 images  ")
    assert "images/s" in lines[1] and "eta " in lines[1]


def test_quiet_off_a_terminal_until_the_interval_passes():
    stream = io.StringIO()
    with Meter("x", 10, stream=stream, every=3600) as meter:
        meter.update(10)
    assert stream.getvalue() == ""


def test_a_bar_on_a_terminal_and_lines_that_do_not_break_it():
    stream = Terminal()
    with Meter("bench", 4, "runs", stream=stream) as meter:
        meter.write("  dcgan batch 64: 900 images/s")
        meter.update(1)
        time.sleep(0.15)  # tqdm redraws at most every 0.1 s
        meter.update(1)
    out = stream.getvalue()
    assert "bench" in out and "2/4" in out and "runs/s" in out
    assert "  dcgan batch 64: 900 images/s\n" in out


def test_downloads_show_bytes_and_rate(tmp_path, every_update, capsys):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 300_000)
    fetch([src.as_uri()], tmp_path / "f.bin", sha256=hashlib.sha256(src.read_bytes()).hexdigest())
    err = capsys.readouterr().err
    assert "f.bin: " in err and "/300.0k B" in err and "B/s" in err


def test_evaluation_shows_feature_extraction_and_sampling(every_update, capsys):
    MeanColourExtractor(batch_size=10).features(torch.zeros(30, 3, 8, 8, dtype=torch.uint8))
    err = capsys.readouterr().err.splitlines()
    assert [line.split("  ")[0] for line in err] == [
        "features (mean-colour): 10/30 images", "features (mean-colour): 20/30 images",
        "features (mean-colour): 30/30 images"]

    class Method:
        def sample(self, n, generator, G=None):
            return torch.zeros(n, 1, 4, 4)

    assert sample_uint8(Method(), 25, seed=0, batch_size=10).shape == (25, 1, 4, 4)
    assert "sampling: 25/25 images" in capsys.readouterr().err

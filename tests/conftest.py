from pathlib import Path

import pytest
import torch

from ganforge.data import load_dataset

# ../shared/data beside the checkout holds real MNIST for development and CI; users lack it.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_mnist = pytest.mark.skipif(
    not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").exists(),
    reason="real MNIST (../shared/data/mnist) is not present",
)


@pytest.fixture(autouse=True)
def _few_threads():
    # Tests run on 2 cores; keep torch from oversubscribing them.
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits", image_size=16)


@pytest.fixture(scope="session")
def fake28():
    return load_dataset("fake")

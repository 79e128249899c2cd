from collections import Counter

import pytest
import torch

from ganforge.errors import GanforgeError
from ganforge.losses.translation import (
    ImagePool,
    cycle_loss,
    identity_loss,
    l1_reconstruction,
)

# ---------------------------------------------------------------- losses


def test_l1_cycle_and_identity_losses_by_hand():
    real = torch.tensor([[[[0.0, 1.0], [-1.0, 0.5]]]])
    other = torch.tensor([[[[0.5, 1.0], [1.0, -0.5]]]])
    # |0 - 0.5| + |1 - 1| + |-1 - 1| + |0.5 + 0.5| = 0.5 + 0 + 2 + 1 = 3.5, over 4 pixels
    for loss in (l1_reconstruction, cycle_loss, identity_loss):
        assert loss(real, other).item() == pytest.approx(3.5 / 4)
        assert loss(real, real).item() == 0.0


def test_losses_refuse_broadcasting():
    with pytest.raises(GanforgeError, match="one shape"):
        cycle_loss(torch.zeros(2, 3, 4, 4), torch.zeros(1, 3, 4, 4))


def test_cycle_loss_gradient_reaches_the_reconstruction():
    rec = torch.zeros(1, 1, 2, 2, requires_grad=True)
    cycle_loss(torch.ones(1, 1, 2, 2), rec).backward()
    torch.testing.assert_close(rec.grad, torch.full((1, 1, 2, 2), -0.25))


# ---------------------------------------------------------------- ImagePool

SHAPE = (1, 2, 2)


def _tagged(ids) -> torch.Tensor:
    """Images whose every pixel is their id, so an image can be traced through the pool."""
    ids = torch.as_tensor(ids, dtype=torch.float32)
    return ids.view(-1, 1, 1, 1).expand(-1, *SHAPE).clone()


def _ids(images: torch.Tensor) -> list[int]:
    flat = images.flatten(1)
    assert (flat == flat[:, :1]).all(), "an image got mixed with another"
    return [int(v) for v in flat[:, 0]]


def test_capacity_zero_passes_images_through_detached():
    pool = ImagePool(SHAPE, capacity=0)
    x = _tagged([1, 2, 3]).requires_grad_(True)
    out = pool.query(x)
    assert torch.equal(out, x) and not out.requires_grad


def test_filling_returns_inputs_and_stores_them():
    pool = ImagePool(SHAPE, capacity=5)
    g = torch.Generator().manual_seed(0)
    assert _ids(pool.query(_tagged([1, 2]), g)) == [1, 2]
    assert int(pool.count) == 2
    # 3 slots left for 4 images: the first 3 are stored, the 4th is returned as is, not stored.
    assert _ids(pool.query(_tagged([3, 4, 5, 6]), g)) == [3, 4, 5, 6]
    assert int(pool.count) == 5
    assert _ids(pool.images) == [1, 2, 3, 4, 5]


def _fill(pool: ImagePool, g: torch.Generator) -> int:
    next_id = 1
    while int(pool.count) < pool.capacity:
        pool.query(_tagged([next_id]), g)
        next_id += 1
    return next_id


@pytest.mark.parametrize("capacity, batch", [(10, 4), (3, 8)])
def test_full_pool_swaps_about_half_and_conserves_images(capacity, batch):
    pool = ImagePool(SHAPE, capacity=capacity)
    g = torch.Generator().manual_seed(123)
    next_id = _fill(pool, g)
    given = set(range(1, next_id))
    swapped = total = 0
    for _ in range(200):
        before = _ids(pool.images)
        ids = list(range(next_id, next_id + batch))
        next_id += batch
        given.update(ids)
        out = _ids(pool.query(_tagged(ids), g))
        after = _ids(pool.images)
        for i, o in zip(ids, out, strict=True):
            assert o == i or o in before  # its input, or an image stored before the query
        # Swapping moves images between the batch and the pool; nothing is lost or duplicated.
        assert Counter(out) + Counter(after) == Counter(ids) + Counter(before)
        assert set(after) <= given
        swapped += sum(o != i for i, o in zip(ids, out, strict=True))
        total += batch
    assert int(pool.count) == capacity
    if batch <= capacity:
        assert 0.4 < swapped / total < 0.6  # p = 1/2 over 800 draws: sd 0.018
    else:
        assert 0 < swapped / total <= capacity / batch  # at most one swap per slot


def test_state_dict_round_trip_resumes_exactly():
    pool = ImagePool(SHAPE, capacity=6)
    g = torch.Generator().manual_seed(5)
    _fill(pool, g)
    pool.query(_tagged([100, 101, 102]), g)
    resumed = ImagePool(SHAPE, capacity=6)
    resumed.load_state_dict(pool.state_dict())
    state = g.get_state()
    batch = _tagged([200, 201, 202, 203])
    out = pool.query(batch, g)
    g.set_state(state)
    out_resumed = resumed.query(batch, g)
    assert torch.equal(out, out_resumed)
    assert torch.equal(pool.images, resumed.images) and torch.equal(pool.count, resumed.count)


def test_outputs_are_detached_and_keep_the_input_dtype():
    pool = ImagePool(SHAPE, capacity=2)
    x = _tagged([1, 2, 3]).double().requires_grad_(True)
    out = pool.query(x)
    assert not out.requires_grad and out.dtype == torch.float64
    out = pool(x * 2, torch.Generator().manual_seed(0))  # forward is query
    assert not out.requires_grad and out.dtype == torch.float64
    assert not pool.images.requires_grad


def test_pool_rejects_wrong_image_shapes():
    with pytest.raises(GanforgeError, match="shape"):
        ImagePool(SHAPE, capacity=2).query(torch.zeros(1, 3, 2, 2))
    with pytest.raises(GanforgeError, match=r"\(C, H, W\)"):
        ImagePool((2, 2), capacity=2)


# ---------------------------------------------------------------- translation_sets

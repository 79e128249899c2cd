import math

import pytest
import torch
from torch import nn

from ganforge.errors import GanforgeError
from ganforge.losses.penalties import (
    HistoricalAverage,
    clip_weights_,
    gradient_penalty,
    r1_penalty,
)


def linear_critic(w):
    return lambda x: x.flatten(1) @ w


def mlp_critic():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)).double()


def finite_difference_gradients(f, x, h=1e-5):
    """Central differences of a per-example scalar function f: [N, d] -> [N], row by row."""
    grads = torch.zeros_like(x)
    with torch.no_grad():
        for k in range(x.shape[1]):
            step = torch.zeros_like(x)
            step[:, k] = h
            grads[:, k] = (f(x + step) - f(x - step)) / (2 * h)
    return grads


def test_gp_of_a_linear_critic_is_its_weight_norm_minus_one_squared():
    # D(x) = w . x has gradient w everywhere, whatever the interpolation.
    w = torch.tensor([2.0, -1.0, 0.0, 2.0] * 4)  # ||w|| = 6
    real, fake = torch.randn(5, 1, 4, 4), torch.randn(5, 1, 4, 4)
    assert math.isclose(gradient_penalty(linear_critic(w), real, fake).item(), 25.0, rel_tol=1e-5)
    assert math.isclose(
        gradient_penalty(linear_critic(w), real, fake, center=0.0).item(), 36.0, rel_tol=1e-5
    )


def test_gp_trains_the_critic():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||.
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    gp = gradient_penalty(linear_critic(w), torch.randn(4, 2), torch.randn(4, 2))
    (grad,) = torch.autograd.grad(gp, w)
    assert torch.allclose(grad, 2 * 4 * torch.tensor([3.0, 4.0]) / 5)


def test_gp_matches_finite_differences_on_a_nonlinear_critic():
    critic = mlp_critic()
    real, fake = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    # Same generator, same draw: the per-example eps the penalty used.
    eps = torch.rand((6, 1), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    x_hat = eps * real + (1 - eps) * fake
    norms = finite_difference_gradients(critic, x_hat).norm(dim=1)
    assert math.isclose(gp.item(), ((norms - 1) ** 2).mean().item(), rel_tol=1e-6)


def test_gp_does_not_reach_the_generator():
    G = nn.Linear(2, 3)
    fake = G(torch.randn(4, 2))
    gradient_penalty(mlp_critic().float(), torch.randn(4, 3), fake).backward()
    assert G.weight.grad is None


def test_gp_rejects_mismatched_batches():
    with pytest.raises(GanforgeError, match="one shape"):
        gradient_penalty(mlp_critic(), torch.randn(4, 3), torch.randn(3, 3))


def test_r1_of_a_linear_critic_and_its_gradient():
    w = torch.tensor([1.0, 2.0, 2.0], requires_grad=True)
    r1 = r1_penalty(linear_critic(w), torch.randn(5, 3))
    assert math.isclose(r1.item(), 9.0, rel_tol=1e-6)
    (grad,) = torch.autograd.grad(r1, w)  # d/dw ||w||^2 = 2 w
    assert torch.allclose(grad, 2 * w.detach())


def test_r1_matches_finite_differences_on_a_nonlinear_critic():
    critic = mlp_critic()
    real = torch.randn(6, 3, dtype=torch.float64)
    expected = finite_difference_gradients(critic, real).pow(2).sum(1).mean()
    r1 = r1_penalty(critic, real)
    assert math.isclose(r1.item(), expected.item(), rel_tol=1e-6)
    r1.backward()  # every weight shapes the input gradient (the output bias does not)
    weights = [m.weight for m in critic if isinstance(m, nn.Linear)]
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in weights)


def test_historical_average_is_the_running_mean_of_past_values():
    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    q = nn.Parameter(torch.tensor([[0.5]]))
    ha = HistoricalAverage([p, q])
    assert ha.penalty().item() == 0.0 and list(ha.parameters()) == []
    history = [torch.tensor([1.0, -2.0])]
    for value in ([3.0, 0.0], [5.0, 7.0]):
        with torch.no_grad():
            p.copy_(torch.tensor(value))
            q.add_(1.0)
        history.append(torch.tensor(value))
        ha.update()
    average = torch.stack(history).mean(0)  # [3, 5/3]
    assert torch.allclose(ha.average_0, average) and torch.allclose(ha.average_1, q.detach() - 1)
    expected = (p.detach() - average).pow(2).sum() + 1.0  # q moved 2, its mean 1
    assert math.isclose(ha.penalty().item(), expected.item(), rel_tol=1e-6)
    (grad,) = torch.autograd.grad(ha.penalty(), p)
    assert torch.allclose(grad, 2 * (p.detach() - average))


def test_historical_average_round_trips_through_state_dict():
    p = nn.Parameter(torch.zeros(3))
    ha = HistoricalAverage([p])
    with torch.no_grad():
        p.fill_(4.0)
    ha.update()
    state = ha.state_dict()
    assert set(state) == {"average_0", "steps"} and state["steps"].item() == 2
    fresh = HistoricalAverage([p])
    fresh.load_state_dict(state)
    assert torch.equal(fresh.average_0, torch.full((3,), 2.0))
    with torch.no_grad():
        p.fill_(6.0)
    fresh.update()  # (0 + 4 + 6) / 3
    assert torch.allclose(fresh.average_0, torch.full((3,), 10 / 3))


def test_clip_weights_clamps_in_place():
    layer = nn.Linear(4, 4)
    with torch.no_grad():
        layer.weight.mul_(100)
    clip_weights_(layer.parameters(), 0.01)
    assert layer.weight.abs().max() <= 0.01 and layer.weight.abs().max() == 0.01
    with pytest.raises(GanforgeError, match="c > 0"):
        clip_weights_(layer.parameters(), 0.0)

"""The chapter 03 penalties against independent references: hand computation, torch.distributions,
torch.autograd.functional.jacobian, and torch's own SGD weight decay."""
import math

import pytest
import torch
from torch import nn

import aecourse as ae


def _codes(n=5, k=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, k, generator=g, dtype=dtype)


# --- L1 activity ------------------------------------------------------------------------------

def test_l1_activity_matches_hand_computation():
    z = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, -3.0]])
    # per image: 3 and 4; mean 3.5; times 0.1
    assert ae.l1_activity(z, 0.1).item() == pytest.approx(0.35)
    assert ae.l1_activity(z).item() == pytest.approx(3.5)


def test_l1_activity_is_zero_for_zero_strength_and_gives_sign_gradient():
    z = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    assert ae.l1_activity(z, 0.0).item() == 0.0
    ae.l1_activity(z, 1.0).backward()
    assert torch.equal(z.grad, torch.sign(z.detach()) / 2)  # d/dz of mean_n Σ|z|


@pytest.mark.parametrize("strength, error", [(-0.1, ValueError), (float("nan"), TypeError), ("1", TypeError)])
def test_l1_activity_rejects_bad_strength(strength, error):
    with pytest.raises(error, match="strength"):
        ae.l1_activity(torch.ones(2, 3), strength)


def test_l1_activity_rejects_wrong_shape():
    with pytest.raises(ValueError, match="batch dimension"):
        ae.l1_activity(torch.ones(3))


# --- KL sparsity ------------------------------------------------------------------------------

def test_kl_sparsity_matches_hand_computation():
    z = torch.tensor([[0.1, 0.5], [0.3, 0.7]])   # mean activations 0.2 and 0.6
    rho = 0.05
    expected = sum(rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r)) for r in (0.2, 0.6))
    assert ae.kl_sparsity(z, rho, strength=3.0).item() == pytest.approx(3.0 * expected, rel=1e-6)


def test_kl_sparsity_matches_torch_distributions():
    z = _codes(50, 7)
    rho = 0.1
    rho_hat = z.mean(dim=0)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Bernoulli(probs=torch.full_like(rho_hat, rho)),
        torch.distributions.Bernoulli(probs=rho_hat)).sum()
    assert torch.allclose(ae.kl_sparsity(z, rho), reference)


def test_kl_sparsity_is_zero_at_target_and_positive_elsewhere():
    z = torch.tensor([[0.0, 0.2], [0.2, 0.0]])  # both units have mean activation 0.1
    assert ae.kl_sparsity(z, 0.1).item() == pytest.approx(0.0, abs=1e-7)
    assert ae.kl_sparsity(z, 0.3).item() > 0.01


def test_kl_sparsity_stays_finite_for_dead_units():
    z = torch.zeros(4, 3, requires_grad=True)
    value = ae.kl_sparsity(z, 0.05)
    value.backward()
    assert math.isfinite(value.item()) and bool(torch.isfinite(z.grad).all())


@pytest.mark.parametrize("rho", [0.0, 1.0, -0.1, 1.5])
def test_kl_sparsity_rejects_rho_outside_open_unit_interval(rho):
    with pytest.raises(ValueError, match="rho must lie strictly between 0 and 1"):
        ae.kl_sparsity(torch.full((2, 3), 0.5), rho)


def test_kl_sparsity_rejects_codes_outside_unit_range():
    with pytest.raises(ValueError, match=r"z must lie in \[0, 1\]"):
        ae.kl_sparsity(torch.tensor([[0.5, 1.5]]), 0.05)


def test_kl_sparsity_rejects_negative_strength():
    with pytest.raises(ValueError, match="non-negative"):
        ae.kl_sparsity(torch.full((2, 3), 0.5), 0.05, strength=-1.0)


# --- contractive penalty -----------------------------------------------------------------------

def test_contractive_penalty_equals_autograd_jacobian():
    torch.manual_seed(0)
    layer = nn.Linear(6, 4).double()
    x = torch.rand(3, 6, dtype=torch.float64)
    encoder = lambda v: torch.sigmoid(layer(v))  # noqa: E731
    frob = [torch.autograd.functional.jacobian(encoder, x[i]).pow(2).sum() for i in range(len(x))]
    reference = torch.stack(frob).mean()                      # each Jacobian has shape (4, 6)
    got = ae.contractive_penalty(encoder(x), layer.weight, strength=1.0)
    assert torch.allclose(got, reference, rtol=1e-10)
    assert torch.allclose(ae.contractive_penalty(encoder(x), layer.weight, 0.25), 0.25 * reference)


def test_contractive_penalty_matches_autograd_on_an_autoencoder_encoder():
    torch.manual_seed(1)
    model = ae.Autoencoder([10, 7]).double()
    x = torch.rand(4, 10, dtype=torch.float64)
    reference = torch.stack([torch.autograd.functional.jacobian(model.encode, x[i]).pow(2).sum()
                             for i in range(len(x))]).mean()
    got = ae.contractive_penalty(model.encode(x), model.encoder[0].weight)
    assert torch.allclose(got, reference, rtol=1e-10)


def test_contractive_penalty_has_a_gradient_for_the_weights():
    model = ae.Autoencoder([10, 7])
    ae.contractive_penalty(model.encode(torch.rand(4, 10)), model.encoder[0].weight).backward()
    assert model.encoder[0].weight.grad.abs().sum() > 0


def test_contractive_penalty_rejects_mismatched_weight():
    with pytest.raises(ValueError, match="n_code, n_input"):
        ae.contractive_penalty(torch.full((2, 3), 0.5), torch.ones(5, 10))


def test_contractive_penalty_rejects_non_sigmoid_codes_and_negative_strength():
    with pytest.raises(ValueError, match=r"z must lie in \[0, 1\]"):
        ae.contractive_penalty(torch.tensor([[-1.0, 2.0]]), torch.ones(2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        ae.contractive_penalty(torch.full((2, 2), 0.5), torch.ones(2, 3), strength=-0.5)


# --- weight decay ------------------------------------------------------------------------------

def test_weight_decay_sums_weights_not_biases():
    model = ae.Autoencoder([5, 3])
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(2.0)
    # two 3x5 weight matrices of 2s: Σ W² = 2 * 15 * 4 = 120; times λ/2 with λ = 0.1
    assert ae.weight_decay(model, 0.1).item() == pytest.approx(6.0)


def test_weight_decay_counts_a_tied_weight_once():
    model = ae.Autoencoder([5, 3], tied=True)
    w = model.encoder[0].weight
    assert torch.allclose(ae.weight_decay(model, 1.0), 0.5 * w.pow(2).sum())
    assert torch.allclose(ae.weight_decay([w, w], 1.0), w.pow(2).sum())


def test_weight_decay_gradient_equals_sgd_weight_decay():
    torch.manual_seed(0)
    w0 = torch.randn(4, 3)
    lam, lr = 0.3, 0.5
    # one SGD step on the penalty alone ...
    a = w0.clone().requires_grad_()
    opt = torch.optim.SGD([a], lr=lr)
    ae.weight_decay([a], lam).backward()
    opt.step()
    # ... equals one step of torch's built-in weight decay on a zero loss
    b = w0.clone().requires_grad_()
    opt_b = torch.optim.SGD([b], lr=lr, weight_decay=lam)
    (0 * b.sum()).backward()
    opt_b.step()
    assert torch.allclose(a, b)


def test_weight_decay_rejects_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        ae.weight_decay(ae.Autoencoder([5, 3]), -1e-3)
    with pytest.raises(ValueError, match="no weights"):
        ae.weight_decay([], 0.1)
    with pytest.raises(TypeError, match="floating-point"):
        ae.weight_decay([torch.ones(2, 2, dtype=torch.int64)], 0.1)


# --- penalised loss in ae.fit ---------------------------------------------------------------------

def test_penalised_loss_returns_terms_and_trains_with_fit():
    torch.manual_seed(0)
    x = torch.rand(64, 12)
    model = ae.Autoencoder([12, 20])
    loss = ae.penalised_loss(lambda m, z, x_in: ae.kl_sparsity(z, 0.1, 1.0))
    terms = loss(model, x, x)
    assert set(terms) == {"loss", "recon", "penalty"}
    assert torch.allclose(terms["loss"], terms["recon"] + terms["penalty"])
    assert torch.allclose(terms["recon"], ae.squared_error(model(x), x))
    history = ae.fit(model, x, epochs=30, batch_size=None, loss=loss, lr=1e-2, progress=False, device="cpu")
    assert history.terms["penalty"][-1] < 0.5 * history.terms["penalty"][0]
    assert history.terms["recon"][-1] < history.terms["recon"][0]


def test_penalised_loss_rejects_non_callables():
    with pytest.raises(TypeError, match="functions"):
        ae.penalised_loss(0.1)

"""ae.RBM against brute force: free energy and exact log-likelihood by enumerating every state."""
import itertools
import math

import pytest
import torch

import aecourse as ae


def all_states(n: int) -> torch.Tensor:
    """Every binary vector of length n, shape (2**n, n)."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def tiny_rbm(n_visible=6, n_hidden=4, hidden="binary", seed=0) -> ae.RBM:
    """A 'fitted' RBM with random parameters in float64 (set by hand: no training needed)."""
    g = torch.Generator().manual_seed(seed)
    rbm = ae.RBM(n_visible, n_hidden, hidden=hidden, device="cpu", progress=False)
    rbm.weight_ = torch.randn(n_visible, n_hidden, generator=g, dtype=torch.float64)
    rbm.visible_bias_ = torch.randn(n_visible, generator=g, dtype=torch.float64)
    rbm.hidden_bias_ = torch.randn(n_hidden, generator=g, dtype=torch.float64)
    return rbm


def energy(v, h, rbm):
    """E(v, h) = -bᵀv - cᵀh - vᵀWh for every pair of rows: shape (len(v), len(h))."""
    w, b, c = rbm.weight_.double(), rbm.visible_bias_.double(), rbm.hidden_bias_.double()
    return -(v @ b)[:, None] - (h @ c)[None, :] - v @ w @ h.T


def exact_log_likelihood(rbm, data) -> float:
    """Mean log p(v) over the rows of data, with Z summed over all 2^(n_v + n_h) joint states."""
    v, h = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    log_z = torch.logsumexp(-energy(v, h, rbm).flatten(), 0)
    log_p_data = torch.logsumexp(-energy(data.double(), h, rbm), dim=1)
    return float((log_p_data - log_z).mean())


def test_bernoulli_fires_with_probability_p_rounded_up_to_a_multiple_of_2_to_the_minus_16():
    g = torch.Generator().manual_seed(0)
    p = torch.tensor([0.0, 2**-16, 1e-3, 0.1, 0.3, 0.5, 0.5 + 1e-6, 0.77, 1 - 2**-16, 1.0])
    n = 400_000
    sample = ae.bernoulli(p.expand(n, -1), g)                    # a broadcast view: not contiguous
    assert sample.shape == (n, len(p)) and sample.dtype == p.dtype
    assert set(sample.unique().tolist()) == {0.0, 1.0}
    freq, want = sample.double().mean(0), torch.ceil(p.double() * 65536) / 65536
    assert freq[0] == 0 and freq[-1] == 1                        # p = 0 never fires, p = 1 always does
    assert ((freq - want).abs() <= 5 * (want * (1 - want) / n).sqrt()).all(), (freq, want)
    # the four numbers cut from one 64-bit draw are independent: neighbours are uncorrelated
    coin = ae.bernoulli(torch.full((n, 4), 0.5), g)
    corr = torch.corrcoef(coin.T) - torch.eye(4)
    assert corr.abs().max() < 0.01, corr
    # half and double precision work; the same generator state gives the same sample
    for dtype in (torch.float16, torch.float64):
        half = ae.bernoulli(torch.full((1000, 3), 0.25, dtype=dtype), g)
        assert half.dtype == dtype and abs(float(half.mean()) - 0.25) < 0.03
    a = ae.bernoulli(torch.full((7, 5), 0.5), torch.Generator().manual_seed(3))
    assert torch.equal(a, ae.bernoulli(torch.full((7, 5), 0.5), torch.Generator().manual_seed(3)))


def test_free_energy_matches_brute_force_sum_over_hidden_states():
    rbm = tiny_rbm()
    v, h = all_states(6), all_states(4)
    brute = -torch.logsumexp(-energy(v, h, rbm), dim=1)          # F(v) = -log Σ_h exp(-E(v, h))
    assert torch.allclose(rbm.free_energy(v), brute, atol=1e-10)


def test_free_energies_give_a_normalised_distribution():
    rbm = tiny_rbm(seed=1)
    v, h = all_states(6), all_states(4)
    log_z = torch.logsumexp(-energy(v, h, rbm).flatten(), 0)
    p = torch.exp(-rbm.free_energy(v) - log_z)
    assert abs(float(p.sum()) - 1.0) < 1e-10


def test_gaussian_free_energy_matches_numerical_integral():
    # one Gaussian hidden unit: integrate exp(-E(v, h)) over h on a fine grid
    rbm = tiny_rbm(n_visible=3, n_hidden=1, hidden="gaussian", seed=2)
    v = all_states(3)
    hs = torch.linspace(-30, 30, 20001, dtype=torch.float64)[:, None]
    e = -(v @ rbm.visible_bias_)[:, None] + 0.5 * (hs.T - rbm.hidden_bias_) ** 2 - (v @ rbm.weight_) @ hs.T
    integral = torch.trapezoid(torch.exp(-e), hs[:, 0], dim=1)
    assert torch.allclose(rbm.free_energy(v), -torch.log(integral), atol=1e-6)


def test_conditionals_match_brute_force():
    rbm = tiny_rbm(seed=3)
    v, h = all_states(6), all_states(4)
    joint = torch.exp(-energy(v, h, rbm))                        # unnormalised p(v, h)
    p_h_given_v = joint / joint.sum(1, keepdim=True)
    assert torch.allclose(rbm.hidden_probs(v), p_h_given_v @ h, atol=1e-10)   # E[h | v]
    p_v_given_h = joint / joint.sum(0, keepdim=True)
    assert torch.allclose(rbm.visible_probs(h), (p_v_given_h.T @ v), atol=1e-10)


def test_gaussian_hidden_conditional_means_by_hand():
    rbm = tiny_rbm(n_visible=3, n_hidden=2, hidden="gaussian", seed=4)
    v = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    w, c = rbm.weight_, rbm.hidden_bias_
    by_hand = torch.stack([c[j] + w[0, j] + w[2, j] for j in range(2)])   # c_j + Σ_i v_i W_ij, no sigmoid
    assert torch.allclose(rbm.transform(v)[0], by_hand)
    # and the samples scatter around the mean with unit variance
    rbm.random_state, rbm._gen = 0, None
    rbm._ensure_generator()
    samples = rbm.sample_hidden(v.expand(20000, 3))
    assert torch.allclose(samples.mean(0), by_hand, atol=0.05)
    assert torch.allclose(samples.var(0), torch.ones(2, dtype=torch.float64), atol=0.05)


@pytest.mark.parametrize("persistent", [False, True])
def test_contrastive_divergence_raises_the_exact_log_likelihood(persistent):
    # tiny data: two noisy prototypes on 6 pixels
    g = torch.Generator().manual_seed(0)
    protos = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=torch.float32)
    data = protos[torch.randint(0, 2, (200,), generator=g)]
    flip = torch.rand(data.shape, generator=g) < 0.05
    data = torch.where(flip, 1 - data, data)
    # the initial weights fit() draws first from its generator: 0.1 * N(0, 1), zero biases
    start = tiny_rbm()
    start.weight_ = 0.1 * torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    start.visible_bias_, start.hidden_bias_ = torch.zeros(6), torch.zeros(4)
    ll_start = exact_log_likelihood(start, data)
    assert math.isclose(ll_start, 6 * math.log(0.5), abs_tol=0.1)   # near-uniform at the start
    # the recipe's settings for CD-1; persistent chains need a smaller step and momentum to keep mixing
    settings = dict(lr=0.05, final_momentum=0.5) if persistent else {}
    rbm = ae.RBM(6, 4, epochs=30, batch_size=20, persistent=persistent, random_state=0,
                 device="cpu", progress=False, **settings).fit(data)
    ll_end = exact_log_likelihood(rbm, data)
    assert ll_end > ll_start + 1.0, (ll_start, ll_end)
    assert rbm.history_.train_loss[-1] < rbm.history_.train_loss[0]


def test_cd_update_equals_rbm_m_step():
    # contrastive_divergence is <v h>_data - <v h>_model averaged over the batch
    g = torch.Generator().manual_seed(0)
    v0, v1 = torch.rand(5, 3, generator=g), torch.rand(5, 3, generator=g)
    h0, h1 = torch.rand(5, 2, generator=g), torch.rand(5, 2, generator=g)
    dw, db, dc = ae.contrastive_divergence(v0, h0, v1, h1)
    loop = sum(torch.outer(v0[n], h0[n]) - torch.outer(v1[n], h1[n]) for n in range(5)) / 5
    assert torch.allclose(dw, loop)
    assert torch.allclose(db, (v0 - v1).mean(0)) and torch.allclose(dc, (h0 - h1).mean(0))


@pytest.mark.parametrize("weight_cost", [2e-4, 0.0])
def test_fused_update_is_rbm_m_momentum_step_on_contrastive_divergence(weight_cost):
    # RBM._update computes in place what the readable recipe computes from contrastive_divergence
    g = torch.Generator().manual_seed(1)
    v0, v1 = torch.rand(7, 4, generator=g, dtype=torch.float64), torch.rand(7, 4, generator=g, dtype=torch.float64)
    h0, h1 = torch.rand(7, 3, generator=g, dtype=torch.float64), torch.rand(7, 3, generator=g, dtype=torch.float64)
    rbm = ae.RBM(4, 3, weight_cost=weight_cost)
    rbm.weight_ = torch.randn(4, 3, generator=g, dtype=torch.float64)
    rbm.visible_bias_ = torch.randn(4, generator=g, dtype=torch.float64)
    rbm.hidden_bias_ = torch.randn(3, generator=g, dtype=torch.float64)
    velocity = [torch.randn(p.shape, generator=g, dtype=torch.float64)
                for p in (rbm.weight_, rbm.visible_bias_, rbm.hidden_bias_)]
    momentum, lr = 0.9, 0.1
    d_w, d_b, d_c = ae.contrastive_divergence(v0, h0, v1, h1)
    grads = (d_w - weight_cost * rbm.weight_, d_b, d_c)
    expected_vel = [momentum * vel + lr * grad for vel, grad in zip(velocity, grads)]
    expected = [p + vel for p, vel in zip((rbm.weight_, rbm.visible_bias_, rbm.hidden_bias_), expected_vel)]
    rbm._update(velocity, v0, h0, v1, h1, momentum, lr)
    for got, want in zip(velocity + [rbm.weight_, rbm.visible_bias_, rbm.hidden_bias_], expected_vel + expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, persistent, per_batch", [(1, False, 2), (3, False, 4), (1, True, 3)])
def test_each_update_computes_the_hidden_probabilities_it_needs_once(monkeypatch, k, persistent, per_batch):
    # CD-k: h0 for the data (which is also the chain's first hidden step), one per later Gibbs step,
    # and h1 for the statistics; PCD: also the chains' own. No product is computed twice.
    calls = []
    real = ae.RBM.hidden_probs
    monkeypatch.setattr(ae.RBM, "hidden_probs", lambda self, v: calls.append(len(v)) or real(self, v))
    x = (torch.rand(40, 6, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    ae.RBM(6, 3, k=k, persistent=persistent, epochs=2, batch_size=10, random_state=0, device="cpu",
           progress=False).fit(x)
    assert len(calls) == 2 * 4 * per_batch


def test_recipe_defaults_and_fitted_state():
    assert ae.RBM(4, 2)._lr() == 0.1 and ae.RBM(4, 2, hidden="gaussian")._lr() == 0.001
    x = (torch.rand(50, 8, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    rbm = ae.RBM(8, 3, epochs=6, batch_size=10, random_state=1, device="cpu", progress=False)
    assert rbm.fit(x) is rbm
    assert rbm.weight_.shape == (8, 3) and rbm.visible_bias_.shape == (8,) and rbm.hidden_bias_.shape == (3,)
    assert len(rbm.history_.train_loss) == 6
    assert rbm.transform(x).shape == (50, 3)
    assert rbm.gibbs(x, steps=3).shape == (50, 8)
    sample = rbm.gibbs(x, steps=2, mean=False)
    assert set(sample.unique().tolist()) <= {0.0, 1.0}
    # the same random_state gives the same RBM
    again = ae.RBM(8, 3, epochs=6, batch_size=10, random_state=1, device="cpu", progress=False).fit(x)
    assert torch.equal(rbm.weight_, again.weight_)


def test_bad_inputs_get_clear_errors():
    x = torch.rand(20, 6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.RBM(6, 2, progress=False, device="cpu").fit(x * 2)
    with pytest.raises(ValueError, match="k .*at least 1"):
        ae.RBM(6, 2, k=0, progress=False, device="cpu").fit(x)
    with pytest.raises(ValueError, match="hidden"):
        ae.RBM(6, 2, hidden="relu", progress=False, device="cpu").fit(x)
    with pytest.raises(ValueError, match="features"):
        ae.RBM(5, 2, progress=False, device="cpu").fit(x)
    with pytest.raises(RuntimeError, match="not fitted"):
        ae.RBM(6, 2).transform(x)
    rbm = ae.RBM(6, 2, epochs=1, progress=False, device="cpu").fit(x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rbm.free_energy(x - 1)
    with pytest.raises(ValueError, match="steps"):
        rbm.gibbs(x, steps=0)

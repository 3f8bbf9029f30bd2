"""Tests of aecourse.vae (chapter 05) against independent references: torch.distributions for the
KL term and the log-densities, scipy for the normal quantiles, brute-force formulas elsewhere."""
import functools

import pytest
import torch
from scipy.stats import norm
from torch.distributions import Normal, kl_divergence

import aecourse as ae


@pytest.fixture(scope="module")
def mnist():
    return ae.load_mnist()


@pytest.fixture(scope="module")
def trained(mnist):
    """A small VAE trained for a few epochs on real digits (a few seconds on a CPU)."""
    ae.seed_everything(0)
    model = ae.VAE([784, 200, 10])
    history = ae.fit(model, mnist.x_train[:1000], epochs=6, batch_size=50, lr=2e-3, loss=ae.negative_elbo,
                     progress=False, device="cpu")
    return model, history


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(50, 7, generator=g) * 2, torch.randn(50, 7, generator=g) * 1.5
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=1)
    torch.testing.assert_close(ae.gaussian_kl(mu, logvar), expected, rtol=1e-5, atol=1e-5)
    assert float(ae.gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max()) == 0.0  # q = prior


def test_reparameterize_formula_statistics_and_gradient():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.5, -1.0]], requires_grad=True)
    eps = torch.tensor([[0.3, -1.2]])
    z = ae.reparameterize(mu, logvar, eps)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps)
    z.sum().backward()
    # dz/dμ = 1 and dz/dlogvar = ½ σ ε: the gradient reaches the encoder's outputs
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)
    assert float(logvar.grad.abs().min()) > 0
    # without the trick a sample carries no gradient at all
    assert not Normal(mu, torch.exp(0.5 * logvar)).sample().requires_grad
    # the samples have the intended mean and standard deviation
    torch.manual_seed(0)
    many = ae.reparameterize(torch.full((200_000, 1), 3.0), torch.full((200_000, 1), 2 * torch.log(torch.tensor(0.5))))
    assert abs(float(many.mean()) - 3.0) < 0.01 and abs(float(many.std()) - 0.5) < 0.01


def test_reparameterize_rejects_nan_logvar_and_shape_mismatch():
    with pytest.raises(ValueError, match="NaN"):
        ae.reparameterize(torch.zeros(2, 3), torch.tensor([[0.0, float("nan"), 0.0]] * 2))
    with pytest.raises(ValueError, match="shape"):
        ae.reparameterize(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="eps"):
        ae.reparameterize(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3))


def test_vae_shapes_and_checkpoint_roundtrip(tmp_path):
    model = ae.VAE([784, 64, 5])
    x = torch.rand(6, 784)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (6, 5)
    logits, mu2, logvar2 = model(x)
    assert logits.shape == (6, 784) and torch.equal(mu, mu2) and torch.equal(logvar, logvar2)
    assert model.sample(3).shape == (3, 784)
    assert model.n_input == 784 and model.n_latent == 5
    loaded = ae.load(ae.save(model, tmp_path / "vae.pt"))
    z = torch.randn(4, 5)
    assert type(loaded) is ae.VAE and torch.equal(loaded.decode(z), model.decode(z))
    # a VAE without hidden layer works too (encoder is the two linear heads)
    assert ae.VAE([10, 2]).encode(torch.rand(3, 10))[0].shape == (3, 2)
    with pytest.raises(ValueError, match="sizes"):
        ae.VAE([784])
    with pytest.raises(ValueError, match="nonlinear"):
        ae.VAE([784, 10, 2], activation="linear")


def test_sample_takes_a_generator_on_the_models_device_or_the_cpu():
    # ae.device() is the simulated GPU when the unit tests run on it (tests/test_fake_gpu.py): there, as
    # on CUDA, a generator made on the device cannot draw CPU numbers, nor a CPU one device numbers
    dev = ae.device()
    model = ae.VAE([20, 8, 3]).to(dev)
    on_device = [model.sample(4, generator=torch.Generator(device=dev).manual_seed(0)) for _ in range(2)]
    on_cpu = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(*on_device) and on_cpu.device == on_device[0].device == next(model.parameters()).device
    cvae = ae.ConditionalVAE([20, 8, 3], n_classes=10).to(dev)
    y = torch.tensor([0, 1, 2, 3], device=dev)
    assert cvae.sample(4, y, generator=torch.Generator(device=dev).manual_seed(0)).shape == (4, 20)
    assert torch.equal(model.cpu().sample(4, generator=torch.Generator().manual_seed(0)), on_cpu.cpu())


def test_negative_elbo_terms():
    torch.manual_seed(0)
    model = ae.VAE([20, 8, 3])
    x = torch.rand(16, 20)
    torch.manual_seed(1)
    terms = ae.negative_elbo(model, x, x, beta=2.5)
    torch.manual_seed(1)
    logits, mu, logvar = model(x)
    recon = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / len(x)
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum() / len(x)
    torch.testing.assert_close(terms["recon"], recon, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(terms["kl"], kl, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(terms["loss"], recon + 2.5 * kl, rtol=1e-4, atol=1e-4)


def test_negative_elbo_rejects_data_outside_unit_interval_and_nan_logvar():
    model = ae.VAE([20, 8, 3])
    x = torch.rand(4, 20)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.negative_elbo(model, x * 255, x * 255)
    with pytest.raises(ValueError, match="beta"):
        ae.negative_elbo(model, x, x, beta=-1.0)
    with torch.no_grad():
        model.logvar.bias[0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ae.negative_elbo(model, x, x)


def test_fit_trains_a_vae_and_logs_both_terms(trained):
    _, history = trained
    assert set(history.terms) == {"loss", "recon", "kl"}
    assert history.train_loss[-1] < 0.75 * history.train_loss[0]
    for a, b, c in zip(history.terms["loss"], history.terms["recon"], history.terms["kl"]):
        assert a == pytest.approx(b + c, rel=1e-6)


def test_iwae_bound_is_above_the_elbo_and_grows_with_k(trained, mnist):
    model, _ = trained
    x = mnist.x_test[:300]
    torch.manual_seed(0)
    # the ELBO per image, averaged over 20 samples of z so that its noise is small
    with torch.no_grad():
        elbo = torch.stack([-ae.negative_elbo(model, x, x)["loss"] for _ in range(20)]).mean()
    bounds = {}
    for k in (1, 10, 100):
        torch.manual_seed(k)
        bounds[k] = float(ae.iwae_bound(model, x, k).mean())
    assert bounds[1] == pytest.approx(float(elbo), abs=1.0)  # k = 1 is the ELBO
    assert float(elbo) < bounds[10] < bounds[100]
    assert bounds[100] - float(elbo) > 1.0  # a real gap, far above the ~0.3 nat sampling noise
    # chunking (max_rows) changes the memory, not the result
    torch.manual_seed(3)
    small = ae.iwae_bound(model, x[:7], 5, max_rows=6)
    torch.manual_seed(3)
    assert small.shape == (7,) and torch.isfinite(small).all()


@torch.no_grad()
def test_iwae_bound_matches_a_direct_computation():
    torch.manual_seed(0)
    model = ae.VAE([6, 4, 2])
    x = torch.rand(3, 6)
    torch.manual_seed(5)
    got = ae.iwae_bound(model, x, 7)
    torch.manual_seed(5)
    mu, logvar = model.encode(x)
    std = torch.exp(0.5 * logvar)
    z = mu + std * torch.randn(7, 3, 2)
    logits = model.decode(z)
    log_px = torch.distributions.Bernoulli(logits=logits, validate_args=False).log_prob(x).sum(-1)  # grey pixels
    log_w = log_px + Normal(0.0, 1.0).log_prob(z).sum(-1) - Normal(mu, std).log_prob(z).sum(-1)
    expected = torch.log(torch.exp(log_w).mean(0))
    torch.testing.assert_close(got, expected.detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_iwae_bound_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k"):
        ae.iwae_bound(ae.VAE([6, 2]), torch.rand(2, 6), k)


def test_iwae_bound_rejects_data_outside_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.iwae_bound(ae.VAE([6, 2]), torch.rand(2, 6) + 1, 3)


def test_conditional_vae(mnist):
    ae.seed_everything(0)
    model = ae.ConditionalVAE([784, 64, 4], n_classes=10)
    x, y = mnist.x_train[:500], mnist.y_train[:500]
    history = ae.fit(model, x, y=y, epochs=2, loss=ae.negative_elbo, progress=False, device="cpu")
    assert history.train_loss[-1] < history.train_loss[0]
    mu, logvar = model.encode(x[:5], y[:5])
    assert mu.shape == (5, 4)
    # the label changes the decoded image
    z = torch.zeros(1, 4)
    assert not torch.allclose(model.decode(z, torch.tensor([1])), model.decode(z, torch.tensor([7])))
    assert model.sample(6, 3).shape == (6, 784)
    assert ae.iwae_bound(model, x[:10], 4, y=y[:10]).shape == (10,)
    assert ae.kl_per_dim(model, x[:50], y[:50]).shape == (4,)
    with pytest.raises(ValueError, match="labels"):
        ae.iwae_bound(model, x[:10], 4)
    with pytest.raises(ValueError, match="0..9"):
        model.encode(x[:2], torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="int64"):
        model.encode(x[:2], torch.tensor([3.0, 1.0]))
    with pytest.raises(ValueError, match="only for a ConditionalVAE"):
        ae.iwae_bound(ae.VAE([784, 2]), x[:2], 2, y=y[:2])


def test_interpolate_linear_and_spherical():
    z0, z1 = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    line = ae.interpolate(z0, z1, steps=5)
    assert line.shape == (5, 3)
    torch.testing.assert_close(line[0], z0)
    torch.testing.assert_close(line[-1], z1)
    torch.testing.assert_close(line[2], (z0 + z1) / 2)
    arc = ae.interpolate(z0, z1, steps=5, method="spherical")
    torch.testing.assert_close(arc[0], z0)
    torch.testing.assert_close(arc[-1], z1)
    torch.testing.assert_close(arc.norm(dim=1), torch.ones(5))  # stays on the sphere
    angle = torch.tensor(torch.pi / 8)
    torch.testing.assert_close(arc[1], torch.stack([torch.cos(angle), torch.sin(angle), torch.tensor(0.0)]))
    torch.testing.assert_close(ae.interpolate(z0, 2 * z0, steps=3, method="spherical")[1], 1.5 * z0)  # parallel
    with pytest.raises(ValueError, match="method"):
        ae.interpolate(z0, z1, method="cubic")
    with pytest.raises(ValueError, match="same shape"):
        ae.interpolate(z0, torch.zeros(4))


def test_manifold_grid_decodes_normal_quantiles():
    torch.manual_seed(0)
    model = ae.VAE([12, 6, 2])
    grid = ae.manifold_grid(model, n=4, edge=0.1)
    q = torch.tensor(norm.ppf([0.1, 0.3666666666, 0.6333333333, 0.9]), dtype=torch.float32)
    # row r (top = high z₂), column c (low -> high z₁)
    z = torch.tensor([[float(q[c]), float(q[3 - r])] for r in range(4) for c in range(4)])
    torch.testing.assert_close(grid, torch.sigmoid(model.decode(z)).detach(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="2 latent"):
        ae.manifold_grid(ae.VAE([12, 3]))


def test_active_units_and_kl_per_dim():
    torch.manual_seed(0)
    model = ae.VAE([10, 8, 4])
    with torch.no_grad():
        model.mu.weight[2:] = 0.0  # dimensions 2 and 3: the posterior mean ignores the input
    x = torch.rand(500, 10)
    assert ae.active_units(model, x, threshold=1e-6) == 2
    per_dim = ae.kl_per_dim(model, x)
    mu, logvar = model.encode(x)
    torch.testing.assert_close(per_dim.sum(), ae.gaussian_kl(mu, logvar).mean().detach(), rtol=1e-5, atol=1e-5)
    assert per_dim.shape == (4,)


def test_negative_elbo_with_partial_beta_in_fit(mnist):
    ae.seed_everything(0)
    model = ae.VAE([784, 32, 4])
    h = ae.fit(model, mnist.x_train[:300], epochs=1, loss=functools.partial(ae.negative_elbo, beta=4.0),
               progress=False, device="cpu")
    assert h.terms["loss"][0] == pytest.approx(h.terms["recon"][0] + 4.0 * h.terms["kl"][0], rel=1e-6)


def test_reconstruct_and_encode_of_a_vae(trained, mnist):
    trained, _ = trained
    x = mnist.x_test[:30]
    with torch.no_grad():
        expected = torch.sigmoid(trained.decode(trained.encode(x)[0]))
    x_prime = ae.reconstruct(trained, x, batch_size=7)          # deterministic: the decoded posterior mean
    torch.testing.assert_close(x_prime, expected)
    assert x_prime.shape == x.shape and 0 <= float(x_prime.min()) and float(x_prime.max()) <= 1
    with pytest.raises(TypeError, match=r"VAE.encode\(x\) returned a tuple, not one tensor"):
        ae.encode(trained, x)

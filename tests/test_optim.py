"""ScipyMinimizer and the parameter <-> vector helpers (aecourse/optim.py)."""
import numpy as np
import pytest
import scipy.optimize
import torch
from torch import nn

import aecourse as ae


def _quadratic_problem(seed=0, n=40, d=6):
    """Least squares ||A w + b - y||^2 / n: a convex quadratic whose minimiser numpy knows exactly."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(d, 1).double()
    design = np.hstack([a.numpy(), np.ones((n, 1))])
    exact, *_ = np.linalg.lstsq(design, y.numpy(), rcond=None)
    return a, y, model, exact.ravel()


def _closure(model, a, y, opt):
    def closure():
        opt.zero_grad()
        loss = (model(a) - y).pow(2).mean()
        loss.backward()
        return loss
    return closure


def test_flatten_and_write_back_round_trip():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    vec = ae.parameters_to_numpy(model.parameters())
    assert vec.dtype == np.float64 and vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    expected = torch.nn.utils.parameters_to_vector(model.parameters()).detach().double().numpy()
    np.testing.assert_array_equal(vec, expected)
    new = np.arange(vec.size, dtype=np.float64)
    ae.numpy_to_parameters(new, model.parameters())
    np.testing.assert_array_equal(model[0].weight.detach().numpy().ravel(), np.arange(12))
    assert model[0].weight.dtype == torch.float32  # cast back to the parameter's dtype
    np.testing.assert_array_equal(ae.parameters_to_numpy(model.parameters()), new)


def test_bad_vectors_are_refused():
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="holds? 8 numbers"):
        ae.numpy_to_parameters(np.zeros(7), model.parameters())
    with pytest.raises(ValueError, match="NaN"):
        ae.numpy_to_parameters(np.full(8, np.nan), model.parameters())
    with pytest.raises(ValueError, match="no parameters"):
        ae.parameters_to_numpy([])


@pytest.mark.parametrize("method", ["CG", "BFGS", "L-BFGS-B"])
def test_step_reaches_the_least_squares_solution(method):
    a, y, model, exact = _quadratic_problem()
    opt = ae.ScipyMinimizer(model.parameters(), method=method, maxiter=200, options={"gtol": 1e-8})
    loss = opt.step(_closure(model, a, y, opt))
    got = ae.parameters_to_numpy(model.parameters())
    design = np.hstack([a.numpy(), np.ones((len(a), 1))])
    best = np.mean((design @ exact - y.numpy().ravel()) ** 2)
    assert float(loss) == pytest.approx(best, rel=1e-9)  # the minimum value, to float64 line-search precision
    np.testing.assert_allclose(got, exact, atol=1e-4)
    assert opt.result.success and opt.n_evaluations >= opt.result.nit
    assert float(loss) == pytest.approx(opt.result.fun)


def test_same_iterates_as_scipy_on_the_flat_function():
    """One CG step equals scipy.optimize.minimize called directly on the same function."""
    a, y, model, _ = _quadratic_problem(seed=1)
    x0 = ae.parameters_to_numpy(model.parameters())
    design = np.hstack([a.numpy(), np.ones((len(a), 1))])

    def fun(w):
        r = design @ w - y.numpy().ravel()
        return r @ r / len(r), 2 * design.T @ r / len(r)

    direct = scipy.optimize.minimize(fun, x0, jac=True, method="CG", options={"maxiter": 3})
    opt = ae.ScipyMinimizer(model.parameters(), method="CG", maxiter=3)
    opt.step(_closure(model, a, y, opt))
    np.testing.assert_allclose(ae.parameters_to_numpy(model.parameters()), direct.x, rtol=1e-9, atol=1e-12)
    assert opt.result.nit == direct.nit == 3


def test_callback_sees_every_iteration_in_the_model():
    a, y, model, _ = _quadratic_problem(seed=2)
    seen = []
    opt = ae.ScipyMinimizer(model.parameters(), method="CG", maxiter=5,
                            callback=lambda: seen.append(float((model(a) - y).pow(2).mean().detach())))
    opt.step(_closure(model, a, y, opt))
    assert len(seen) == opt.result.nit == 5
    assert all(later <= earlier + 1e-12 for earlier, later in zip(seen, seen[1:]))  # CG never goes uphill


def test_fit_trains_a_linear_autoencoder_with_conjugate_gradient():
    x = ae.load_digits().x_train[:300]
    ae.seed_everything(0)
    model = ae.Autoencoder([64, 4], activation=None, out_activation=None)
    opt = ae.ScipyMinimizer(model.parameters(), method="CG", maxiter=25)
    history = ae.fit(model, x, batch_size=None, optimizer=opt, epochs=3, progress=False, device="cpu")
    assert history.epochs == 3
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert opt.result.nit == 25 and opt.n_evaluations > 3 * 25  # line searches evaluate more than once


def test_bad_settings_get_clear_errors():
    params = nn.Linear(2, 2).parameters()
    with pytest.raises(ValueError, match="gradient-based"):
        ae.ScipyMinimizer(params, method="Nelder-Mead")
    with pytest.raises(ValueError, match="maxiter"):
        ae.ScipyMinimizer(nn.Linear(2, 2).parameters(), maxiter=0)
    with pytest.raises(TypeError, match="callback"):
        ae.ScipyMinimizer(nn.Linear(2, 2).parameters(), callback=3)
    opt = ae.ScipyMinimizer(nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match="closure"):
        opt.step(None)
    assert ae.ScipyMinimizer.needs_closure is True

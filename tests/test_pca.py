"""PCA against scikit-learn, principal angles on constructed subspaces (aecourse/pca.py)."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.decomposition import PCA as SkPCA

import aecourse as ae


@pytest.fixture(scope="module")
def digits():
    return ae.load_digits().x_train  # (n, 64) real 8x8 digits


@pytest.mark.parametrize("rows", [None, 100])   # all rows: the scatter matrix's eigenvectors; 100 <= 2 * 64: the SVD
@pytest.mark.parametrize("k", [1, 5, 20])
def test_matches_scikit_learn(digits, k, rows):
    digits = digits[:rows]
    ours = ae.PCA(k).fit(digits)
    ref = SkPCA(n_components=k, svd_solver="full").fit(digits.double().numpy())
    # same signs too (svd_flip), not only the same directions
    np.testing.assert_allclose(ours.components_.double().numpy(), ref.components_, atol=1e-4)
    np.testing.assert_allclose(ours.mean_.double().numpy(), ref.mean_, atol=1e-6)
    np.testing.assert_allclose(ours.explained_variance_.double().numpy(), ref.explained_variance_, rtol=1e-5)
    np.testing.assert_allclose(ours.explained_variance_ratio_.double().numpy(), ref.explained_variance_ratio_,
                               rtol=1e-5)
    np.testing.assert_allclose(ours.singular_values_.double().numpy(), ref.singular_values_, rtol=1e-5)
    z = ours.transform(digits)
    assert z.shape == (len(digits), k) and z.dtype == torch.float32
    np.testing.assert_allclose(z.double().numpy(), ref.transform(digits.double().numpy()), atol=1e-4)
    np.testing.assert_allclose(ours.inverse_transform(z).double().numpy(),
                               ref.inverse_transform(ref.transform(digits.double().numpy())), atol=1e-4)
    assert torch.allclose(ours.reconstruct(digits), ours.inverse_transform(z))


def test_same_signs_on_every_run_and_orthonormal(digits):
    a = ae.PCA(10).fit(digits).components_
    b = ae.PCA(10).fit(digits.flip(0)).components_  # rows reordered: an SVD may flip signs, svd_flip not
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(a @ a.T, torch.eye(10), atol=1e-5)
    big = a.gather(1, a.abs().argmax(1, keepdim=True))
    assert bool((big > 0).all())


def test_reconstruction_error_is_the_sum_of_discarded_variances(digits):
    """Eckart-Young on the training data: error per image = Σ of the discarded eigenvalues · (n-1)/n."""
    n = len(digits)
    full = ae.PCA(64).fit(digits)
    for k in (3, 10, 40):
        err = (ae.PCA(k).fit(digits).reconstruct(digits) - digits).double().pow(2).sum(1).mean()
        expected = full.explained_variance_[k:].double().sum() * (n - 1) / n
        assert float(err) == pytest.approx(float(expected), rel=1e-4)


def test_works_on_float64_and_keeps_the_dtype(digits):
    pca = ae.PCA(3).fit(digits.double())
    assert pca.components_.dtype == torch.float64 and pca.transform(digits.double()).dtype == torch.float64


def test_bad_inputs_get_clear_errors(digits):
    with pytest.raises(ValueError, match="larger than min"):
        ae.PCA(65).fit(digits)
    with pytest.raises(ValueError, match="larger than min"):
        ae.PCA(11).fit(digits[:10])
    with pytest.raises(ValueError, match="shape"):
        ae.PCA(2).fit(digits[0])
    with pytest.raises(ValueError, match="shape"):
        ae.PCA(2).fit(digits.reshape(-1, 8, 8))
    bad = digits.clone()
    bad[3, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ae.PCA(2).fit(bad)
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        ae.PCA(2).fit(bad[:100])   # the SVD's branch checks the same way
    bad[3, 5] = -float("inf")
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        ae.PCA(2).fit(bad)
    with pytest.raises(ValueError, match="overflow"):
        ae.PCA(2).fit(digits.double() * 1e306)
    with pytest.raises(ValueError, match="at least 1"):
        ae.PCA(0)
    with pytest.raises(TypeError, match="integer"):
        ae.PCA(2.5)
    with pytest.raises(RuntimeError, match="not fitted"):
        ae.PCA(2).transform(digits)
    pca = ae.PCA(2).fit(digits)
    with pytest.raises(ValueError, match="64 are expected"):
        pca.transform(digits[:, :10])
    with pytest.raises(ValueError, match="2 are expected"):
        pca.inverse_transform(torch.zeros(4, 3))


def _rotation_basis(angles, d=7, seed=0):
    """Two (d, p) bases with known principal angles: a = e_1..e_p, b_i = cos θ_i e_i + sin θ_i e_{p+i},
    both then rotated by the same random orthogonal matrix and mixed by random invertible matrices."""
    p = len(angles)
    a = torch.zeros(d, p, dtype=torch.float64)
    b = torch.zeros(d, p, dtype=torch.float64)
    for i, t in enumerate(angles):
        a[i, i] = 1.0
        b[i, i], b[p + i, i] = math.cos(t), math.sin(t)
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    mix_a = torch.randn(p, p, generator=g, dtype=torch.float64) + 3 * torch.eye(p, dtype=torch.float64)
    mix_b = torch.randn(p, p, generator=g, dtype=torch.float64) + 3 * torch.eye(p, dtype=torch.float64)
    return q @ a @ mix_a, q @ b @ mix_b


def test_principal_angles_of_constructed_subspaces():
    angles = [0.0, 0.2, 0.7, math.pi / 2]
    a, b = _rotation_basis(angles, d=9)
    got = ae.principal_angles(a, b)
    assert got.dtype == torch.float64 and got.shape == (4,)
    np.testing.assert_allclose(got.numpy(), angles, atol=1e-10)
    np.testing.assert_allclose(ae.principal_angles(b, a).numpy(), angles, atol=1e-10)  # symmetric


def test_small_angles_are_accurate():
    a, b = _rotation_basis([1e-9, 3e-6], d=5)
    np.testing.assert_allclose(ae.principal_angles(a, b).numpy(), [1e-9, 3e-6], rtol=1e-5)


def test_principal_angles_match_scipy_and_handle_different_dimensions():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(30, 6, generator=g, dtype=torch.float64)
    b = torch.randn(30, 3, generator=g, dtype=torch.float64)
    got = ae.principal_angles(a, b).numpy()
    ref = np.sort(scipy.linalg.subspace_angles(a.numpy(), b.numpy()))
    np.testing.assert_allclose(got, ref, atol=1e-12)
    # a subspace and a subspace inside it: every angle is zero
    inside = a[:, :2] @ torch.randn(2, 2, generator=g, dtype=torch.float64)
    np.testing.assert_allclose(ae.principal_angles(a, inside).numpy(), [0.0, 0.0], atol=1e-10)


def test_principal_angles_bad_inputs():
    a = torch.randn(10, 3)
    with pytest.raises(ValueError, match="same number of rows"):
        ae.principal_angles(a, torch.randn(9, 3))
    with pytest.raises(ValueError, match="more columns than rows"):
        ae.principal_angles(a.T, torch.randn(3, 2))
    with pytest.raises(ValueError, match="linearly dependent"):
        ae.principal_angles(a, torch.ones(10, 2))
    with pytest.raises(ValueError, match="shape"):
        ae.principal_angles(torch.randn(10), a)
    bad = a.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ae.principal_angles(bad, a)


def test_scatter_matrix_equals_the_centred_product(digits):
    from aecourse.pca import _scatter
    x64 = digits.double()
    mean = x64.mean(dim=0)
    centred = (x64 - mean).T @ (x64 - mean)
    upper = torch.triu(_scatter(x64, mean))   # BLAS's dsyrk fills the upper triangle only
    assert torch.allclose(upper, torch.triu(centred), rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("subset", [True, False])   # LAPACK's top-k (the CPU's path), torch's full eigh (others')
@pytest.mark.parametrize("k", [1, 7, 40])   # beyond ~60 the constant pixels give a degenerate null space
def test_top_eigenpairs_are_those_of_the_full_decomposition(digits, k, subset):
    from aecourse.pca import _scatter, _top_eigenpairs
    x64 = digits.double()
    scatter = _scatter(x64, x64.mean(dim=0))
    values, vectors = _top_eigenpairs(scatter, k, subset=subset)   # reads the upper triangle only
    full_values, full_vectors = torch.linalg.eigh(scatter, UPLO="U")
    torch.testing.assert_close(values, full_values.flip(0)[:k], rtol=1e-10, atol=1e-6)
    # the same directions (an eigenvector's sign is arbitrary)
    overlap = (vectors * full_vectors.flip(1).T[:k]).sum(dim=1).abs()
    torch.testing.assert_close(overlap, torch.ones(k, dtype=torch.float64), rtol=0, atol=1e-8)

"""Greedy layer-wise stacking: each layer trains on the codes of the one below, corrupting its own input."""
import pytest
import torch

import aecourse as ae


@pytest.fixture(scope="module")
def x():
    return ae.load_digits(device="cpu").x_train[:300]  # (300, 64) in [0, 1]


class Recorder:
    """A corruption that remembers the clean batches it was given."""

    def __init__(self, p=0.3):
        self.p, self.batches = p, []

    def __call__(self, xb):
        self.batches.append(xb.clone())
        return ae.masking_noise(xb, self.p)


def rows_of(batch, table):
    """True when every row of ``batch`` is (numerically) a row of ``table``."""
    distance = torch.cdist(batch.double(), table.double())
    return bool((distance.min(dim=1).values < 1e-5).all())


def test_each_layer_trains_on_the_clean_codes_below_and_corrupts_its_own_input(x):
    first, second = Recorder(), Recorder()
    before = x.clone()
    stack = ae.StackedAutoencoder([64, 32, 16], corrupt=[first, second], epochs=[2, 3], batch_size=100,
                                  device="cpu", progress=False)
    assert stack.fit(x) is stack
    assert torch.equal(x, before)
    assert [layer.sizes for layer in stack.layers_] == [[64, 32], [32, 16]]
    assert [h.epochs for h in stack.histories_] == [2, 3]
    # fit corrupts every batch afresh: 3 batches per epoch
    assert len(first.batches) == 2 * 3 and len(second.batches) == 3 * 3
    assert all(rows_of(b, x) for b in first.batches)                     # layer 1 sees pixels
    codes = stack.transform(x, depth=1)
    assert all(b.shape[1] == 32 and rows_of(b, codes) for b in second.batches)  # layer 2: clean φ₁(x)


def test_transform_and_encoder_give_the_stacked_code(x):
    stack = ae.StackedAutoencoder([64, 32, 16], corrupt=ae.corruption("masking", 0.25), epochs=1,
                                  device="cpu", progress=False).fit(x)
    z = stack.transform(x)
    assert z.shape == (300, 16) and bool(((z >= 0) & (z <= 1)).all())
    by_hand = stack.layers_[1].encode(stack.layers_[0].encode(x)).detach()
    assert torch.allclose(z, by_hand, atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(stack.encoder()(x), z, atol=1e-6)
    assert stack.transform(x, depth=1).shape == (300, 32)
    assert "denoising" in repr(stack) and "fitted" in repr(stack)


def test_plain_stack_learns(x):
    stack = ae.StackedAutoencoder([64, 48, 24], epochs=15, lr=3e-3, batch_size=50, device="cpu",
                                  progress=False).fit(x)
    for h in stack.histories_:
        assert h.train_loss[-1] < 0.7 * h.train_loss[0]
    assert "plain" in repr(stack)


def test_same_seed_same_stack(x):
    def run():
        ae.seed_everything(3)
        return ae.StackedAutoencoder([64, 16], corrupt=ae.corruption("salt_and_pepper", 0.2), epochs=1,
                                     device="cpu", progress=False).fit(x).transform(x)

    assert torch.equal(run(), run())


def test_bad_arguments(x):
    with pytest.raises(ValueError, match="at least one code size"):
        ae.StackedAutoencoder([64]).fit(x)
    with pytest.raises(ValueError, match="expected"):
        ae.StackedAutoencoder([784, 32], progress=False).fit(x)
    with pytest.raises(ValueError, match="epochs lists 1 values but the stack has 2 layers"):
        ae.StackedAutoencoder([64, 32, 16], epochs=[1]).fit(x)
    with pytest.raises(TypeError, match="corrupt must be a function"):
        ae.StackedAutoencoder([64, 32], corrupt=0.25).fit(x)
    with pytest.raises(TypeError, match="dtype torch.int64"):
        ae.StackedAutoencoder([64, 32]).fit(torch.ones(10, 64, dtype=torch.int64))
    unfitted = ae.StackedAutoencoder([64, 32])
    with pytest.raises(RuntimeError, match=r"not fitted yet; call .fit\(x\) first"):
        unfitted.transform(x)
    stack = ae.StackedAutoencoder([64, 8], epochs=1, device="cpu", progress=False).fit(x)
    with pytest.raises(ValueError, match="deeper than the stack's 1 layers"):
        stack.transform(x, depth=2)
    with pytest.raises(ValueError, match="64 are expected"):
        stack.transform(torch.rand(5, 10))

"""Chapter 01's exercise checks: right answers pass, typical wrong answers get their specific hint."""
import pytest
import torch

import aecourse as ae


def right_encode(x, W, b):
    return torch.sigmoid(x @ W.T + b)


def right_error(x_hat, x):
    return ((x_hat - x) ** 2).sum(1).mean()


def right_delta(x_hat, x):
    return 2 * (x_hat - x) * x_hat * (1 - x_hat) / len(x)


def missing(*args):
    raise NotImplementedError("fill me in")


def test_correct_answers_pass_and_are_returned(capsys):
    assert ae.checks.encoder(right_encode) is right_encode
    assert ae.checks.reconstruction_error(right_error) is right_error
    assert ae.checks.output_delta(right_delta) is right_delta
    out = capsys.readouterr().out
    assert out.count("✓") == 3 and "✗" not in out


@pytest.mark.parametrize(
    "check, wrong, hint",
    [
        ("encoder", lambda x, W, b: torch.sigmoid(x @ W.T), "bias b is missing"),
        ("encoder", lambda x, W, b: x @ W.T + b, "nonlinearity σ is missing"),
        ("encoder", lambda x, W, b: torch.relu(x @ W.T + b), "not a ReLU"),
        ("encoder", lambda x, W, b: torch.sigmoid(x @ W.T) + b, "bias belongs inside"),
        ("encoder", lambda x, W, b: torch.sigmoid(x @ W + b), "is a weight transposed"),
        ("encoder", lambda x, W, b: torch.sigmoid(x @ W.T + b)[:, :2], "wrong shape"),
        ("reconstruction_error", lambda xh, x: ((xh - x) ** 2).mean(), "averaged over the pixels too"),
        ("reconstruction_error", lambda xh, x: ((xh - x) ** 2).sum(), "summed over the images too"),
        ("reconstruction_error", lambda xh, x: (xh - x).abs().sum(1).mean(), "square is missing"),
        ("reconstruction_error", lambda xh, x: (xh - x).norm(dim=1).mean(), "drop the square root"),
        ("reconstruction_error", lambda xh, x: 2 * ((xh - x) ** 2).sum(1).mean(), "factor of two"),
        # right values, but no tensor for loss.backward() in the next cells
        ("reconstruction_error", lambda xh, x: float(((xh - x) ** 2).sum(1).mean()), "autograd needs the tensor"),
        ("reconstruction_error", lambda xh, x: ((xh - x) ** 2).sum(1).mean().detach(), "autograd needs the tensor"),
        ("reconstruction_error", lambda xh, x: ((xh - x) ** 2).sum(1).mean().item(), "autograd needs the tensor"),
        ("output_delta", lambda xh, x: 2 * (xh - x) / len(x), "derivative is missing"),
        ("output_delta", lambda xh, x: 2 * (xh - x) * xh * (1 - xh), "1/n"),
        ("output_delta", lambda xh, x: (xh - x) * xh * (1 - xh) / len(x), "factor 2"),
        ("output_delta", lambda xh, x: 2 * (x - xh) * xh * (1 - xh) / len(x), "sign is flipped"),
        ("output_delta", lambda xh, x: 2 * (xh - x) * x * (1 - x) / len(x), "not the target"),
    ],
)
def test_wrong_answers_get_specific_hints_and_the_reference(capsys, check, wrong, hint):
    returned = getattr(ae.checks, check)(wrong)
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out
    assert "Traceback" not in out
    assert returned is not wrong  # the rest of the notebook runs on the reference


@pytest.mark.parametrize("check", ["encoder", "reconstruction_error", "output_delta"])
def test_missing_answer_says_not_attempted(capsys, check):
    returned = getattr(ae.checks, check)(missing)
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "fill me in" in out
    assert returned is not missing


def test_in_place_modification_of_an_input_is_reported(capsys):
    def sneaky(x_hat, x):
        x_hat -= x  # right value, but the caller's tensor is destroyed
        return (x_hat ** 2).sum(1).mean()

    returned = ae.checks.reconstruction_error(sneaky)
    assert "modified its input 1 in place" in capsys.readouterr().out
    assert returned is not sneaky


@pytest.mark.parametrize("answer", [lambda xh, x: float(((xh - x) ** 2).sum(1).mean()),
                                    lambda xh, x: ((xh - x) ** 2).sum(1).mean().detach()],
                         ids=["float", "detach"])
def test_error_without_a_gradient_is_refused_and_the_reference_backpropagates(capsys, answer):
    returned = ae.checks.reconstruction_error(answer)
    out = capsys.readouterr().out
    assert "✗" in out and "✓" not in out and "don't call .item(), float() or .detach()" in out, out
    x_hat = torch.rand(4, 10, requires_grad=True)
    loss = returned(x_hat, torch.rand(4, 10))
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0
    loss.backward()  # what chapter 01's next cells do
    assert x_hat.grad is not None


def test_error_check_prints_one_verdict(capsys):
    ae.checks.reconstruction_error(right_error)
    ae.checks.reconstruction_error(lambda xh, x: ((xh - x) ** 2).mean())
    out = capsys.readouterr().out
    assert out.count("✓") == 1 and out.count("✗") == 1, out

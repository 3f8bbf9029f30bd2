"""The machinery behind every exercise check: run the learner's function and the reference on
fresh random inputs, and turn any difference into a specific hint instead of a traceback.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

__all__: list[str] = []


@dataclass
class Mistake:
    """A typical wrong answer: ``wrong(*inputs)`` computes it, ``hint`` says what to fix."""

    hint: str
    wrong: Callable


def _as_tensor(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double()   # cpu first: Apple's MPS has no float64
    if isinstance(value, (int, float)):
        return torch.tensor(float(value), dtype=torch.float64)
    return None


def _close(a, b, rtol, atol) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def diagnose(got, expected, inputs, mistakes: Sequence[Mistake], rtol: float, atol: float) -> str | None:
    """None when ``got`` matches ``expected``; otherwise the most specific hint we can give."""
    g, e = _as_tensor(got), _as_tensor(expected)
    if g is None:
        return f"your function returned a {type(got).__name__}; it should return a tensor."
    if _close(g, e, rtol, atol):
        return None
    for mistake in mistakes:  # a known wrong answer says the most
        try:
            m = _as_tensor(mistake.wrong(*inputs))
        except Exception:  # a variant that does not apply to these inputs
            continue
        if m is not None and _close(g, m, rtol, atol):
            return mistake.hint
    if g.shape != e.shape:
        return f"wrong shape: your result has shape {tuple(g.shape)}, the expected one {tuple(e.shape)}."
    if not bool(torch.isfinite(g).all()):
        return "your result contains NaN or infinite values."
    if _close(g, -e, rtol, atol):
        return "the sign is flipped: your result is the negative of the expected one."
    for factor, word in ((2.0, "twice"), (0.5, "half")):
        if _close(g, factor * e, rtol, atol):
            return f"off by a factor of two: your result is {word} the expected one."
    err = float((g - e).abs().max())
    return f"the values differ from the reference (largest difference {err:.3g}); check the formula."


def check(name: str, learner: Callable, reference: Callable, make_inputs: Callable[[torch.Generator], tuple],
          mistakes: Sequence[Mistake] = (), trials: int = 3, rtol: float = 1e-4, atol: float = 1e-5,
          seed: int = 0, validate: Callable[[Callable], str | None] | None = None) -> Callable:
    """Compare ``learner`` with ``reference`` on ``trials`` fresh random inputs; print the verdict.

    ``validate(learner)``, when given, runs once the values match and before the verdict prints: it
    checks what values cannot show (say, that the result still carries a gradient) and returns None
    or a hint.

    Returns the function the rest of the notebook should use: the learner's when it is right,
    otherwise the reference (with a visible note), so a learner can always run past an exercise.
    """
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        inputs = make_inputs(generator)
        expected = reference(*inputs)
        given = [a.clone() if isinstance(a, torch.Tensor) else a for a in inputs]
        try:
            got = learner(*given)
        except NotImplementedError as exc:
            hint = str(exc) or "replace the `raise NotImplementedError` line with your code."
            print(f"✗ {name}: not attempted yet. Hint: {hint}\n  Using the reference solution so the rest of the notebook runs.")
            return reference
        except Exception as exc:  # the learner's bug: say what happened, without a traceback
            advice = ""
            if "cannot be multiplied" in str(exc) or "size of tensor" in str(exc):
                advice = ("\n  Hint: the shapes of a product do not fit; is a weight transposed? "
                          "A weight of shape (out, in) maps a batch x of shape (n, in) as x @ W.T.")
            print(f"✗ {name}: your function raised {type(exc).__name__}: {exc}{advice}\n"
                  "  Using the reference solution so the rest of the notebook runs.")
            return reference
        changed = [i for i, (a, b) in enumerate(zip(given, inputs)) if isinstance(a, torch.Tensor) and not torch.equal(a, b)]
        hint = diagnose(got, expected, inputs, mistakes, rtol, atol)
        if hint is None and changed:
            hint = (f"your function modified its input {changed[0] + 1} in place; work on a copy "
                    "(e.g. x.clone(), or operations that return new tensors).")
        if hint is not None:
            print(f"✗ {name} (test {trial + 1} of {trials}): {hint}\n"
                  "  Using the reference solution so the rest of the notebook runs.")
            return reference
    hint = validate(learner) if validate is not None else None
    if hint is not None:
        print(f"✗ {name}: the values are right, but {hint}\n"
              "  Using the reference solution so the rest of the notebook runs.")
        return reference
    print(f"✓ {name}: correct on {trials} random inputs.")
    return learner

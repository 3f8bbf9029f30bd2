"""Exercise checks: ``ae.checks.<exercise>(learner_function)`` compares a learner's function with
the reference on fresh random inputs and prints a success line or a specific hint. Each returns
the function the rest of the notebook should use (the reference when the answer is missing or wrong).

One module per chapter; the machinery is in ``_core``.
"""
from ._core import Mistake, check, diagnose  # noqa: F401

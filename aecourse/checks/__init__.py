"""Exercise checks: ``ae.checks.<exercise>(learner_function)`` compares a learner's function with
the reference on fresh random inputs and prints a success line or a specific hint. Each returns
the function the rest of the notebook should use (the reference when the answer is missing or wrong).

One module per chapter; the machinery is in ``_core``.
"""
from ._core import Mistake, check, diagnose  # noqa: F401
from .ch01 import *  # noqa: F401,F403
from .ch02 import *  # noqa: F401,F403
from .ch03 import *  # noqa: F401,F403
from .ch04 import *  # noqa: F401,F403
from .ch05 import *  # noqa: F401,F403
from .ch06 import *  # noqa: F401,F403

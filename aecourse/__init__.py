"""aecourse: the helper package of the autoencoder course.

One import line in every notebook: ``import aecourse as ae``. Every public name is re-exported
here; each module holds one idea of the course (see README.md for the map).
"""
from . import checks, plot  # noqa: F401  (used as ae.checks.<name>, ae.plot.<name>)
from .checkpoint import *  # noqa: F401,F403
from .config import *  # noqa: F401,F403
from .corrupt import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .deep import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .pca import *  # noqa: F401,F403
from .rbm import *  # noqa: F401,F403
from .stacking import *  # noqa: F401,F403
from .train import *  # noqa: F401,F403
from .vae import *  # noqa: F401,F403

__version__ = "0.1.0"

"""``python -m selene_eval.testing tiny-model DIR ...``: write a tiny model (see :func:`main`)."""

import sys

from selene_eval.testing import main

sys.exit(main())

"""``python -m selene_eval``: the command line (see :mod:`selene_eval.cli`)."""

import sys

from selene_eval.cli import main

if __name__ == "__main__":
    sys.exit(main())

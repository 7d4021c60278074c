"""Tests of selene-eval (a package, so that `tests.*` imports find these and not a `tests` package some library installs)."""

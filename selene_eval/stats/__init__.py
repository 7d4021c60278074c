"""Statistics of agreement between an LLM judge and human experts: pure functions on tables and arrays, no
I/O. One module per concept; import from the module that defines a name (this package's ``__init__`` stays
empty so that naming a statistic, :mod:`selene_eval.stats.registry`, does not load scipy)."""

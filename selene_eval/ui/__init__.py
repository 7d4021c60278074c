"""The dashboard's Streamlit layer: the only code besides ``app.py`` and ``pages/`` that imports streamlit.

Pages are thin scripts: they lay out a step and call the components here, which call the core
(:mod:`selene_eval.data`, :mod:`selene_eval.run.runner`, :mod:`selene_eval.presentation.report`, ...). Pure helpers that
need no streamlit live in :mod:`selene_eval.ui.views` and :mod:`selene_eval.ui.text`; charts in
:mod:`selene_eval.presentation.charts`.

Importing this package imports neither torch nor transformers: the judge model loads when a run starts.
This package itself is empty: a page imports each name from the module that defines it
(``from selene_eval.ui.data import read_upload``), so a page loads only the modules it uses. The first page
drawn (Data) then does not pay for the agreement statistics, scipy and the charts, which keeps the
dashboard's first paint short (``bench/app.py``).
"""

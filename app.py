"""selene-eval dashboard: ``streamlit run app.py`` (or ``make app``).

The entry point only sets up what every page shares: page config, session defaults, the sidebar and the
navigation. Each step of a study is one thin page under ``pages/``; the widgets and logic they share live
in :mod:`selene_eval.ui`.

Environment variables:

* ``SELENE_EVAL_STUDIES_DIR``: the folder of studies (default: ``studies/`` in the working directory).
* ``SELENE_EVAL_ENABLE_SCRIPTED=1``: a testing aid that adds a scripted judge (no model; deterministic
  Selene-format answers) to the Run page. Never set it for real studies.

Opening the app imports neither torch nor transformers; they load when a run starts.
"""

import streamlit as st

from selene_eval.ui.common import PAGES, require_login
from selene_eval.ui.sidebar import render_sidebar
from selene_eval.ui.state import init_app_state

st.set_page_config(page_title="selene-eval", page_icon=":material/balance:", layout="wide")
# Only when .streamlit/secrets.toml has an [auth] section (hosting for a team); a no-op on a laptop.
require_login()
init_app_state()
navigation = st.navigation(
    [st.Page(p.path, title=p.title, icon=p.icon, default=(name == "data")) for name, p in PAGES.items()]
)
render_sidebar()
navigation.run()

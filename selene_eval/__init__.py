"""selene-eval: measure how far an LLM judge (Atla Selene Mini) can stand in for human experts.

Importing this package is cheap: it imports neither streamlit nor torch. The model is loaded only when a
run starts (:func:`selene_eval.judge.create_backend`).
"""

from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError

__version__ = "0.1.0"

__all__ = ["SeleneEvalError", "TaskType", "__version__"]

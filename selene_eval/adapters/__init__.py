"""Public datasets with expert labels, one step from a study.

``ADAPTERS`` lists them (K-QA, FinanceBench, CRAFT-MD, ExpertQA, PandaLM, HealthBench's meta-evaluation, MT-Bench
human judgments). Each states its licence and source, reads a local copy (file or folder) and can download
its pinned files; :func:`create_study_from_dataset` saves one as a study through the same validation as an
upload.
"""

from selene_eval.adapters.base import (
    AdapterOption,
    DatasetAdapter,
    LoadedDataset,
    RemoteFile,
    create_study_from_dataset,
    git_blob_sha1,
    verify,
)
from selene_eval.adapters.public import (
    ADAPTERS,
    CRAFTMD,
    EXPERTQA,
    FINANCEBENCH,
    HEALTHBENCH,
    KQA,
    MTBENCH,
    PANDALM,
    get_adapter,
)

__all__ = [
    "ADAPTERS",
    "CRAFTMD",
    "EXPERTQA",
    "FINANCEBENCH",
    "HEALTHBENCH",
    "KQA",
    "MTBENCH",
    "PANDALM",
    "AdapterOption",
    "DatasetAdapter",
    "LoadedDataset",
    "RemoteFile",
    "create_study_from_dataset",
    "get_adapter",
    "git_blob_sha1",
    "verify",
]

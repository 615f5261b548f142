"""Former home of evaluation; kept so `difffake.evaluate.X` still resolves.

The code lives in difffake.evaluation (protocols, videos, scoring, variants,
outputs) and the use case in difffake.workflows.evaluate. Patch those modules,
not this one (a monkeypatch here does not reach the code that runs).
"""
from __future__ import annotations

from .evaluation.outputs import (  # noqa: F401
    FIT_NOTE,
    HEADERS,
    UNSCORED_RULE,
    plot_rocs,
    safe_name,
    write_table,
    write_unscored,
    write_videos,
)
from .evaluation.protocols import (  # noqa: F401
    COLUMNS,
    STANDARD_FFPP,
    Subset,
    VideoItem,
    average_rows,
    dataset_name,
    parse_dataset_spec,
    protocol_subsets,
    subset_row,
)
from .evaluation.scoring import (  # noqa: F401
    anomaly_scorer,
    classifier_scorer,
    detector_scorers,
    evaluate_scorers,
    score_items,
)
from .evaluation.variants import (  # noqa: F401
    check_variant_names,
    fit_variant,
    parse_variant,
    scorer_name,
    variant_folds,
    variant_name,
    variant_scorers,
)
from .evaluation.videos import load_items, mark_detector_fit  # noqa: F401
from .workflows.evaluate import evaluate  # noqa: F401
from .workflows.prepare_records import prepare_faces  # noqa: F401

_safe = safe_name   # commands/ray_runner.py's name for it

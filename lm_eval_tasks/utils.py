"""lm-eval resolves `!function utils.X` beside the YAML; the code lives in the package."""

from mixdistill_plugin.lm_eval_adapter import (  # noqa: F401
    ReadAnswers,
    cot_acc,
    cot_maj,
    doc_to_text,
    load_docs,
    mixed_maj,
    pot_acc,
    pot_maj,
    predict_acc,
    predict_maj,
    process_results,
)

"""lm-eval resolves `!function utils.X` beside the YAML; the code lives in the package."""

from mixdistill_plugin.harness.adapter import ReadAnswers, accuracy, doc_to_text, load_docs, process_results  # noqa: F401

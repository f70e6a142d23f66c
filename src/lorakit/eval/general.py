"""What tuning cost: the tuned and the base model on general prompts that hold no task content.

A specialist that forgot how to talk is a cost a task metric does not show. Both models answer a
fixed set of everyday prompts (chat, instructions, short facts); KL(tuned || base) is measured on
the base model's own answers (both read the same text, teacher-forced), and a few answers are kept
side by side for the report. Kept in code rather than a data file so it ships with the package.
"""

from __future__ import annotations

GENERAL_PROMPTS = (
    "Hi! How are you today?",
    "What is the capital of France?",
    "Write one sentence about the sea.",
    "Give me three tips for sleeping better.",
    "What is 12 times 7?",
    "Translate 'good morning' into Spanish.",
    "Explain what a rainbow is in two sentences.",
    "Suggest a name for a small black cat.",
    "What is the opposite of 'cold'?",
    "Write a haiku about autumn.",
    "How many days are there in a leap year?",
    "Tell me a fun fact about octopuses.",
    "What does a thermometer measure?",
    "List the primary colours.",
    "Write a polite one-line reply declining a dinner invitation.",
    "Which planet is closest to the Sun?",
    "Summarise the story of Cinderella in one sentence.",
    "What should I pack for a day at the beach?",
    "Why do leaves change colour in autumn?",
    "Finish the sentence: The best thing about weekends is",
)


def general_drift(base, tuned, tok, n: int, device: str, *, max_new_tokens: int = 48, shown: int = 4) -> dict:
    """KL(tuned || base) over the base model's greedy answers to ``n`` general prompts, and ``shown`` answer pairs."""
    from lorakit.eval.stats import next_token_kl
    from lorakit.generation.generate import generate

    convs = [[{"role": "user", "content": p}] for p in GENERAL_PROMPTS[:n]]
    base_answers = generate(base, tok, convs, batch_size=len(convs), max_new_tokens=max_new_tokens)
    tuned_answers = generate(tuned, tok, convs, batch_size=len(convs), max_new_tokens=max_new_tokens)
    kl = next_token_kl(base, tuned, tok, convs, [a or " " for a in base_answers], device)
    same = sum(a == b for a, b in zip(base_answers, tuned_answers))
    return {**kl, "max_new_tokens": max_new_tokens, "identical_answers": same,
            "answers": [{"prompt": c[0]["content"], "base": a, "tuned": b}
                        for c, a, b in list(zip(convs, base_answers, tuned_answers))[:shown]]}


def general_lines(g: dict) -> list[str]:
    """The report's section: the KL line, then the answers side by side."""
    lines = [f"KL(tuned || base) over the base model's answers to {g['items']} general prompts with no task content "
             f"({g['positions']} positions): mean {g['kl_mean']:.3f} nats per token, {g['kl_first_token']:.3f} at the "
             f"first token; {g['identical_answers']} of {g['items']} greedy answers identical "
             f"(first {g['max_new_tokens']} tokens).", ""]
    for a in g["answers"]:
        lines += [f"- **{a['prompt']}**", f"  - base: {_one_line(a['base'])}", f"  - tuned: {_one_line(a['tuned'])}"]
    return lines


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."

"""A user reward for GRPO tests, imported by name (``train.grpo.reward: tests.train.rewards:answer_length``)."""


def answer_length(answer: str, expected: str, item: dict) -> float:
    """Longer answers score higher: any two sampled answers of different length differ in reward."""
    return float(len(answer))

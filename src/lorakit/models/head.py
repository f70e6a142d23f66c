"""A classification head for label tasks: LoRA + a linear layer on the prompt's last token (PEFT ``SEQ_CLS``).

When every answer comes from a closed label set (an intent id, a topic), generating the label token by
token pays generation prices for a choice. ``train.head: classification`` trains the base's
``*ForSequenceClassification`` model instead: the same prompt as generation (chat template with the
generation prompt), the hidden state of its last token, one linear layer to one logit per label.

The pooling is done here rather than by the transformers model's own forward: that one finds the last
token by looking for the pad id, which is also the end-of-turn token of many chat templates (SmolLM2's
``<|im_end|>``), so it would depend on padding side and template. Here the last token is where the
attention mask ends (right padding), whatever the pad id.

The labels travel with the adapter in ``labels.json``; PEFT keeps the head (``score``) beside the LoRA
weights as a module to save.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from lorakit.errors import ConfigError, ModelLoadError
from lorakit.io import atomic_write_text

logger = logging.getLogger(__name__)

LABELS_FILE = "labels.json"
MAX_LABEL_CHARS = 60
MAX_LABELS = 1000


def _label_key(v: str):
    return (0, len(v), v) if v.isdigit() else (1, 0, v)  # "2" before "10"; numeric ids before names


def closed_label_set(answers: list[str], source: str) -> list[str]:
    """The labels of a head model: the distinct (stripped) train answers, when they are a closed set.

    A closed set: at least 2 labels, each one line of at most 60 characters, at most 1000 of them and at
    most one per two rows (answers that rarely repeat are text, not labels). Anything else is a
    ConfigError saying why, naming the first offending answers.
    """
    values = [a.strip() for a in answers]
    counts = Counter(values)
    long = [v for v in counts if not v or len(v) > MAX_LABEL_CHARS or "\n" in v]
    hint = "; train it with train.head=lm (generated answers) instead"
    if long:
        shown = ", ".join(repr(v[:80]) for v in long[:3])
        raise ConfigError(f"train.head=classification: {len(long)} train answers of {source} are not labels (empty, "
                          f"multi-line or longer than {MAX_LABEL_CHARS} characters), e.g. {shown}{hint}")
    if len(counts) < 2:
        raise ConfigError(f"train.head=classification: every train answer of {source} is the same; a classifier "
                          f"needs at least 2 labels")
    if len(counts) > MAX_LABELS or len(counts) > len(values) // 2:
        raise ConfigError(f"train.head=classification: {len(counts)} distinct answers among {len(values)} train rows "
                          f"of {source}; a label set has at most {MAX_LABELS} labels and at least two rows per label "
                          f"on average{hint}")
    once = sorted(v for v, c in counts.items() if c == 1)
    if once:
        logger.warning("train.head=classification: %d of %d labels have a single train row (e.g. %s); the head "
                       "learns them from that row alone", len(once), len(counts), ", ".join(map(repr, once[:3])))
    return sorted(counts, key=_label_key)


def init_from_label_words(model, tok, labels: list[str]) -> bool:
    """Start the head where the language model already is: each label's row is the mean input embedding of
    the label's words (``track_order`` -> " track order"), centred over the labels. Returns whether it did.

    With tied embeddings (SmolLM2, Gemma) that row is what the LM head would score the label's words by, so
    the fresh head starts as the base's own zero-shot guess instead of noise. Labels without a letter
    (intent ids such as "17") carry no words: the head then keeps transformers' random initialisation.
    """
    import torch

    if not all(any(c.isalpha() for c in v) for v in labels):
        logger.info("classification head: labels without words (e.g. %r); starting from a random head", labels[0])
        return False
    emb = model.get_input_embeddings().weight
    rows = []
    for v in labels:
        words = " " + " ".join(v.replace("_", " ").replace("-", " ").split())
        ids = tok(words, add_special_tokens=False)["input_ids"]
        rows.append(emb[ids].float().mean(dim=0))
    init = torch.stack(rows)
    init -= init.mean(dim=0, keepdim=True)
    head = model.score.weight
    with torch.no_grad():
        head.copy_(init.to(head.dtype))
    logger.info("classification head: %d rows started from the embeddings of the label words", len(labels))
    return True


def write_labels(adapter_dir: Path, labels: list[str]) -> None:
    atomic_write_text(Path(adapter_dir) / LABELS_FILE, json.dumps({"labels": labels}, ensure_ascii=False, indent=1))


def read_labels(adapter_dir: str | Path) -> list[str] | None:
    """The head's labels when ``adapter_dir`` holds a classification-head adapter; None for a language-model one."""
    path = Path(adapter_dir) / LABELS_FILE
    if not path.is_file():
        return None
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))["labels"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ModelLoadError(f"{path} is damaged ({e}); copy the adapter folder again from the run that trained it")
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise ModelLoadError(f"{path}: 'labels' must be a list of strings; copy the adapter folder again")
    return labels


def is_head_model(model) -> bool:
    """Whether ``model`` (bare or PEFT-wrapped) is a sequence-classification model with a ``score`` head."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return hasattr(inner, "score") and hasattr(inner, "base_model_prefix") and not hasattr(inner, "lm_head")


def head_logits(model, ids, mask):
    """One logit per label for each row: the head on the hidden state of the row's last real token.

    ``ids``/``mask``: right-padded batch. ``model``: a ``*ForSequenceClassification``, bare or PEFT-wrapped.
    """
    import torch

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = getattr(inner, inner.base_model_prefix)
    hidden = backbone(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    last = mask.sum(dim=1) - 1
    return inner.score(hidden[torch.arange(ids.shape[0], device=ids.device), last])


def prompt_ids(tok, messages: list[dict], max_len: int) -> list[int]:
    """The prompt as generation sees it (chat template + generation prompt); an over-long one keeps its end."""
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return tok(text, add_special_tokens=False)["input_ids"][-max_len:]


def pad_right(rows: list[list[int]], pad_id: int, multiple: int = 8):
    """``(ids, mask)``: right-padded long tensors, width rounded up to ``multiple``."""
    import torch

    width = -(-max(len(r) for r in rows) // multiple) * multiple
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return ids, mask


class Classifier:
    """A trained head model (merged, eval mode) that answers each conversation with one of its labels.

    The labels are the model's own ``config.id2label`` (written from the adapter's labels.json when it loads).
    """

    def __init__(self, model, tok, max_len: int = 512):
        self.model, self.tok, self.max_len = model, tok, max_len
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    @property
    def device(self):
        return next(self.model.parameters()).device

    def encode(self, convs: list[list[dict]]) -> list[list[int]]:
        return [prompt_ids(self.tok, c, self.max_len) for c in convs]

    def probabilities(self, convs: list[list[dict]], batch_size: int = 32, on_batch=None, encoded=None):
        """A ``len(convs) x len(labels)`` float tensor of label probabilities, rows in the order given
        (``encoded``: the prompts' ids from :meth:`encode`, when the caller has them already).

        Batches are formed from prompts of similar length (less padding); each row's result does not depend on
        its batch beyond floating-point summation order.
        """
        import torch

        encoded = encoded if encoded is not None else self.encode(convs)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out = torch.empty((len(encoded), len(self.labels)))
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                ids, mask = pad_right([encoded[i] for i in rows], pad)
                logits = head_logits(self.model, ids.to(self.device), mask.to(self.device))
                out[rows] = torch.softmax(logits.float(), dim=-1).cpu()
                if on_batch:
                    on_batch(len(rows))
        return out

    def classify(self, convs: list[list[dict]], batch_size: int = 32, on_batch=None, encoded=None) -> list[str]:
        """The most probable label of every conversation."""
        probs = self.probabilities(convs, batch_size, on_batch, encoded)
        return [self.labels[int(i)] for i in probs.argmax(dim=-1)]

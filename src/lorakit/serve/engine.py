"""The model behind ``lorakit serve``: one base model, any number of LoRA adapters, batched generation.

Requests are queued; one worker takes whatever has arrived (up to ``max_batch``, waiting at most
``batch_wait_ms`` for more), groups it by adapter and sampling settings, and answers each group
with one ``generate`` call. Rows in a batch keep their own token limit, stop strings and JSON
grammar (llguidance, one matcher per row), and stream their tokens as they are produced.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lorakit.errors import ServeError
from lorakit.rundir import RunDir

logger = logging.getLogger(__name__)

PREFIXES = 8  # encoded prompt prefixes kept per engine (500 tokens of SmolLM2-135M in bf16: 12 MB)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
BASE = "base"


@dataclass
class Job:
    """One chat completion request inside the engine."""

    adapter: str
    messages: list[dict]
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    grammar: str | None = None
    stream: asyncio.Queue | None = None  # text deltas, then None
    future: asyncio.Future | None = None
    loop: asyncio.AbstractEventLoop | None = None
    prompt_tokens: int = 0

    def key(self) -> tuple:
        return self.adapter, self.temperature, self.top_p


@dataclass
class Grounding:
    """A served run whose model answers from documents (a task with ``Task.ground``, such as grounded policy QA): a
    question sent without its excerpts gets the top ``k`` of the run's own chunks, as ``lorakit ask`` does."""

    ground: Callable[..., tuple[str, list[str] | None]]  # the task's: (cfg, data folder, message, k)
    cfg: Any
    data: Path
    k: int
    system: str | None  # the run's training system prompt, for requests that send none

    def apply(self, messages: list[dict]) -> tuple[list[dict], list[str] | None]:
        """``messages`` with the last user message grounded (and the run's system prompt where none was sent), and
        the heading paths of the excerpts found; unchanged, with None, when that message carries its own."""
        last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
        if last is None:
            return messages, None
        content, sources = self.ground(self.cfg, self.data, messages[last]["content"], self.k)
        if sources is None:
            return messages, None
        out = [*messages[:last], {**messages[last], "content": content}, *messages[last + 1:]]
        if self.system and out[0]["role"] != "system":
            out.insert(0, {"role": "system", "content": self.system})
        return out, sources


def find_grounding(adapter: Path) -> Grounding | None:
    """The grounding of the run an adapter folder belongs to (``RUN/adapter``), or None: an adapter outside a run, a
    task that does not answer from documents, a closed-book run, or a run without its parsed chunks."""
    from lorakit.data.tasks import get_task
    from lorakit.errors import LorakitError

    run = RunDir(Path(adapter).resolve().parent)
    if not run.is_trained or run.adapter.resolve() != Path(adapter).resolve():
        return None
    try:
        record = run.run_record()
        cfg = record.run_config(run.run_record_path)
        task = get_task(cfg.data.task)
        if task.ground is None or not any(run.data.glob("pdf/*/chunks.jsonl")):
            return None
        task.ground(cfg, run.data, "", 1)  # refuses a closed-book run; builds the run's index once
    except LorakitError as e:
        logger.info("%s answers without retrieval: %s", run.root, e)
        return None
    system = record.system_prompt if record.system_prompt is not None else (task.train_prompt or None)
    return Grounding(task.ground, cfg, run.data, cfg.eval.retrieve_k, system)


class RowControl:
    """A stopping criterion for a batch: per-row token limits and stop strings, and token streaming."""

    def __init__(self, tok, jobs: list[Job], prompt_len: int):
        self.tok, self.jobs, self.prompt_len = tok, jobs, prompt_len
        self.sent = [""] * len(jobs)
        self.finish = ["length"] * len(jobs)
        self.done = [False] * len(jobs)

    def text(self, row_ids) -> str:
        return self.tok.decode(row_ids, skip_special_tokens=True)

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        out = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row, job in enumerate(self.jobs):
            if not self.done[row]:
                new = input_ids[row, self.prompt_len:]
                if len(new) and int(new[-1]) == self.tok.eos_token_id:
                    self.done[row], self.finish[row] = True, "stop"
                elif len(new) >= job.max_tokens:
                    self.done[row] = True
                if job.stop or job.stream is not None:  # decoding every step only where it is needed
                    text, cut = cut_at_stop(self.text(new), job.stop)
                    if cut:
                        self.done[row], self.finish[row] = True, "stop"
                    self._emit(row, text)
            out[row] = self.done[row]
        return out

    def _emit(self, row: int, text: str) -> None:
        job = self.jobs[row]
        if job.stream is None:
            return
        if not self.done[row]:
            if text.endswith("\ufffd"):  # half a UTF-8 character: wait for the rest
                return
            text = text[:len(text) - _held_back(text, job.stop)]  # a stop string may be starting: wait
        delta = text[len(self.sent[row]):]
        if delta:
            self.sent[row] = text
            job.loop.call_soon_threadsafe(job.stream.put_nowait, delta)


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string in it, and whether one was found."""
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _held_back(text: str, stops: list[str]) -> int:
    """Length of the longest end of ``text`` that could be the start of a stop string."""
    return max((k for s in stops for k in range(min(len(s) - 1, len(text)), 0, -1) if text.endswith(s[:k])),
               default=0)


class Engine:
    """Base model + adapters; :meth:`submit` queues a job, the worker answers it in a batch."""

    def __init__(self, base_model: str, adapters: dict[str, Path] | None = None, adapter_dir: Path | None = None,
                 *, max_batch: int = 16, batch_wait_ms: float = 10.0, precision: str = "auto", device: str = "auto",
                 prefix_cache: str = "auto"):
        from lorakit.generation.generate import use_prefix_cache
        from lorakit.models import load
        from lorakit.runtime import pick_device, resolve_precision, setup_threads

        setup_threads()
        self.base_name = base_model
        self._min_tokens: dict[str, int] = {}
        self.device = pick_device(device)  # checked before the model loads
        self.precision = resolve_precision(self.device, precision)
        self.model, self.tok, self.base_dir = load(base_model, device=self.device, precision=self.precision)
        self.tok.padding_side = "left"
        logger.info("serving %s on %s in %s", base_model, self.device, self.precision)
        self.adapter_dir = Path(adapter_dir).resolve() if adapter_dir else None
        self.loaded: dict[str, Path] = {}  # language-model adapters, on the shared base as PEFT adapters
        self.heads: dict[str, Any] = {}  # classification-head adapters: each its own Classifier (another model class)
        self.grounding: dict[str, Grounding] = {}  # adapters of runs that answer from documents (see Grounding)
        self.max_batch, self.batch_wait = max_batch, batch_wait_ms / 1000
        self.lock = threading.Lock()  # adapters are loaded and used by one thread at a time
        self.queue: asyncio.Queue | None = None
        self.batches = 0
        # (adapter, prefix token ids) -> its keys and values, most recently used last; see _shared_prefix
        self.prefix_cache = use_prefix_cache(self.model, prefix_cache)
        logger.info("prefix cache: %s (%s)", "on" if self.prefix_cache else "off", prefix_cache)
        self._prefixes: OrderedDict[tuple, Any] = OrderedDict()
        for name, path in (adapters or {}).items():
            self.load_adapter(name, Path(path))

    # adapters -------------------------------------------------------------
    def model_names(self) -> list[str]:
        names = {BASE, *self.loaded, *self.heads}
        if self.adapter_dir:
            names |= {p.name for p in self.adapter_dir.iterdir() if self._adapter_path(p) is not None
                      and NAME_RE.match(p.name)}
        return sorted(names)

    @staticmethod
    def _adapter_path(p: Path) -> Path | None:
        for cand in (p, RunDir(p).adapter, RunDir(p).export_dir("peft")):  # an adapter, a run, a run's export
            if (cand / "adapter_config.json").is_file():
                return cand
        return None

    def resolve(self, name: str) -> str | None:
        """The adapter serving model ``name`` (loading it from the adapter folder on first use), or None."""
        if name == BASE or name in self.loaded or name in self.heads:
            return name
        if not NAME_RE.match(name) or self.adapter_dir is None:
            return None
        target = (self.adapter_dir / name).resolve()
        if target.parent != self.adapter_dir:  # never outside the configured folder (symlinks included)
            return None
        path = self._adapter_path(target)
        if path is None:
            return None
        with self.lock:
            if name not in self.loaded and name not in self.heads:
                self.load_adapter(name, path)
        return name

    def load_adapter(self, name: str, path: Path) -> None:
        from peft import PeftModel

        from lorakit.models.adapter import check_adapter
        from lorakit.models.head import read_labels

        if not NAME_RE.match(name) or name == BASE:
            raise ServeError(f"adapter name {name!r} must match {NAME_RE.pattern} and not be '{BASE}'")
        path = self._adapter_path(Path(path)) or Path(path)
        if not (path / "adapter_config.json").is_file():
            raise ServeError(f"{path} holds no adapter (adapter_config.json); pass a run folder or an adapter folder")
        check_adapter(path)
        if read_labels(path) is not None:
            self._load_head(name, path)
            return
        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(path), adapter_name=name)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=name)
        self.model.to(self.device).eval()  # the adapter's weights where the base's are
        self.loaded[name] = path
        self.grounding.pop(name, None)
        grounding = find_grounding(path)
        if grounding is not None:
            self.grounding[name] = grounding
            logger.info("%s answers from its run's documents: a question sent without its excerpts gets the top %d "
                        "of %s (eval.retrieve_k), and the answer their heading paths (sources)", name, grounding.k,
                        grounding.data)
        for key in [k for k in self._prefixes if k[0] == name]:  # encoded with the weights this name had before
            del self._prefixes[key]

    def _load_head(self, name: str, path: Path) -> None:
        """A classification-head adapter (train.head: classification): its own merged model, answering with a label."""
        from lorakit.models import load
        from lorakit.models.head import Classifier

        model, tok, _ = load(self.base_name, adapter=path, device=self.device, precision=self.precision)
        self.heads[name] = Classifier(model, tok)
        self.loaded.pop(name, None)
        self.grounding.pop(name, None)  # a head answers with a label, from no excerpt
        logger.info("serving %s as a classification head over %d labels", name, len(self.heads[name].labels))

    def _classify_batch(self, jobs: list[Job]) -> list[dict[str, Any]]:
        """Answer ``jobs`` with their adapter's head: one forward pass, the most probable label each (sampling
        settings do not apply: a label is chosen, not sampled)."""
        head = self.heads[jobs[0].adapter]
        convs = [j.messages for j in jobs]
        encoded = head.encode(convs)  # once: for the head and for the usage counts
        with self.lock:
            labels = head.classify(convs, batch_size=len(jobs), encoded=encoded)
            self.batches += 1
        results = []
        for j, label, ids in zip(jobs, labels, encoded):
            j.prompt_tokens = len(ids)
            if j.stream is not None:
                j.loop.call_soon_threadsafe(j.stream.put_nowait, label)
            results.append({"text": label, "finish_reason": "stop", "prompt_tokens": j.prompt_tokens,
                            "completion_tokens": len(head.tok(label, add_special_tokens=False)["input_ids"]),
                            "batch_size": len(jobs)})
        return results

    def ground(self, adapter: str, messages: list[dict]) -> tuple[list[dict], list[str] | None]:
        """``messages`` as model ``adapter`` should read them, and the sources found (None: nothing retrieved)."""
        grounding = self.grounding.get(adapter)
        return (messages, None) if grounding is None else grounding.apply(messages)

    # prefix cache ---------------------------------------------------------
    def _shared_prefix(self, adapter: str, jobs: list[Job], ids: list[list[int]]):
        """The encoded prefix a batch can start from: a cached one every row starts with (the longest), else a
        new one, kept for later batches: what the batch's rows share, or a lone request's system turn.

        A served model's clients send the same system prompt with every request; encoding it once per
        adapter spares each request that part of its prefill. At most ``PREFIXES`` are kept.
        """
        from lorakit.generation.generate import MIN_SHARED_PREFIX, prefill_shared_prefix

        fits = [(key, v) for key, v in self._prefixes.items() if key[0] == adapter
                and all(len(row) > len(key[1]) and tuple(row[:len(key[1])]) == key[1] for row in ids)]
        if fits:
            key, prefix = max(fits, key=lambda kv: len(kv[0][1]))
            self._prefixes.move_to_end(key)
            return prefix
        if len(ids) == 1:
            ids = ids + [self._system_turn(jobs[0].messages)]  # a lone request: its system turn is what recurs
            if len(ids[1]) < MIN_SHARED_PREFIX:
                return None
        prefix = prefill_shared_prefix(self.model, ids)
        if prefix is not None:
            logger.info("prefix cache: %d tokens encoded for %s, kept for later requests", len(prefix.ids), adapter)
            self._prefixes[(adapter, tuple(prefix.ids))] = prefix
            while len(self._prefixes) > PREFIXES:
                self._prefixes.popitem(last=False)
        return prefix

    def _system_turn(self, messages: list[dict]) -> list[int]:
        """The tokens of the conversation's leading system message as the chat template renders it (empty: none)."""
        if not messages or messages[0].get("role") != "system":
            return []
        text = self.tok.apply_chat_template(messages[:1], tokenize=False)
        return self.tok(text, add_special_tokens=False)["input_ids"]

    # batching -------------------------------------------------------------
    async def submit(self, job: Job) -> dict:
        job.loop = asyncio.get_running_loop()
        job.future = job.loop.create_future()
        if self.queue is None:
            raise ServeError("the engine is not running")
        await self.queue.put(job)
        return await job.future

    async def worker(self) -> None:
        if self.queue is None:
            self.queue = asyncio.Queue()
        while True:
            jobs = [await self.queue.get()]
            deadline = time.monotonic() + self.batch_wait
            while len(jobs) < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    jobs.append(self.queue.get_nowait() if left <= 0 else await asyncio.wait_for(self.queue.get(), left))
                except (asyncio.TimeoutError, asyncio.QueueEmpty):
                    break
            groups: dict[tuple, list[Job]] = {}
            for j in jobs:
                groups.setdefault(j.key(), []).append(j)
            for group in groups.values():
                try:
                    results = await asyncio.to_thread(self.run_batch, group)
                except Exception as e:  # a failed batch fails its requests, never the worker
                    for j in group:
                        if not j.future.done():
                            j.future.set_exception(e)
                        if j.stream is not None:
                            j.stream.put_nowait(None)
                    continue
                for j, r in zip(group, results):
                    if not j.future.done():
                        j.future.set_result(r)
                    if j.stream is not None:
                        j.stream.put_nowait(None)

    def min_answer_tokens(self, grammar: str) -> int:
        """Tokens the shortest answer under ``grammar`` takes with this model's tokenizer (cached per grammar)."""
        from lorakit.generation.constrained import min_answer_tokens

        if grammar not in self._min_tokens:
            self._min_tokens[grammar] = min_answer_tokens(grammar, self.tok,
                                                          self.model.get_output_embeddings().weight.shape[0])
        return self._min_tokens[grammar]

    def run_batch(self, jobs: list[Job]) -> list[dict[str, Any]]:
        """Answer ``jobs`` (same adapter and sampling) with one call of the generation eval uses."""
        from lorakit.generation.generate import generate_batch

        if jobs[0].adapter in self.heads:
            return self._classify_batch(jobs)
        texts = [self.tok.apply_chat_template(j.messages, add_generation_prompt=True, tokenize=False) for j in jobs]
        ids = [self.tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        for j, i in zip(jobs, ids):
            j.prompt_tokens = len(i)
        prompt_len = max(map(len, ids))  # left-padded to the longest prompt
        control = RowControl(self.tok, jobs, prompt_len)
        grammars = [j.grammar for j in jobs]
        with self.lock:
            adapter = jobs[0].adapter
            if adapter != BASE and self.loaded:
                self.model.set_adapter(adapter)
            with self.model.disable_adapter() if adapter == BASE and self.loaded else nullcontext():
                prefix = self._shared_prefix(adapter, jobs, ids) if self.prefix_cache else None
                out, _ = generate_batch(self.model, self.tok, ids, max_new_tokens=[j.max_tokens for j in jobs],
                                        grammar=grammars if any(grammars) else None, stopping=[lambda _: control],
                                        temperature=jobs[0].temperature, top_p=jobs[0].top_p, prefix=prefix)
            self.batches += 1
        results = []
        for row, j in enumerate(jobs):
            new = out[row].tolist()[:j.max_tokens]  # rows that ended early are padded after
            if self.tok.eos_token_id in new:
                new, control.finish[row] = new[:new.index(self.tok.eos_token_id)], "stop"
            text, cut = cut_at_stop(control.text(new), j.stop)
            if cut:
                control.finish[row] = "stop"
            control.done[row] = True
            control._emit(row, text)
            results.append({"text": text, "finish_reason": control.finish[row], "prompt_tokens": j.prompt_tokens,
                            "completion_tokens": len(new), "batch_size": len(jobs)})
        return results

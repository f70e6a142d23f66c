"""``lorakit eval``: the base and the tuned model on the same items, scored the same way."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, NamedTuple

from lorakit.config import RunConfig
from lorakit.data.chat import ChatExample, load_chat_jsonl
from lorakit.errors import ConfigError, DataError, EvalError
from lorakit.eval.metrics import aggregate, aggregate_by, flips, per_item
from lorakit.eval.stats import bootstrap_cis, next_token_kl, paired_test
from lorakit.io import iter_jsonl, read_json, sha256_file, write_jsonl
from lorakit.rundir import RunDir, library_versions

logger = logging.getLogger(__name__)


def load_for_eval(cfg: RunConfig, which: str, device: str, precision: str):
    """``(model, tok, system_prompt)`` for ``which`` in {base, tuned}; the tuned adapter is merged.

    With ``eval.backend: openai`` the model is a :class:`~lorakit.clients.openai_compat.RemoteModel` and
    ``tok`` is None; the tuned system prompt still comes from the run's record when there is one.
    """
    run = adapter_run(cfg)
    adapter = run.adapter
    if cfg.eval.backend == "openai":
        from lorakit.clients.openai_compat import remote_model

        system = run.run_record().system_prompt if which == "tuned" and run.is_trained else None
        return remote_model(cfg, which), None, system
    base_model, system = cfg.model.name, None
    if which == "tuned":
        if not (adapter / "adapter_config.json").is_file() or not run.is_trained:
            raise EvalError(f"no trained adapter at {adapter}; run `lorakit train` first or evaluate --models base")
        record = run.run_record()
        base_model, system = record.base_model, record.system_prompt
    model, tok = load_merged(base_model, adapter if which == "tuned" else None, device, precision)
    return model, tok, system


def load_merged(base_model: str, adapter: Path | None, device: str, precision: str):
    """``(model, tok)``: ``base_model`` with ``adapter`` (checked) merged into it, in ``precision``, ready to generate;
    a classification-head adapter gives a :class:`~lorakit.models.head.Classifier`, which answers with its labels."""
    from lorakit.models import load
    from lorakit.models.head import Classifier, is_head_model

    model, tok, _ = load(base_model, adapter=adapter, device=device, precision=precision)
    if is_head_model(model):
        return Classifier(model, tok), tok
    return model, tok


def load_trained(run_dir: str | Path, device: str = "auto"):
    """``(cfg, model, tok, system)``: a trained run's config and its tuned model (merged) on ``device`` (auto: cuda
    when present; where it runs now, not where it was trained). For predict and data pairs."""
    from lorakit.runtime import pick_device, resolve_precision, setup_threads

    run = RunDir(run_dir)
    if not run.is_trained:
        raise DataError("no trained adapter here; train the run first", path=str(run.run_record_path))
    cfg = run.run_record().run_config(run.run_record_path)
    cfg.output_dir = run.root
    setup_threads()
    device = pick_device(device)
    model, tok, system = load_for_eval(cfg, "tuned", device, resolve_precision(device, cfg.train.precision))
    return cfg, model, tok, system


def adapter_run(cfg: RunConfig) -> RunDir:
    """The run folder whose adapter is the tuned model: ``eval.run_dir``, else the output folder."""
    return RunDir(cfg.eval.run_dir or cfg.output_dir)


def _expected(ex: ChatExample, path: Path, task):
    try:
        return task.parse_expected(ex.answer)
    except ValueError as e:
        raise EvalError(f"{path}:{ex.line}: {e}") from None


def expected_answers(items: list[ChatExample], path: Path, task) -> list:
    """Every item's expected answer; items that cannot be scored are all listed in one EvalError, never skipped."""
    out, bad = [], []
    for ex in items:
        try:
            out.append(_expected(ex, path, task))
        except EvalError as e:
            bad.append(f"{e} ({_item_id(ex)} of the source file)")
    if bad:
        shown = "\n  ".join(bad[:20]) + (f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else "")
        raise EvalError(f"{len(bad)} of {len(items)} eval items cannot be scored by task {task.name}; fix or remove "
                        f"them:\n  {shown}")
    return out


def arm_name(which: str, decoding: str) -> str:
    """``base``, ``tuned``, ``base+constrained``, ...: the key of an evaluated arm in results.json."""
    return which if decoding == "free" else f"{which}+{decoding}"


def make_scorer(task, items: list[ChatExample], expected: list, train: list[ChatExample] = ()):
    """The task's scorer (a text scorer detects label sets on the eval and train answers)."""
    return task.scorer([str(e) for e in expected] + [ex.answer for ex in train],
                       [ex.category for ex in items] + [ex.category for ex in train])


def _train_examples(task, train_file: Path | None) -> list[ChatExample]:
    """The train split's rows, for a task whose scorer reads them (label sets); none otherwise."""
    if not task.scorer_reads_train or train_file is None or not train_file.is_file():
        return []
    return load_chat_jsonl(train_file)


def _grammars(task, scorer, items: list[ChatExample], expected: list) -> str | list[str | None]:
    return task.grammars(scorer, [ex.category for ex in items], expected)


def evaluate_model(cfg: RunConfig, which: str, items: list[ChatExample], expected: list, task,
                   decoding: str, loaded: tuple, suite: str | None = None, scorer=None, judge=None) -> dict:
    """One arm: ``loaded`` (from :func:`load_for_eval`) answers every item with ``decoding``; scored and saved."""
    from rich.progress import Progress

    from lorakit.generation.generate import generate, use_prefix_cache
    from lorakit.models.head import Classifier

    model, tok, tuned_system = loaded
    head = isinstance(model, Classifier)  # answers with a label whatever the decoding (one forward pass each)
    scorer = scorer or make_scorer(task, items, expected)
    grammar = (_grammars(task, scorer, items, expected) if decoding == "constrained" and tok is not None and not head
               else None)
    processor = None
    if decoding not in ("free", "constrained") and not head:
        processor = (task.decoders or {}).get(decoding)
        if processor is None or tok is None:
            raise EvalError(f"decoding {decoding!r} is not available for task {task.name} with the "
                            f"{'openai' if tok is None else 'local'} backend; available: free, constrained"
                            + "".join(f", {d}" for d in task.decoders or {}))
    name = arm_name(which, decoding)
    prompts = [task.prompt(ex, which, cfg.eval.prompt, tuned_system) for ex in items]
    forced: set[int] = set()
    cut: set[int] = set()  # openai backend: replies the endpoint stopped at max_new_tokens
    t0 = time.perf_counter()
    with Progress(transient=False) as bar:
        job = bar.add_task(f"eval {name}", total=len(items))
        if head:
            raw = model.classify(prompts, batch_size=cfg.eval.batch_size, on_batch=lambda n: bar.advance(job, n))
        elif tok is None:  # the openai backend
            if decoding == "constrained" and task.response_schema is None:
                raise EvalError("constrained decoding over the openai backend needs a task with a JSON Schema "
                                "(sent as response_format)")
            raw = model.generate(prompts, max_new_tokens=cfg.eval.max_new_tokens,
                                 schema=task.response_schema if decoding == "constrained" else None,
                                 on_item=lambda n: bar.advance(job, n), cut=cut)
            if cut and decoding == "constrained":
                logger.warning("%s: %d of %d answers were cut at eval.max_new_tokens=%d by the endpoint; its grammar "
                               "does not keep an answer closable within the budget as lorakit's local decoder does, "
                               "so they are scored as the invalid JSON they are. Raise eval.max_new_tokens, or give "
                               "the schema's strings a maxLength", name, len(cut), len(items), cfg.eval.max_new_tokens)
        else:
            raw = generate(model, tok, prompts, batch_size=cfg.eval.batch_size,
                           max_new_tokens=cfg.eval.max_new_tokens, on_batch=lambda n: bar.advance(job, n),
                           grammar=grammar, processor=processor, forced=forced, prefix_cache=cfg.eval.prefix_cache,
                           stop_when_not_json=(cfg.eval.stop_when_not_json and grammar is None
                                               and task.response_schema is not None))
    seconds = time.perf_counter() - t0
    verdicts = [scorer.score(r, e, ex.category) for r, e, ex in zip(raw, expected, items)]
    if judge is not None:
        grades = judge.grade([ex.user for ex in items], [e if isinstance(e, str) else json.dumps(e) for e in expected],
                             raw)
        for v, g in zip(verdicts, grades):
            v["judge"] = g
            v["scores"]["judge_score"] = g["score"] / 10 if g else None
    write_jsonl(RunDir(cfg.output_dir).predictions(name, suite), (
        {**ex.extra, "id": _item_id(ex), "category": ex.category, "input": ex.user, "expected": exp, "raw_output": r,
         **v, **({"force_closed": i in forced} if grammar is not None else {}),
         **({"cut_at_budget": i in cut} if tok is None else {})}
        for i, (ex, exp, r, v) in enumerate(zip(items, expected, raw, verdicts))
    ))
    return {
        "model": which,
        "decoding": decoding,
        "overall": aggregate(verdicts),
        "intervals": {k: list(v) for k, v in bootstrap_cis(per_item(verdicts)).items()},
        "fields": scorer.details(verdicts, expected),
        "failures": worst_failures(items, expected, raw, verdicts),
        "by_category": aggregate_by(verdicts, [ex.category for ex in items]),
        "seconds": round(seconds, 1),
        **({"prefix_cache": use_prefix_cache(model, cfg.eval.prefix_cache)} if tok is not None and not head else {}),
        **({"answered_by": "classification head", "head_labels": len(model.labels),
            "expected_outside_labels": _outside(expected, model.labels)} if head else {}),
        # answers the decoder closed itself because max_new_tokens was running out (constrained arms only)
        **({"force_closed": len(forced)} if grammar is not None else {}),
        # openai backend: answers the endpoint stopped at max_new_tokens (finish_reason "length"), kept as they came
        **({"cut_at_budget": len(cut)} if tok is None else {}),
        "system_prompt": prompts[0][0]["content"] if prompts and prompts[0][0]["role"] == "system" else None,
        "_verdicts": verdicts,
    }


def _outside(expected: list, labels: list[str]) -> int:
    """Items whose expected answer is none of the head's labels: it cannot answer them right (said, and counted)."""
    known = set(labels)
    n = sum(str(e).strip() not in known for e in expected)
    if n:
        logger.warning("%d of %d eval items expect an answer that is none of the head's %d labels; they are scored "
                       "as given and count as wrong", n, len(expected), len(labels))
    return n


def worst_failures(items: list[ChatExample], expected: list, raw: list[str], verdicts: list[dict],
                   k: int = 8, clip: int = 600) -> list[dict]:
    """The ``k`` items with the most wrong fields (ties: file order), for the report's side-by-side view."""
    wrong = [[m for m, ok in v["scores"].items() if ok is False] for v in verdicts]
    order = sorted((i for i, v in enumerate(verdicts) if not v["exact_match"]), key=lambda i: -len(wrong[i]))
    return [{"id": _item_id(items[i]), "category": items[i].category, "input": items[i].user[:clip],
             "expected": expected[i] if isinstance(expected[i], str) else json.dumps(expected[i], ensure_ascii=False),
             "got": raw[i][:clip], "wrong_fields": wrong[i]}
            for i in order[:k]]


def _item_id(ex: ChatExample) -> str:
    """The item's name in predictions and reports: the source row's ``id``, else its line in the source file."""
    if ex.extra.get("source_id") is not None:
        return str(ex.extra["source_id"])
    return f"line-{ex.source_line}"


def _divergence(loaded: dict, items: list[ChatExample], task, device: str) -> dict:
    """KL(tuned || base) on the tuned model's prompts with the expected answers (see ``next_token_kl``)."""
    (base, tok, _), (tuned, _, tuned_system) = loaded["base"], loaded["tuned"]
    convs = [task.prompt(ex, "tuned", "auto", tuned_system) for ex in items]
    return next_token_kl(base, tuned, tok, convs, [ex.answer for ex in items], device)


def arm_pairs(arms) -> list[tuple[str, str]]:
    """The paired comparisons: base vs tuned under each decoding, then each model free vs each other decoding."""
    modes = [a.split("+", 1)[1] for a in arms if a.startswith("base+") or a.startswith("tuned+")]
    modes = list(dict.fromkeys(modes))
    pairs = [("base", "tuned")] + [(f"base+{m}", f"tuned+{m}") for m in modes]
    pairs += [(w, f"{w}+{m}") for m in modes for w in ("base", "tuned")]
    return pairs


def compare_arms(verdicts: dict[str, list[dict]], ids: list[str], focus: list[str] | None = None) -> list[dict]:
    """Paired comparisons of the evaluated arms: per-metric delta and paired test (see ``paired_test``),
    item flips both ways."""
    out = []
    for a, b in arm_pairs(verdicts):
        if a not in verdicts or b not in verdicts:
            continue
        va, vb = per_item(verdicts[a]), per_item(verdicts[b])
        first = next((m for m in va if m.startswith("field:")), None)  # the schema's first field, e.g. intent
        out.append({
            "a": a, "b": b,
            "metrics": {m: {"delta": _mean(vb[m]) - _mean(va[m]), **paired_test(va[m], vb[m])} for m in va},
            "flips": {m: flips(va[m], vb[m], ids) for m in _flip_metrics(va, first, focus)},
        })
    return out


def _flip_metrics(per_metric: dict, first: str | None, focus: list[str] | None) -> list[str]:
    """Two boolean metrics whose item flips the report lists: exact match and the first field, or the scorer's focus."""
    wanted = dict.fromkeys(["exact_match", first] + list(focus or []))
    return [m for m in wanted if m in per_metric and _is_bool(per_metric[m])][:2]


def _mean(values: list) -> float:
    known = [float(v) for v in values if v is not None]
    return sum(known) / len(known) if known else 0.0


def _is_bool(values: list) -> bool:
    return all(isinstance(v, bool) for v in values if v is not None)


class _EvalSetup(NamedTuple):
    task: Any
    eval_file: Path
    items: list[ChatExample]
    expected: list
    device: str
    precision: str
    train_file: Path | None


def _setup(cfg: RunConfig) -> _EvalSetup:
    """Threads, task, eval items with their expected answers, device and precision."""
    from lorakit.data.tasks import get_task
    from lorakit.data.ensure import ensure_eval_data
    from lorakit.runtime import pick_device, setup_threads
    from lorakit.runtime import resolve_precision

    setup_threads()
    train_file, eval_file = ensure_eval_data(cfg)
    if train_file is None and cfg.eval.run_dir is not None:  # label sets of a text task: the trained run's data
        train_file = RunDir(cfg.eval.run_dir).data / "train.jsonl"
    items = load_chat_jsonl(eval_file, limit=cfg.eval.limit)
    device = pick_device(cfg.train.device)
    task = get_task(cfg.data.task)
    return _EvalSetup(task, eval_file, items, expected_answers(items, eval_file, task), device,
                      resolve_precision(device, cfg.train.precision), train_file)


def check_constrained_budget(cfg: RunConfig, task, loaded: tuple) -> None:
    """Refuse, before any arm runs, a ``max_new_tokens`` that cannot hold the schema's shortest answer."""
    model, tok, _ = loaded
    if "constrained" not in cfg.eval.decoding or tok is None or task.response_schema is None:
        return
    from lorakit.generation.constrained import compile_schema, min_answer_tokens

    need = min_answer_tokens(compile_schema(task.response_schema), tok, model.get_output_embeddings().weight.shape[0])
    if cfg.eval.max_new_tokens < need:
        raise ConfigError(f"eval.max_new_tokens={cfg.eval.max_new_tokens} cannot hold the shortest answer the task's "
                          f"JSON Schema allows ({need} tokens with this model's tokenizer); constrained decoding "
                          f"needs eval.max_new_tokens >= {need}")


def evaluate(cfg: RunConfig) -> dict:
    """Evaluate the configured models on the eval file; writes ``results.json`` and predictions."""
    from lorakit.eval.judge import judge_from_config
    from lorakit.models.head import Classifier

    task, eval_file, items, expected, device, precision, train_file = _setup(cfg)
    task.check_decodings(cfg.eval.decoding, local=cfg.eval.backend == "local")
    task.check_context(cfg.eval.context)
    retrieval = None
    if cfg.eval.context == "retrieved":  # the task finds each item's excerpts itself, as a user's question would
        kept, items, retrieval = task.retrieve_eval(cfg, adapter_run(cfg).data, items, cfg.eval.retrieve_k)
        expected = [expected[i] for i in kept]
        if not items:
            raise EvalError(f"eval.context=retrieved left no item of {eval_file} to score ({retrieval['skipped']})")
    scorer = make_scorer(task, items, expected, _train_examples(task, train_file))
    judge = judge_from_config(cfg)
    models, loaded_models = {}, {}
    for which in cfg.eval.models:
        loaded = load_for_eval(cfg, which, device, precision)  # one load per model, shared by its decoding arms
        if not models and not isinstance(loaded[0], Classifier):
            check_constrained_budget(cfg, task, loaded)
        for decoding in cfg.eval.decoding:
            models[arm_name(which, decoding)] = evaluate_model(cfg, which, items, expected, task, decoding, loaded,
                                                               scorer=scorer, judge=judge)
        loaded_models[which] = loaded
    results = {
        "task": task.name,
        "eval_file": str(eval_file),
        "eval_sha256": sha256_file(eval_file),
        "n_items": len(items),
        **({"eval_source": src} if (src := eval_source(eval_file)) else {}),
        "output": task.output,
        "backend": cfg.eval.backend if cfg.eval.backend == "local" else f"openai {cfg.eval.openai.base_url}",
        "focus": getattr(scorer, "focus", None),
        "labels": getattr(scorer, "labels", None) or {},  # the task's names for its own metrics
        "scope": getattr(scorer, "scope", ""),  # which items a metric is over, in the scorer's words
        "models": {k: {kk: vv for kk, vv in v.items() if kk != "_verdicts"} for k, v in models.items()},
        "comparisons": compare_arms({k: v["_verdicts"] for k, v in models.items()}, [_item_id(ex) for ex in items],
                                    getattr(scorer, "focus", None)),
    }
    if retrieval is not None:
        results["retrieval"] = retrieval
    if any(isinstance(m[0], Classifier) for m in loaded_models.values()):
        logger.info("KL(tuned || base) and the general prompts: skipped, a classification head does not generate text")
        results["head"] = {"labels": loaded_models["tuned"][0].labels}
    elif {"base", "tuned"} <= set(loaded_models) and cfg.eval.kl_items and cfg.eval.backend == "local":
        results["divergence"] = _divergence(loaded_models, items[:cfg.eval.kl_items], task, device)
    if ({"base", "tuned"} <= set(loaded_models) and cfg.eval.general_prompts and cfg.eval.backend == "local"
            and "head" not in results):
        from lorakit.eval.general import general_drift

        (base, tok, _), (tuned, _, _) = loaded_models["base"], loaded_models["tuned"]
        results["general"] = general_drift(base, tuned, tok, cfg.eval.general_prompts, device)
    del loaded_models
    run = RunDir(cfg.output_dir)
    trained = adapter_run(cfg)
    rec = _training_record(trained)
    if rec is not None:
        results["training"] = {k: rec.get(k) for k in ("method", "head", "init_from", "examples", "steps", "tokens", "seconds",
                                                       "tokens_per_second", "final_loss", "device", "precision",
                                                       "threads")}
        if trained.train_log.is_file():
            log = [r for _, r in iter_jsonl(trained.train_log)]
            results["training"]["loss_curve"] = [[r["step"], r["loss"]] for r in log]
            if log and "rewards/margin" in log[0]:  # DPO: the implicit reward margin and how often it is positive
                results["training"]["reward_curve"] = [[r["step"], r["rewards/margin"], r["rewards/accuracy"]]
                                                       for r in log]
            if log and "reward" in log[0]:  # GRPO: the mean reward of the sampled answers, and the share trained on
                results["training"]["sample_reward_curve"] = [[r["step"], r["reward"], r.get("trained_share")]
                                                              for r in log]
                # and its KL to the starting model, on the steps that trained on some answer
                results["training"]["kl_curve"] = [[r["step"], r["kl"]] for r in log if r.get("kl") is not None]
    # what produced these numbers: the eval-time config (--set overrides included) and the library versions
    results["config"] = cfg.model_dump(mode="json")
    results["versions"] = library_versions()
    run.write_results(results)
    _track(cfg, results)
    return results


def _track(cfg: RunConfig, results: dict) -> None:
    """Every arm's headline metrics to the run's experiment trackers, at the training's last step."""
    if not cfg.train.report_to:
        return
    from lorakit.tracking import Tracker

    tracker = Tracker(cfg.train.report_to, RunDir(cfg.output_dir), cfg.model_dump(mode="json"))
    step = (results.get("training") or {}).get("steps") or 0
    tracker.log({f"eval/{arm}/{m}": v for arm, r in results["models"].items() for m, v in r["overall"].items()}, step)
    tracker.close()


def eval_source(eval_file: Path) -> dict | None:
    """The user's file behind a prepared eval split: its path, rows read, bad rows and duplicates (kept)."""
    for name in ("eval_record.json", "prepare_record.json"):
        path = eval_file.parent / name
        if path.is_file():
            rec = read_json(path)
            src = rec.get("sources", {}).get("eval")
            if src is None:
                return {"split_from": rec.get("sources", {}).get("train", {}).get("path")}
            dups = rec.get("eval_duplicates", [])
            return {"file": src["path"], "sha256": src["sha256"], "rows_read": rec["rows_read"]["eval"],
                    "bad_rows": rec["rows_read"]["eval"] - rec["files"]["eval"]["rows"], "duplicates": len(dups),
                    "duplicate_lines": [[d["line"], d["duplicate_of_line"]] for d in dups]}
    return None


def _training_record(run: RunDir) -> dict | None:
    """The run's training record for the results' training summary; an unreadable one is logged, not fatal
    (the arms have already been evaluated by then)."""
    if not run.is_trained:
        return None
    try:
        return run.run_record().model_dump()
    except ConfigError as e:
        logger.warning("results.json gets no training summary: %s", e)
        return None


def evaluate_robustness(cfg: RunConfig) -> dict:
    """``--suite robustness``: every arm on clean items and their attacked variants; writes ``robustness.json``."""
    from lorakit.eval.robustness import attack_success, build_suite

    task, eval_file, items, expected, device, precision, _ = _setup(cfg)
    attacks = task.robustness_attacks()
    if not attacks:
        raise EvalError(f"task {task.name} has no robustness attacks (free-text tasks have none unless they define "
                        "Task.attacks); run the suite on a JSON task or give the task its attacks")
    variants, v_expected = build_suite(items, expected, attacks, task.empty_answer)
    if not variants:
        raise EvalError(f"no eval item in {eval_file} is long enough for the robustness suite (40+ characters)")
    attacked_lines = {ex.line for ex in variants}
    clean = [(ChatExample(ex.messages, "none", ex.line, {**ex.extra, "attack": "none"}), e)
             for ex, e in zip(items, expected) if ex.line in attacked_lines]
    all_items = [ex for ex, _ in clean] + variants
    all_expected = [e for _, e in clean] + v_expected
    arms = {}
    for which in cfg.eval.models:
        loaded = load_for_eval(cfg, which, device, precision)
        for decoding in cfg.eval.decoding:
            res = evaluate_model(cfg, which, all_items, all_expected, task, decoding, loaded, "robustness")
            verdicts = res.pop("_verdicts")
            clean_v = {ex.line: v for (ex, _), v in zip(clean, verdicts)}
            attacked = [(ex.line, ex.category, v) for ex, v in zip(variants, verdicts[len(clean):])]
            res["attack_success"] = attack_success(clean_v, attacked)
            changed = sum(d["changed"] for d in res["attack_success"].values())
            n = sum(d["n"] for d in res["attack_success"].values())
            res["attack_success_overall"] = changed / n if n else None
            res.pop("failures", None)
            arms[arm_name(which, decoding)] = res
        del loaded
    results = {"task": task.name, "suite": "robustness", "eval_file": str(eval_file),
               "eval_sha256": sha256_file(eval_file), "n_clean": len(clean),
               "n_variants": len(variants), "models": arms}
    RunDir(cfg.output_dir).write_robustness(results)
    return results

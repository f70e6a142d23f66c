"""The export parity check: the exported artifact must answer exactly like the evaluated model."""

from __future__ import annotations

from pathlib import Path


def _load_peft_like_a_user(path: Path, training_base: str):
    """``AutoPeftModelForCausalLM`` on the exported folder, its config pointed at the base's recorded path.

    The export names its base by hub id, which this machine may not reach; a copy of the folder whose
    config names the local weights instead loads exactly as the folder will elsewhere.
    """
    import shutil
    import tempfile

    from peft import AutoPeftModelForCausalLM

    from lorakit.io import read_json, write_json
    from lorakit.models.loader import load_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "adapter"
        shutil.copytree(path, copy)
        config = read_json(copy / "adapter_config.json")
        write_json(copy / "adapter_config.json", {**config, "base_model_name_or_path": training_base})
        model = AutoPeftModelForCausalLM.from_pretrained(str(copy))
        return model.merge_and_unload(), load_tokenizer(str(path))


def _load_exported(fmt: str, path: Path, rec: dict, training_base: str | None = None):
    from transformers import AutoModelForCausalLM

    from lorakit.models.loader import load_tokenizer

    if fmt == "peft":
        return _load_peft_like_a_user(path, training_base or rec["model_dir"])
    if fmt == "merged":
        return AutoModelForCausalLM.from_pretrained(path), load_tokenizer(str(path))
    from transformers import AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path, gguf_file="model.gguf")
    tok = AutoTokenizer.from_pretrained(path, gguf_file="model.gguf")
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def logits_gap(a, b, tok, prompts: list[list[dict]]) -> float:
    """Largest |logit difference| relative to the largest |logit|, over the prompts' positions."""
    import torch

    worst = 0.0
    for conv in prompts:
        ids = tok(tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False),
                  add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            la, lb = a(ids).logits.float(), b(ids).logits.float()
        worst = max(worst, float((la - lb).abs().max() / la.abs().max()))
    return worst


# largest logit difference relative to the largest logit a GGUF may show against the fp32 model: f16 storage
# stays within bf16 tolerance; q8_0's 8-bit blocks measure 2.8e-2 on the demo adapter (answers still identical)
LOGIT_TOLERANCE = {"f16": 1e-2, "q8_0": 5e-2}


def divergence_margin(model, tok, conv: list[dict], other: str, max_new_tokens: int) -> float | None:
    """Where ``model``'s greedy answer to ``conv`` and another runtime's answer ``other`` part: the model's logit of
    its own next token minus that of the token ``other`` goes on with, relative to its largest |logit|. A margin
    inside the format's logit tolerance is a near tie, which rounding the weights to f16 may flip (the answers then
    go their own ways). The model's answer is re-generated token by token (re-tokenizing its text would merge
    tokens such as a run of newlines); None where it does not part from ``other`` within ``max_new_tokens``."""
    import torch

    prompt = tok(tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False),
                 add_special_tokens=False)["input_ids"]
    ids: list[int] = []
    for _ in range(max_new_tokens):
        with torch.inference_mode():
            logits = model(torch.tensor([prompt + ids])).logits[0, -1].float()
        nxt, done = int(logits.argmax()), tok.decode(ids, skip_special_tokens=True)
        ends = nxt == tok.eos_token_id
        if (other != done) if ends else not other.startswith(tok.decode(ids + [nxt], skip_special_tokens=True)):
            rest = other[len(done):]
            theirs = tok(rest, add_special_tokens=False)["input_ids"][0] if rest else tok.eos_token_id
            return float((logits[nxt] - logits[theirs]) / logits.abs().max())
        if ends:
            return None
        ids.append(nxt)
    return None


def near_ties(model, tok, prompts: list[list[dict]], want: list[str], got: list[str], diff: list[int],
              tolerance: float, max_new_tokens: int) -> list[dict]:
    """``differing_items`` of a parity check, each with its :func:`divergence_margin` and whether it is a near tie."""
    out = []
    for i in diff:
        margin = divergence_margin(model, tok, prompts[i], got[i], max_new_tokens)
        out.append({"item": i, "evaluated": want[i], "exported": got[i], "margin": margin,
                    "near_tie": margin is not None and -tolerance < margin < tolerance})
    return out


def _load_exported_head(fmt: str, path: Path, rec: dict, training_base: str | None):
    """A classification-head export as a user loads it: ``AutoPeftModelForSequenceClassification`` or
    ``AutoModelForSequenceClassification``, labels from the folder."""
    import shutil
    import tempfile

    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from lorakit.models.head import Classifier, read_labels
    from lorakit.models.loader import load_tokenizer

    tok = load_tokenizer(str(path))
    if fmt == "merged":
        return Classifier(AutoModelForSequenceClassification.from_pretrained(path).eval(), tok)
    labels = read_labels(path)
    with tempfile.TemporaryDirectory() as tmp:  # the base named by hub id in the export: read from this machine
        copy = Path(tmp) / "adapter"
        shutil.copytree(path, copy)
        base = AutoModelForSequenceClassification.from_pretrained(
            training_base or rec["model_dir"], num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={v: i for i, v in enumerate(labels)})
        base.config.pad_token_id = tok.pad_token_id
        model = PeftModel.from_pretrained(base, str(copy)).merge_and_unload()
    return Classifier(model.eval(), tok)


def check_head_parity(run_dir: Path, rec: dict, fmt: str, path: Path, n: int,
                      training_base: str | None = None) -> dict:
    """A classification head's export: the same label, and probabilities within 1e-5, on ``n`` eval items."""
    import torch

    from lorakit.eval.runner import load_for_eval
    from lorakit.export.artifacts import eval_sample

    cfg, prompts = eval_sample(run_dir, n)
    reference, _, _ = load_for_eval(cfg, "tuned", "cpu", "fp32")
    exported = _load_exported_head(fmt, path, rec, training_base)
    exported.model.to(torch.float32)
    want, got = reference.probabilities(prompts), exported.probabilities(prompts)
    same = (want.argmax(-1) == got.argmax(-1)).tolist()
    gap = float((want - got).abs().max()) if len(prompts) else 0.0
    out = {"items": len(prompts), "precision": "fp32", "answers_identical": sum(same), "probability_gap": gap,
           "labels_identical": exported.labels == reference.labels,
           "differing_items": [{"item": i, "evaluated": reference.labels[int(want[i].argmax())],
                                "exported": exported.labels[int(got[i].argmax())]}
                               for i, ok in enumerate(same) if not ok][:5]}
    out["passed"] = bool(all(same) and gap < 1e-5 and out["labels_identical"])
    out["summary"] = (f"{sum(same)}/{len(prompts)} labels identical, largest probability gap {gap:.1e}, "
                      f"label names identical: {out['labels_identical']}")
    return out


def check_parity(run_dir: Path, rec: dict, fmt: str, path: Path, n: int, training_base: str | None = None,
                 quant: str = "f16") -> dict:
    """Re-answer ``n`` eval items with the exported artifact and the evaluated model; compare."""
    import torch

    if rec.get("head") == "classification":
        return check_head_parity(run_dir, rec, fmt, path, n, training_base)

    from lorakit.generation.generate import generate
    from lorakit.eval.runner import load_for_eval
    from lorakit.export.artifacts import eval_sample

    cfg, prompts = eval_sample(run_dir, n)
    reference, tok, _ = load_for_eval(cfg, "tuned", "cpu", "fp32")
    exported, etok = _load_exported(fmt, path, rec, training_base)
    exported.to(torch.float32).eval()
    out: dict = {"items": len(prompts), "precision": "fp32"}
    if fmt in ("gguf", "ollama"):
        out["logits_rel_gap"] = logits_gap(reference, exported, tok, prompts[:4])
        out["chat_template_in_gguf"] = bool(etok.chat_template) and etok.chat_template == tok.chat_template
    if fmt == "ollama":
        from lorakit.export.ollama import go_template, render_go_template, template_pieces

        template = go_template(template_pieces(tok))
        convs = [p + [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}] for p in prompts[:4]]
        convs += [[m for m in p if m["role"] != "system"] for p in prompts[:2]]
        out["template_identical"] = all(
            render_go_template(template, c) == tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
            for c in convs)
    kw = dict(batch_size=cfg.eval.batch_size, max_new_tokens=cfg.eval.max_new_tokens)
    want = generate(reference, tok, prompts, **kw)
    got = generate(exported, etok, prompts, **kw)
    diff = [i for i, (a, b) in enumerate(zip(want, got)) if a != b]
    out["answers_identical"] = len(prompts) - len(diff)
    if "logits_rel_gap" in out:  # f16 / q8_0 weights: an answer may part from the fp32 one at a near tie
        out["differing_items"] = near_ties(reference, tok, prompts, want, got, diff, LOGIT_TOLERANCE[quant],
                                           kw["max_new_tokens"])
        out["near_ties"] = sum(d["near_tie"] for d in out["differing_items"])
        real = out["near_ties"] < len(diff)
    else:
        out["differing_items"] = [{"item": i, "evaluated": want[i], "exported": got[i]} for i in diff[:5]]
        real = bool(diff)
    passed = not real and out.get("template_identical", True) and out.get("chat_template_in_gguf", True)
    if fmt in ("gguf", "ollama"):
        out.update(_runtime_checks(path / "model.gguf", tok, rec, prompts, want, kw["max_new_tokens"], reference,
                                   LOGIT_TOLERANCE[quant]))
        passed = passed and out["tokenizer"]["passed"] and out["llama_cpp"].get("passed", True)
    if "logits_rel_gap" in out:
        out["logits_tolerance"] = LOGIT_TOLERANCE[quant]
        passed = passed and out["logits_rel_gap"] < LOGIT_TOLERANCE[quant]
    out["passed"] = bool(passed)
    out["summary"] = (f"{out['answers_identical']}/{len(prompts)} answers identical"
                      + (f" ({out['near_ties']} of the others parted at a near tie: the fp32 model's own next token "
                         f"led by under {LOGIT_TOLERANCE[quant]:g} of its largest logit)" if out.get("near_ties") else "")
                      + (f", logits relative gap {out['logits_rel_gap']:.2e}" if "logits_rel_gap" in out else "")
                      + (f", template identical: {out['template_identical']}" if "template_identical" in out else "")
                      + _runtime_summary(out))
    return out


def _runtime_checks(gguf_file: Path, tok, rec: dict, prompts, want: list[str], max_new_tokens: int, reference,
                    tolerance: float) -> dict:
    """The GGUF as llama.cpp sees it: tokenizer metadata always, real llama.cpp answers when installed. llama.cpp
    runs the f16 weights too: an answer of it that parts from the fp32 ``reference``'s at a near tie passes, as
    in the check above."""
    from lorakit.export.artifacts import source_gguf
    from lorakit.export.gguf_check import llama_cpp_available, llama_cpp_check, log, tokenizer_metadata_check

    out = {"tokenizer": tokenizer_metadata_check(gguf_file, tok, source_gguf(rec["base_model"]))}
    if llama_cpp_available():
        result = llama_cpp_check(gguf_file, tok, prompts, want, max_new_tokens)
        answers = result.pop("answers")
        diff = [i for i, (a, b) in enumerate(zip(want, answers)) if a != b]
        if diff:
            result["differing_items"] = near_ties(reference, tok, prompts, want, answers, diff, tolerance,
                                                  max_new_tokens)
            result["near_ties"] = sum(d["near_tie"] for d in result["differing_items"])
            result["passed"] = (result["prompt_ids_identical"] == result["items"]
                                and result["near_ties"] == len(diff))
        out["llama_cpp"] = result
    else:
        reason = "llama-cpp-python is not installed (`make llama-cpp` builds it once)"
        log.warning("export check: %s; checked the GGUF's tokenizer metadata only", reason)
        out["llama_cpp"] = {"skipped": reason}
    return out


def _runtime_summary(out: dict) -> str:
    if "tokenizer" not in out:
        return ""
    tokenizer = out["tokenizer"]
    text = (f", tokenizer metadata {'ok' if tokenizer['passed'] else 'WRONG'}"
            + (f" (special tokens not CONTROL: {tokenizer['special_not_control']})" if tokenizer["special_not_control"]
               else "")
            + (f" (differs from the source GGUF: {tokenizer['differs_from_source']})"
               if tokenizer.get("differs_from_source") else ""))
    cpp = out["llama_cpp"]
    if "skipped" in cpp:
        return text + f", llama.cpp not run: {cpp['skipped']}"
    return text + (f", llama.cpp: {cpp['prompt_ids_identical']}/{cpp['items']} prompts tokenized identically, "
                   f"{cpp['answers_identical']}/{cpp['items']} answers identical"
                   + (f" ({cpp['near_ties']} of the others parted at a near tie)" if cpp.get("near_ties") else ""))

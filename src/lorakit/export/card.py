"""The ``README.md`` model card written into every export folder (Hugging Face's card format).

YAML front matter the hub reads (base_model, library_name, license, tags), then what a user needs
to trust and use the export: the task, the exact prompt, the measured base-vs-tuned table from the
run's ``results.json``, the parity check, and the commands that load it in each runtime.
"""

from __future__ import annotations

from pathlib import Path

import yaml

LIBRARY = {"peft": "peft", "merged": "transformers", "gguf": "gguf", "ollama": "gguf"}


def front_matter(record: dict, task: str) -> dict:
    meta = {"base_model": record["base_model_name_or_path"], "library_name": LIBRARY[record["format"]],
            "tags": ["lorakit", "lora", task] + (["gguf"] if record["format"] in ("gguf", "ollama") else []),
            "pipeline_tag": "text-generation"}
    if record.get("license"):
        meta["license"] = record["license"]
    if record.get("format") == "peft":
        meta["tags"].insert(1, "base_model:adapter:" + record["base_model_name_or_path"])
    return meta


def _load_commands(record: dict, name: str) -> list[str]:
    """How to load this folder in each runtime (or which export to make for it)."""
    fmt, base = record["format"], record["base_model_name_or_path"]
    here = "path/to/this/folder"
    py = {"peft": f'from peft import AutoPeftModelForCausalLM\nmodel = AutoPeftModelForCausalLM.from_pretrained("{here}")'
                  f'\n# the base is fetched from "{base}"; tokenizer: AutoTokenizer.from_pretrained("{here}")',
          "merged": f'from transformers import AutoModelForCausalLM, AutoTokenizer\n'
                    f'model = AutoModelForCausalLM.from_pretrained("{here}")\n'
                    f'tok = AutoTokenizer.from_pretrained("{here}")',
          "gguf": f'from transformers import AutoModelForCausalLM\n'
                  f'model = AutoModelForCausalLM.from_pretrained("{here}", gguf_file="model.gguf")'}
    py["ollama"] = py["gguf"]
    lines = ["### transformers / PEFT", "", "```python", py[fmt], "```", ""]
    gguf = fmt in ("gguf", "ollama")
    lines += ["### llama.cpp", ""]
    lines += (["```sh", "llama-server -m model.gguf --jinja   # OpenAI-compatible server, chat template from the file",
               "python -m llama_cpp.server --model model.gguf   # the same with llama-cpp-python", "```"] if gguf
              else [f"Make a GGUF first: `lorakit export RUN_DIR --format gguf --check`."])
    lines += ["", "### Ollama", ""]
    lines += ([f"```sh\nollama create {name} -f Modelfile\nollama run {name}\n```"] if fmt == "ollama"
              else [f"Make the Modelfile and GGUF: `lorakit export RUN_DIR --format ollama --check`."])
    lines += ["", "### vLLM", "", "```sh"]
    lines += {"peft": [f"vllm serve {base} --enable-lora --lora-modules {name}={here}"],
              "merged": [f"vllm serve {here}"],
              "gguf": [f"vllm serve {here}/model.gguf --tokenizer {base}"],
              "ollama": [f"vllm serve {here}/model.gguf --tokenizer {base}"]}[fmt]
    return lines + ["```"]


def _head_load_commands(record: dict) -> list[str]:
    """How to load a classification-head export (train.head: classification): transformers only, no GGUF."""
    here, base = "path/to/this/folder", record["base_model_name_or_path"]
    py = {"peft": 'import json\nfrom peft import PeftModel\nfrom transformers import AutoModelForSequenceClassification\n'
                  f'labels = json.load(open("{here}/labels.json"))["labels"]\n'
                  f'base = AutoModelForSequenceClassification.from_pretrained("{base}", num_labels=len(labels))\n'
                  f'model = PeftModel.from_pretrained(base, "{here}")',
          "merged": 'from transformers import AutoModelForSequenceClassification\n'
                    f'model = AutoModelForSequenceClassification.from_pretrained("{here}")  # labels: model.config.id2label'}
    return ["### transformers / PEFT", "", "```python", py[record["format"]], "```", "",
            "The answer is the label with the highest logit for the prompt's last token: the chat template with the "
            "generation prompt and the system message above. One prompt at a time (or right-padded), "
            "`model(**tok(prompt, return_tensors='pt')).logits` gives them.", "",
            "### llama.cpp, Ollama, vLLM's GGUF loader", "",
            "Not available: GGUF cannot carry the classification head. Train with `train.head: lm` for them."]


def _results_table(run_dir: Path) -> list[str]:
    from lorakit.eval.report import headline_table

    from lorakit.rundir import RunDir

    run = RunDir(run_dir)
    if not run.results_path.is_file():
        return ["Not evaluated yet: `lorakit eval RUN_DIR` writes results.json, then export again."]
    results = run.results().model_dump(exclude_unset=True)
    return [f"{results['n_items']} items of `{Path(results['eval_file']).name}`, scored by lorakit "
            f"(in brackets: 95% bootstrap interval):", "", headline_table(results)]


def model_card(record: dict, run_record: dict, run_dir: Path, chat_template: str | None) -> str:
    """The card's Markdown for an export described by ``record`` (its export_record.json)."""
    task = run_record.get("task") or "task"
    name = run_dir.name or "lorakit-model"
    check = record.get("check")
    lines = ["---", yaml.safe_dump(front_matter(record, task), sort_keys=False).rstrip(), "---", "",
             f"# {name} ({record['format']})", "",
             f"A LoRA fine-tune of `{record['base_model_name_or_path']}` for the lorakit task `{task}`, "
             f"exported as `{record['format']}` by `lorakit export`.", ""]
    if record.get("base_note"):
        lines += [f"**Base model:** {record['base_note']}.", ""]
    lines += ["## Prompt", "", "Use the model's chat template with this system message (the one it was trained with):",
              "", "```text", run_record.get("system_prompt") or "(none)", "```", ""]
    if chat_template:
        lines += ["<details><summary>Chat template</summary>", "", "```jinja", chat_template, "```", "", "</details>",
                  ""]
    lines += ["## Evaluation", ""] + _results_table(run_dir) + [""]
    lines += ["## Export check", ""]
    lines += ([f"{'Passed' if check['passed'] else 'FAILED'}: {check['summary']} "
               f"(`lorakit export --check`, {check['items']} eval items, greedy)."] if check
              else ["Not checked: run `lorakit export RUN_DIR --format FORMAT --check`."])
    load = _head_load_commands(record) if run_record.get("head") == "classification" else _load_commands(record, name)
    lines += ["", "## Load it", ""] + load + [""]
    return "\n".join(lines)


def write_card(folder: Path, record: dict, run_record: dict, run_dir: Path, chat_template: str | None) -> None:
    from lorakit.io import atomic_write_text

    atomic_write_text(folder / "README.md", model_card(record, run_record, run_dir, chat_template))

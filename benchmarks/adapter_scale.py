"""Support tickets: does a weaker adapter generalise better? (WiSE-FT for LoRA)

    .venv/bin/python benchmarks/adapter_scale.py runs/support_ticket --scales 0.8 0.9

WiSE-FT (Wortsman et al., 2022) interpolates between the pretrained and the fine-tuned weights and
often gains accuracy out of distribution. For a LoRA adapter the interpolation is a scale on its
update: ``W + s * B @ A``. For each scale this copies the run's adapter and data into
``RUN_scaleS/``, multiplies every ``lora_B`` by ``s`` and evaluates the tuned model on all eval
items with free greedy decoding (the run's own ``config.yaml``: the same model, items and settings), then prints one Markdown
row per scale beside the unscaled adapter's numbers. No training: each scale costs one evaluation
(about 4 minutes for 800 items on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

METRICS = ["field:intent", "field:priority", "exact_match", "valid_json", "schema_valid"]


def scaled_copy(run: Path, scale: float) -> Path:
    """``RUN_scaleS/`` with the run's data and its adapter's update multiplied by ``scale``."""
    from safetensors.torch import load_file, save_file

    out = run.parent / f"{run.name}_scale{scale:g}"
    for part in ("adapter", "data"):
        if (out / part).exists():
            shutil.rmtree(out / part)
        shutil.copytree(run / part, out / part)
    weights = out / "adapter" / "adapter_model.safetensors"
    state = load_file(weights)
    save_file({k: v * scale if "lora_B" in k else v for k, v in state.items()}, weights, metadata={"format": "pt"})
    return out


def row(label: str, results: Path) -> str:
    overall = json.loads(results.read_text())["models"]["tuned"]["overall"]
    return f"| {label} | " + " | ".join(f"{overall[m]:.1%}" for m in METRICS) + " |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path, help="a finished run folder (adapter/, data/, results.json)")
    ap.add_argument("--scales", nargs="+", type=float, default=[0.8])
    args = ap.parse_args()

    from lorakit.config import load_config
    from lorakit.eval.runner import evaluate

    lines = ["| adapter scale | " + " | ".join(m.replace("field:", "") for m in METRICS) + " |",
             "|" + "---|" * (len(METRICS) + 1)]
    if (args.run / "results.json").is_file():
        lines.append(row("1 (as trained)", args.run / "results.json"))
    for scale in args.scales:
        out = scaled_copy(args.run, scale)
        cfg = load_config(args.run / "config.yaml", [f"output_dir={out}", "eval.limit=null", "eval.models=[tuned]",
                                        "eval.decoding=[free]"])
        evaluate(cfg)
        lines.append(row(f"{scale:g}", out / "results.json"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

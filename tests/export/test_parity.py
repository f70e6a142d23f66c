"""The parity check's near ties: where an f16 runtime may part from the fp32 model without being wrong."""

from __future__ import annotations

import torch

from lorakit.export.parity import divergence_margin, near_ties


def test_the_margin_is_the_models_lead_of_its_own_token_where_the_other_answer_parts(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    conv = [{"role": "user", "content": "Where is my parcel?"}]
    prompt = tok(tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False),
                 add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        step1 = model(torch.tensor([prompt])).logits[0, -1]
        g = int(step1.argmax())  # the model's own first token
        logits = model(torch.tensor([prompt + [g]])).logits[0, -1].float()
    ranked = logits.argsort(descending=True).tolist()
    top = float(logits.abs().max())
    first, second, last = ranked[0], ranked[1], ranked[-1]

    def lead(t):  # the model's own second token over token t, relative to its largest |logit|
        return float(logits[first] - logits[t]) / top

    # the other answer agrees on the first token and parts at the second
    m = divergence_margin(model, tok, conv, tok.decode([g, second]), 8)
    assert abs(m - lead(second)) < 1e-6 and m > 0
    assert abs(divergence_margin(model, tok, conv, tok.decode([g, last]), 8) - lead(last)) < 1e-6
    # one that stops after the first token: the other side is the end-of-sequence token
    assert abs(divergence_margin(model, tok, conv, tok.decode([g]), 8) - lead(tok.eos_token_id)) < 1e-6

    own = [g, first]  # the model's own answer does not part from itself
    for _ in range(6):
        with torch.inference_mode():
            own.append(int(model(torch.tensor([prompt + own])).logits[0, -1].argmax()))
    assert divergence_margin(model, tok, conv, tok.decode(own, skip_special_tokens=True), 8) is None

    verdicts = near_ties(model, tok, [conv, conv], ["", ""], [tok.decode([g, second]), tok.decode([g, last])], [0, 1],
                         tolerance=2 * m, max_new_tokens=8)
    assert [v["near_tie"] for v in verdicts] == [True, lead(last) < 2 * m]

"""train.packing: a batch as one row with no padding, and no token that sees or predicts another row's."""

import json

import pytest
import torch

from lorakit.train.data import IGNORE, Tokenized, collate, pack


def _batch():
    rows = [Tokenized([11, 12, 13, 14, 15], [IGNORE, IGNORE, 13, 14, 15]),
            Tokenized([21, 22, 23], [IGNORE, 22, 23]),
            Tokenized([31, 32, 33, 34, 35, 36, 37], [IGNORE, IGNORE, IGNORE, 34, 35, 36, 37])]
    return collate(rows, pad_id=0)


def test_pack_puts_rows_end_to_end_with_restarting_positions_and_no_label_across_a_boundary():
    batch = _batch()
    before = batch[1].clone()
    ids, labels, positions = pack(*batch)
    assert torch.equal(batch[1], before)  # the padded batch is left as it was
    assert ids.tolist() == [[11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37]]
    assert positions.tolist() == [[0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6]]
    # row 2's first token (22 at index 6 is its 2nd) keeps its label; every row's first token has none
    assert labels.tolist() == [[IGNORE, IGNORE, 13, 14, 15, IGNORE, 22, 23, IGNORE, IGNORE, IGNORE, 34, 35, 36, 37]]
    padded_targets = int((_batch()[1][:, 1:] != IGNORE).sum())
    assert int((labels[:, 1:] != IGNORE).sum()) == padded_targets  # the loss is divided by the same count


def test_a_row_starting_with_an_answer_token_loses_that_label_when_packed():
    """A target at a row's first position would be predicted from the previous row's last token."""
    rows = [Tokenized([1, 2], [IGNORE, 2]), Tokenized([3, 4], [3, 4])]
    _, labels, _ = pack(*collate(rows, pad_id=0))
    assert labels.tolist() == [[IGNORE, 2, IGNORE, 4]]


def _lora_model(tiny_model_dir, attn):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32, attn_implementation=attn)
    model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear"))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p.data, std=0.1)  # B starts at zero: make the adapter matter
    return model.eval()


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_packed_rows_give_the_padded_batch_loss_and_gradients_and_never_see_each_other(tiny_model_dir, attn):
    """The same per-token logits as the padded batch (eager attention is what lorakit trains with on CPU; sdpa
    on other devices), the same summed loss and gradients; and changing one row's tokens changes no other
    row's logits, which it would if attention crossed a boundary."""
    from lorakit.train.losses import answer_logits, answer_loss

    model = _lora_model(tiny_model_dir, attn)
    torch.manual_seed(0)
    lengths = [37, 12, 25, 40]
    rows = [torch.randint(10, 1000, (n,)).tolist() for n in lengths]
    tok = [Tokenized(r, [IGNORE] * (len(r) // 2) + r[len(r) // 2:]) for r in rows]
    ids, labels, mask = collate(tok, pad_id=0)

    padded_logits, _, _ = answer_logits(model, ids, labels, mask)
    p_ids, p_labels, positions = pack(ids, labels, mask)
    packed_logits, _, _ = answer_logits(model, p_ids, p_labels, None, positions)
    torch.testing.assert_close(packed_logits, padded_logits, rtol=1e-4, atol=1e-4)

    loss_padded, n_padded = answer_loss(model, ids, labels, mask)
    grads_padded = torch.autograd.grad(loss_padded, [p for p in model.parameters() if p.requires_grad])
    loss_packed, n_packed = answer_loss(model, p_ids, p_labels, None, positions)
    grads_packed = torch.autograd.grad(loss_packed, [p for p in model.parameters() if p.requires_grad])
    assert n_packed == n_padded
    torch.testing.assert_close(loss_packed, loss_padded, rtol=1e-5, atol=1e-4)
    for a, b in zip(grads_packed, grads_padded):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)

    changed = p_ids.clone()
    changed[0, :lengths[0]] = torch.randint(10, 1000, (lengths[0],))  # row 0's tokens only
    changed_logits, _, keep = answer_logits(model, changed, p_labels, None, positions)
    first_other = int((p_labels[0, 1:lengths[0]] != IGNORE).sum())  # row 0's targets come first
    torch.testing.assert_close(changed_logits[first_other:], packed_logits[first_other:], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(changed_logits[:first_other], packed_logits[:first_other])


def test_a_packed_run_trains_as_the_padded_one(tiny_config, tmp_path):
    """Through the trainer, fp32: the same losses to float rounding, and the record's config says it packed."""
    from lorakit.train.trainer import train

    losses = {}
    for packing in (False, True):
        cfg = tiny_config.model_copy(deep=True)
        cfg.output_dir = tmp_path / str(packing)
        cfg.train.packing, cfg.train.precision, cfg.train.lora.dropout = packing, "fp32", 0.0
        cfg.train.max_steps, cfg.train.checkpoint_every, cfg.train.compile = 3, 100, False
        train(cfg)
        losses[packing] = [json.loads(line)["loss"] for line in (cfg.output_dir / "train_log.jsonl").open()]
        record = json.loads((cfg.output_dir / "adapter" / "run_record.json").read_text())
        assert record["config"]["train"]["packing"] is packing
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)


def test_packing_is_refused_where_rows_are_not_sft_lm_rows():
    from lorakit.config import load_config
    from lorakit.errors import ConfigError

    with pytest.raises(ConfigError, match="train.packing"):
        load_config(None, ["train.packing=true", "train.method=grpo"])

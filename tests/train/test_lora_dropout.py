"""LoRA input dropout with a recomputed mask: the same function and gradients as autograd, less kept for backward."""

import contextlib

import pytest
import torch
import torch.nn.functional as F

from lorakit.train.lora_dropout import _keep, dropped_linear, lean_lora_dropout


def _reference(x, w, p, seed):
    """Plain autograd on the very mask the function draws."""
    return F.linear(x * _keep(x, p, seed), w) * (1 / (1 - p))


def test_output_and_gradients_equal_autograd_on_the_same_mask():
    torch.manual_seed(0)
    x = torch.randn(3, 7, 16, requires_grad=True)
    w = torch.randn(4, 16, requires_grad=True)
    grad_out = torch.randn(3, 7, 4)
    out = dropped_linear(x, w, 0.3, seed=123)
    out.backward(grad_out)
    x2, w2 = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    ref = _reference(x2, w2, 0.3, 123)
    ref.backward(grad_out)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(w.grad, w2.grad, rtol=1e-6, atol=1e-6)


def test_under_bf16_autocast_the_fp32_weight_gets_an_fp32_gradient_like_autocast_gives():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 32, dtype=torch.bfloat16, requires_grad=True)
    w = torch.randn(8, 32, requires_grad=True)  # an fp32 adapter weight, as lorakit trains them
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = dropped_linear(x, w, 0.1, seed=7)
    out.float().sum().backward()
    x2, w2 = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = _reference(x2, w2, 0.1, 7)
    ref.float().sum().backward()
    assert out.dtype == torch.bfloat16 and w.grad.dtype == torch.float32 and x.grad.dtype == torch.bfloat16
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    torch.testing.assert_close(w.grad, w2.grad)
    torch.testing.assert_close(x.grad, x2.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_mask_drops_p_of_the_values_and_differs_by_seed(dtype):
    x = torch.ones(200_000, dtype=dtype)
    keep = _keep(x, 0.2, seed=1)
    assert keep.dtype == dtype and keep.unique().tolist() == [0.0, 1.0]
    assert abs(float((keep == 0).float().mean()) - 0.2) < 0.005
    assert torch.equal(keep, _keep(x, 0.2, seed=1)) and not torch.equal(keep, _keep(x, 0.2, seed=2))


def _saved_bytes(model, ids) -> int:
    """Bytes of distinct storages autograd keeps for backward during one forward."""
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=ids).logits.float().sum()
    return sum(seen.values())


def _lora(tiny_model_dir, dropout):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).to(torch.bfloat16)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, lora_dropout=dropout, target_modules="all-linear"))
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    return model.train()


def test_dropout_keeps_nothing_more_for_backward_and_peft_layout_comes_back(tiny_model_dir):
    ids = torch.randint(0, 1000, (4, 64))
    without_dropout = _saved_bytes(_lora(tiny_model_dir, 0.0), ids)
    model = _lora(tiny_model_dir, 0.1)
    peft_bytes = _saved_bytes(model, ids)
    with lean_lora_dropout(model):
        lean_bytes = _saved_bytes(model, ids)
        assert all(isinstance(m, torch.nn.Identity) for n, m in model.named_modules() if n.endswith("lora_dropout.default"))
    # PEFT's dropout keeps a dropped copy and its noise per adapted layer; the recomputed mask keeps neither
    assert lean_bytes <= without_dropout < peft_bytes, (lean_bytes, without_dropout, peft_bytes)
    dropouts = [m for n, m in model.named_modules() if n.endswith("lora_dropout.default")]
    assert dropouts and all(isinstance(m, torch.nn.Dropout) and m.p == 0.1 for m in dropouts)
    assert not any("forward" in vars(m) for m in model.modules())  # the swapped forwards are gone
    assert all(m.cast_input_dtype_enabled for m in model.modules() if hasattr(m, "cast_input_dtype_enabled"))


def test_without_dropout_skipping_the_input_cast_changes_no_value(tiny_model_dir):
    """bf16 -> fp32 -> bf16 is exact: the same logits and LoRA gradients, bit for bit."""
    ids = torch.randint(0, 1000, (2, 32))
    grads = []
    for lean in (False, True):
        model = _lora(tiny_model_dir, 0.0)
        with lean_lora_dropout(model) if lean else contextlib.nullcontext():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(input_ids=ids).logits
            logits.float().square().mean().backward()
        grads.append((logits.detach(), [p.grad.clone() for p in model.parameters() if p.requires_grad]))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=0, atol=0)
    for a, b in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_an_fp32_input_under_autocast_is_computed_in_bf16_as_autocast_would():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 32, requires_grad=True)  # an fp32 residual stream, as on CUDA
    w = torch.randn(8, 32, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = dropped_linear(x, w, 0.1, seed=3)
        ref = F.linear(x.to(torch.bfloat16) * _keep(x.to(torch.bfloat16), 0.1, 3), w) * (1 / 0.9)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    out.float().sum().backward()
    assert x.grad.dtype == torch.float32 and w.grad.dtype == torch.float32


def test_the_hashed_mask_drops_p_and_a_compiled_step_computes_the_very_same_mask():
    """The mask a compiled training step uses (hash_keep): p dropped, new per seed, and bit-identical compiled
    and eager (an odd size: the compiled kernel's vector tail must match too)."""
    from lorakit.train.lora_dropout import hash_keep

    x = torch.ones(3, 37, 101, dtype=torch.bfloat16)
    seed, other = torch.tensor(12345, dtype=torch.int32), torch.tensor(-7, dtype=torch.int32)
    keep = hash_keep(x, 0.2, seed)
    assert keep.dtype == torch.bfloat16 and keep.unique().tolist() == [0.0, 1.0]
    assert abs(float((keep == 0).float().mean()) - 0.2) < 0.01
    assert not torch.equal(keep, hash_keep(x, 0.2, other))
    # neighbours are not correlated: the hash of index i says nothing about index i + 1
    flat = keep.flatten().float()
    assert abs(float(((flat[1:] == 0) & (flat[:-1] == 0)).float().mean()) - 0.04) < 0.01
    compiled = torch.compile(hash_keep, dynamic=True)
    assert torch.equal(compiled(x, 0.2, seed), keep)


def test_hashed_dropped_linear_gradients_equal_autograd_on_the_same_mask():
    from lorakit.train.lora_dropout import hash_keep

    torch.manual_seed(0)
    seed = torch.tensor(99, dtype=torch.int32)
    x = torch.randn(3, 7, 16, requires_grad=True)
    w = torch.randn(4, 16, requires_grad=True)
    grad_out = torch.randn(3, 7, 4)
    dropped_linear(x, w, 0.3, seed).backward(grad_out)
    x2, w2 = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    (F.linear(x2 * hash_keep(x2, 0.3, seed), w2) * (1 / 0.7)).backward(grad_out)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(w.grad, w2.grad, rtol=1e-6, atol=1e-6)

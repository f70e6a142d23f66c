"""LoRA's input dropout without the dropped copies: the mask is drawn again in backward from a saved seed.

PEFT computes ``lora_B(lora_A(dropout(x)))``: every adapted layer keeps its own dropped copy of its
input, and the dropout's noise tensor, alive until backward (4 bytes per input value in bf16; q, k
and v each keep one of the same input). This module computes the same function (an independent
Bernoulli(1 - p) mask per layer and step, scaled by 1 / (1 - p), before A) but saves only the input,
which the layer's other users already keep, and the mask as bits (on CPU; elsewhere a seed, and
backward draws the mask again). No maintained library offers this on CPU, hence our own
``autograd.Function``; ``tests/train/test_lora_dropout.py`` checks its gradients against autograd's
on the same mask. Inside compiled layers (``train.compile``) numpy cannot be traced: there the mask is
:func:`hash_keep`, an integer hash of each value's index and a seed drawn once per forward.

It also turns off PEFT's cast of the input to the adapter's dtype while training: with a bf16 base
and fp32 adapters under bf16 autocast, that cast made an fp32 copy of every adapted layer's input,
which autocast then cast back to bf16 (a copy per layer, kept for backward). bf16 -> fp32 -> bf16 is
exact, so skipping it changes no value (``peft.helpers.disable_input_dtype_casting``, PEFT's own switch).
"""

from __future__ import annotations

from contextlib import contextmanager


_SIGNED = {2: "int16", 4: "int32", 8: "int64"}


def _ones_where(bits, shape, dtype):
    """A tensor of ``dtype`` holding 1 where the numpy 0/1 array ``bits`` is 1, else 0.

    Built from 1.0's bit pattern in numpy: torch's bool -> bf16 conversion took 6x as long.
    """
    import numpy as np
    import torch

    size = torch.empty((), dtype=dtype).element_size()
    one = torch.ones(1, dtype=dtype).view(getattr(torch, _SIGNED[size])).item()
    as_int = np.asarray(bits).view(np.uint8).astype(_SIGNED[size]) * np.array(one, dtype=_SIGNED[size])
    return torch.from_numpy(as_int).view(dtype).view(shape)


def _draw(x, p: float, seed: int):
    """The keep mask for ``x`` (kept with probability 1 - p), the same for the same seed.

    On CPU: 16-bit draws from numpy's PCG64 against a threshold (p to within 2**-16), returned as
    numpy bools. torch's CPU ``bernoulli_`` took 15 ns a value, 10x this, and the dropout of every
    adapted layer's input had made a training step 2x slower. Elsewhere: torch's own generator on the
    device, returned as a bool tensor.
    """
    import numpy as np
    import torch

    if x.device.type == "cpu":
        n = x.numel()  # PCG64's raw 64-bit outputs, 4 draws each: Generator.bytes took 5x as long
        draws = np.random.PCG64(seed).random_raw(-(-n // 4)).view(np.uint16)[:n]
        return draws >= round(p * 65536)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    return torch.empty(x.shape, dtype=torch.bool, device=x.device).bernoulli_(1.0 - p, generator=gen)


def _keep(x, p: float, seed: int):
    """The 0/1 keep mask for ``x`` in ``x``'s dtype (unscaled: the scale goes on the r-wide output)."""
    import numpy as np

    keep = _draw(x, p, seed)
    return _ones_where(keep, x.shape, x.dtype) if isinstance(keep, np.ndarray) else keep.to(x.dtype)


def _grads(ctx, grad, x, w, keep):
    """The backward of ``F.linear(x * keep, w) / (1 - p)`` for ``x`` and ``w`` (None where not needed)."""
    grad = grad * (1.0 / (1.0 - ctx.p))
    grad_x = (grad @ w) * keep if ctx.needs_input_grad[0] else None
    grad_w = None
    if ctx.needs_input_grad[1]:
        grad_w = grad.reshape(-1, grad.shape[-1]).T @ (x * keep).reshape(-1, x.shape[-1])
    return grad_x, grad_w, None, None


def _function():
    import numpy as np
    import torch

    class DroppedLinear(torch.autograd.Function):
        """``F.linear(x * keep, w) / (1 - p)``, saving ``x``, ``w`` and the mask's bits (CPU) or seed.

        The 1 / (1 - p) goes on the r-wide output, not on ``x``: a bf16 scale would round (1/0.95 to
        1.0547) and bias every kept value the same way.
        """

        @staticmethod
        def forward(ctx, x, w, p, seed):
            keep = _draw(x, p, seed)
            ctx.save_for_backward(x, w)
            ctx.p, ctx.seed = p, seed
            ctx.bits = np.packbits(keep) if isinstance(keep, np.ndarray) else None  # 1 bit a value
            keep = keep.to(x.dtype) if ctx.bits is None else _ones_where(keep, x.shape, x.dtype)
            return torch.nn.functional.linear(x * keep, w) * (1.0 / (1.0 - p))

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            if ctx.bits is None:
                keep = _keep(x, ctx.p, ctx.seed)
            else:
                keep = _ones_where(np.unpackbits(ctx.bits, count=x.numel()), x.shape, x.dtype)
            return _grads(ctx, grad, x, w, keep)

    return DroppedLinear


_MIX = 0x45D9F3B  # the multiplier of Thomas Mueller's 32-bit integer hash


def _mix32(h):
    """A 32-bit integer hash in int32 torch ops (wrapping multiply; ``>> 16 & 0xFFFF`` is a logical shift)."""
    for _ in range(2):
        h = (((h >> 16) & 0xFFFF) ^ h) * _MIX
    return ((h >> 16) & 0xFFFF) ^ h


def hash_keep(x, p: float, seed):
    """The 0/1 keep mask for ``x`` in ``x``'s dtype, from a hash of each value's index and ``seed`` (an int32
    tensor): pure pointwise torch ops, so a compiled step fuses the mask into the multiply that uses it,
    where numpy's generator cannot be traced and inductor's own random numbers took 20x as long on CPU."""
    import torch

    idx = torch.arange(x.numel(), device=x.device, dtype=torch.int32).view(x.shape)
    return ((_mix32(_mix32(idx) ^ seed) & 0xFFFF) >= round(p * 65536)).to(x.dtype)


def _hash_function():
    import torch

    class HashDroppedLinear(torch.autograd.Function):
        """As ``DroppedLinear``, with the mask from :func:`hash_keep`: it saves ``x``, ``w`` and the seed, and
        backward computes the mask again (a few integer operations a value, fused by the compiler)."""

        @staticmethod
        def forward(ctx, x, w, p, seed):
            ctx.save_for_backward(x, w, seed)
            ctx.p = p
            return torch.nn.functional.linear(x * hash_keep(x, p, seed), w) * (1.0 / (1.0 - p))

        @staticmethod
        def backward(ctx, grad):
            x, w, seed = ctx.saved_tensors
            keep = hash_keep(x, ctx.p, seed)
            return _grads(ctx, grad, x, w, keep)

    return HashDroppedLinear


_FUNCTIONS: dict = {}  # hashed (a tensor seed) -> the autograd.Function


def _define_functions() -> None:
    """Defined once, outside any compiled region: a compiler cannot trace a class definition."""
    if not _FUNCTIONS:
        _FUNCTIONS.update({False: _function(), True: _hash_function()})


def dropped_linear(x, weight, p: float, seed):
    """``F.linear(dropout(x, p), weight)`` in training, in the dtype autocast would compute it in.

    The casts are autograd ops outside the function, so the weight's gradient comes back in its own
    dtype (fp32 adapters), as it does through autocast. On CPU the input is already bf16 (the base is
    stored in bf16): no copy; on CUDA the fp32 residual stream is cast, as autocast's linear would.
    ``seed``: an int draws the mask from numpy's generator (eager); an int32 tensor hashes it
    (:func:`hash_keep`, traceable inside compiled layers).
    """
    import torch

    hashed = isinstance(seed, torch.Tensor)
    _define_functions()
    device = x.device.type
    if torch.is_autocast_enabled(device) and x.dtype != torch.get_autocast_dtype(device):
        x = x.to(torch.get_autocast_dtype(device))
    w = weight if weight.dtype == x.dtype else weight.to(x.dtype)
    with torch.autocast(device_type=x.device.type, enabled=False):
        return _FUNCTIONS[hashed].apply(x, w, p, seed)


def _lora_layers(model):
    """PEFT LoRA linear layers with an input dropout (p > 0) on their active adapter."""
    import torch

    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if not isinstance(dropouts, torch.nn.ModuleDict):
            continue
        for name, dropout in dropouts.items():
            if isinstance(dropout, torch.nn.Dropout) and dropout.p > 0 and name in module.lora_A:
                yield module, name


@contextmanager
def lean_lora_dropout(model, compiled: bool = False):
    """While the block runs: PEFT's input dropout through :func:`dropped_linear`, and no input dtype cast.

    Each layer's ``lora_A`` forward is replaced by an instance attribute (removed afterwards) and its
    ``nn.Dropout`` by an identity, so the saved adapter keeps PEFT's layout. Evaluation mode (no
    dropout) goes through the plain ``lora_A``. ``compiled``: the decoder layers run compiled (see
    :func:`lorakit.train.compile.compiled_layers`), so the masks come from :func:`hash_keep`.
    """
    import torch
    from peft.helpers import disable_input_dtype_casting

    _define_functions()
    embeddings = model.get_input_embeddings()
    # a compiled step hashes its masks from this seed: drawn from the global RNG (which checkpoints restore)
    # at every forward, outside the compiled layers; each layer mixes in its own salt. A seed drawn inside a
    # compiled layer was inlined into the mask's loop and drawn again for every 32 values. A new tensor each
    # time, never changed in place: a backward recomputes its masks from the seed its forward saved, and two
    # forwards before one backward (a preference loss in two passes) each keep theirs. Dynamo guards the
    # tensor's dtype and shape, not its identity, so a new one recompiles nothing.
    device = embeddings.weight.device
    step_seed = {"seed": torch.zeros((), dtype=torch.int32, device=device)}

    def draw(module, args):
        # only for a training forward: a no-grad one in between (GRPO's reference) needs no mask
        if module.training and torch.is_grad_enabled():
            step_seed["seed"] = torch.randint(-2**31, 2**31 - 1, (), dtype=torch.int32).to(device)

    swapped = []
    for salt, (layer, name) in enumerate(_lora_layers(model)):
        lora_a, dropout = layer.lora_A[name], layer.lora_dropout[name]

        # the salt a tensor: every layer then shares one compiled graph (a Python int would be a constant of it)
        salt = torch.tensor((salt + 1) * 0x9E3779B % 2**31, dtype=torch.int32, device=device)

        def forward(x, lora_a=lora_a, p=dropout.p, salt=salt):
            if not lora_a.training:  # no dropout: PEFT's own path
                return type(lora_a).forward(lora_a, x)
            if torch.compiler.is_compiling():  # traceable: the hashed mask, its seed a tensor (no graph break)
                return dropped_linear(x, lora_a.weight, p, step_seed["seed"] ^ salt)
            seed = int(torch.randint(2**62, (1,)).item())  # from the global RNG: checkpoints restore it
            return dropped_linear(x, lora_a.weight, p, seed)

        lora_a.forward = forward
        layer.lora_dropout[name] = torch.nn.Identity()
        swapped.append((layer, name, lora_a, dropout))
    hook = embeddings.register_forward_pre_hook(draw) if swapped and compiled else None
    try:
        with disable_input_dtype_casting(model):
            yield
    finally:
        if hook is not None:
            hook.remove()
        for layer, name, lora_a, dropout in swapped:
            del lora_a.forward
            layer.lora_dropout[name] = dropout

"""Data-parallel training across processes, started by ``accelerate launch`` (or ``torchrun``).

Accelerate sets up the process group (gloo on CPU, NCCL on GPUs) and tells each process its rank.
Every process builds the same global batch (the batch order is a pure function of the seed) and
trains on its share of the rows; the LoRA gradients, scaled by the global number of answer
tokens, are summed across processes before each optimizer step. The result equals a single
process on the same global batch up to float summation order, which a test checks.

Why not ``accelerator.prepare(model)`` (DDP): the loss calls the decoder and the LM head of the
unwrapped model on the answer positions only, which DDP's forward hook would not see; the
trainable LoRA weights are ~1% of the model, so one all-reduce of their gradients per step
costs little.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    state: object = None
    comm_device: str = "cpu"  # where collective tensors live: CPU for gloo, the GPU for NCCL

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def local_world(self) -> int:
        """Processes on this machine, which share its cores."""
        return int(os.environ.get("LOCAL_WORLD_SIZE", self.world))

    @classmethod
    def setup(cls) -> Dist:
        """Single process unless launched with WORLD_SIZE > 1 (accelerate launch, torchrun)."""
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return cls()
        import torch
        from accelerate import PartialState

        cuda = torch.cuda.is_available()
        state = PartialState(cpu=not cuda)
        return cls(rank=state.process_index, world=state.num_processes, local_rank=state.local_process_index,
                   state=state, comm_device=f"cuda:{state.local_process_index}" if cuda else "cpu")

    def device(self, device: str) -> str:
        return f"cuda:{self.local_rank}" if device == "cuda" and self.world > 1 else device

    def shard(self, tensors: tuple):
        """This process's rows of a global batch: rows rank, rank + world, ..."""
        return tuple(t[self.rank::self.world] for t in tensors)

    def sum_grads(self, params) -> None:
        if self.world == 1:
            return
        import torch
        import torch.distributed as dist

        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)

    def sum_scalar(self, x: float) -> float:
        if self.world == 1:
            return x
        import torch
        import torch.distributed as dist

        t = torch.tensor([x], dtype=torch.float64, device=self.comm_device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t.item())

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

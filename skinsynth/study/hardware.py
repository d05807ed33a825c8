"""Processes and devices of a study: which rank this is, joining a launcher's process group, Trainer strategies.

A study is several fits in one process; under torchrun or srun every rank runs it from the top, and only rank 0
writes the run directory. These helpers say who is who and let ranks wait for each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def launched_rank() -> int:
    """This process's global rank when a launcher started several (torchrun, SLURM, Lightning's DDP), else 0."""
    import os

    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def srun_ranks(processes: int) -> bool:
    """Whether srun started this process as one of the study's ``processes`` ranks (one task per device).

    That is Lightning's ``SLURMEnvironment`` (not an interactive allocation) with ``SLURM_NTASKS`` equal to devices ×
    nodes; under ``srun torchrun`` the ranks are torchrun's, and a single command in a batch script is one process.
    """
    import os

    if "TORCHELASTIC_RUN_ID" in os.environ or processes < 2 or os.environ.get("SLURM_NTASKS") != str(processes):
        return False
    from lightning.fabric.plugins.environments import SLURMEnvironment

    return SLURMEnvironment.detect()


def join_launched_processes(accelerator: str, devices: str | int = 1, num_nodes: int = 1) -> None:
    """Under torchrun or srun, join the process group before the first stage, so that stages can wait for rank 0.

    torchrun and srun (one task per device) start every rank at once; without a group, rank 1 would race rank 0 to
    the run directory, or to a synthetic set rank 0 is still completing. Lightning reuses the group for training
    (under srun with the address and port its ``SLURMEnvironment`` derives). Lightning's own launcher starts the other
    ranks later (at the first ``fit``), re-running the study from the top, so there nothing is joined here: rank 0
    has written the run directory by then.
    """
    import os

    import torch
    import torch.distributed as dist

    torchrun = "TORCHELASTIC_RUN_ID" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1
    srun = srun_ranks(device_count(accelerator, devices) * num_nodes)
    if not (torchrun or srun) or not dist.is_available() or dist.is_initialized():
        return
    gpu = accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    if gpu:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK" if torchrun else "SLURM_LOCALID", "0")))
    if torchrun:
        dist.init_process_group("nccl" if gpu else "gloo")
        return
    from lightning.fabric.plugins.environments import SLURMEnvironment

    slurm = SLURMEnvironment()
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = slurm.main_address, str(slurm.main_port)
    dist.init_process_group(
        "nccl" if gpu else "gloo", init_method="env://", rank=slurm.global_rank(), world_size=slurm.world_size()
    )


def barrier() -> None:
    """Wait for every rank when a process group exists (a no-op in a single process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def device_count(accelerator: str, devices: str | int) -> int:
    """How many devices (processes per node) the Trainer settings ask for."""
    import torch

    text = str(devices).strip()
    if text.lstrip("-").isdigit():
        n = int(text)
        if n != -1:
            return n
    elif "," in text or text.startswith("["):
        return len([d for d in text.strip("[]").split(",") if d.strip()])
    gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    return max(torch.cuda.device_count(), 1) if gpu else 1


def module_trainer_arguments(
    model: Any, accelerator: str, devices: str | int, num_nodes: int = 1, precision: str = "32-true"
) -> dict[str, Any]:
    """What ``model`` asks of the Trainer (its ``trainer_arguments``) for these hardware settings; ``{}`` for none."""
    if model is None or not hasattr(model, "trainer_arguments"):
        return {}
    return dict(model.trainer_arguments(device_count(accelerator, devices) * num_nodes, precision))


def generator_checkpoint(folder: Path) -> Any:
    """A ``ModelCheckpoint`` that rewrites ``folder/last.ckpt`` after every generator epoch.

    (``save_last=True`` with ``save_top_k=0`` writes ``last.ckpt`` only when training ends, so an interrupted run
    would have nothing to resume from.)
    """
    from lightning.pytorch.callbacks import ModelCheckpoint

    return ModelCheckpoint(dirpath=folder, filename="last", save_top_k=1, enable_version_counter=False)

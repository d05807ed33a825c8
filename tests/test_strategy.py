"""Which DDP strategy a study picks, from the Trainer settings."""

from __future__ import annotations

from skinsynth.study.hardware import device_count, launched_rank, module_trainer_arguments, srun_ranks


def test_device_count_reads_the_trainer_settings() -> None:
    assert device_count("cpu", "2") == 2 and device_count("cpu", 3) == 3
    assert device_count("cpu", "auto") == 1 and device_count("cpu", "-1") == 1
    assert device_count("gpu", "0,1") == 2 and device_count("gpu", "[0, 2, 3]") == 3


def test_the_gan_asks_for_unused_parameter_search_only_with_several_processes() -> None:
    from skinsynth.models.registry import make_generator

    gan = make_generator("gan", class_codes=["mel", "nv"], image_size=16)
    cvae = make_generator("cvae", class_codes=["mel", "nv"], image_size=16)
    several = module_trainer_arguments(gan, "cpu", "2")
    assert several == {"gradient_clip_val": None, "strategy": "ddp_find_unused_parameters_true"}
    assert module_trainer_arguments(gan, "cpu", "1", num_nodes=2)["strategy"] == "ddp_find_unused_parameters_true"
    assert module_trainer_arguments(gan, "cpu", "1") == {"gradient_clip_val": None}  # manual optimization
    assert module_trainer_arguments(cvae, "cpu", "2") == {} and module_trainer_arguments(None, "cpu", "2") == {}


def test_launched_rank_comes_from_the_launcher_environment(monkeypatch) -> None:
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert launched_rank() == 0
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert launched_rank() == 1
    monkeypatch.setenv("RANK", "3")
    assert launched_rank() == 3


def test_a_study_joins_srun_ranks_only_when_srun_started_one_task_per_device(monkeypatch) -> None:
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    for name, value in {"SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "2", "SLURM_JOB_NAME": "study"}.items():
        monkeypatch.setenv(name, value)
    assert srun_ranks(2)
    assert not srun_ranks(1)  # one process asked for
    assert not srun_ranks(4)  # a single command in an allocation of other sizes: one process, not srun's ranks
    monkeypatch.setenv("SLURM_JOB_NAME", "interactive")  # Lightning's opt-out of SLURMEnvironment
    assert not srun_ranks(2)
    monkeypatch.setenv("SLURM_JOB_NAME", "study")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")  # srun torchrun: the ranks are torchrun's
    assert not srun_ranks(2)

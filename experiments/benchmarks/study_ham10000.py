"""The few-shot study on real HAM10000 over several seeds, mean ± std (the numbers in docs/results.md).

Baseline arms only (issue #3)::

    python experiments/benchmarks/study_ham10000.py --data-dir ../shared/data/ham10000 --seeds 0,1,2 \
        --shots 50 --image-size 64 --epochs 30 --val-fraction 0.1 --run-root runs/bench

Generator arms (issue #4) in the same run directories (the finished ``real`` arm is reused)::

    python experiments/benchmarks/study_ham10000.py --data-dir ../shared/data/ham10000 --seeds 0,1,2 \
        --shots 50 --image-size 64 --epochs 30 --val-fraction 0.1 --run-root runs/bench \
        --baselines real --generators cvae,gan --gen-epochs 50

The DDPM arms at 32 px (issue #5; a separate run root, since the resolution differs)::

    python experiments/benchmarks/study_ham10000.py --data-dir ../shared/data/ham10000 --seeds 0,1,2 \
        --shots 50 --image-size 32 --epochs 30 --val-fraction 0.1 --run-root runs/bench-ddpm32 \
        --baselines real --generators ddpm --gen-epochs 150 --grid-every 50 --gen-option preset=small \
        --gen-option lr=5e-4 --gen-option ema_decay=0.995 --gen-option sampling_steps=25 --gen-option eta=1

The evidence study of issue #12 (oracle positive control from an unlabeled pool, the GAN with mixing controls and a
filter ablation, paired statistics)::

    python experiments/benchmarks/study_ham10000.py --data-dir ../shared/data/ham10000 --seeds 0,1,2 \
        --shots 50 --image-size 64 --epochs 30 --val-fraction 0.1 --run-root runs/bench-evidence \
        --baselines real --generators oracle,gan --gen-epochs 50 --unlabeled-pool 1 \
        --synthetic-weight 0.25,0.5,1 --two-stage 0.3 --oversample-factor 2 \
        --filters confidence:0.5,ood:0.95,dedupe:0.95

Only the quality evidence of another generator's set, in finished run directories (no classifier arms)::

    python experiments/benchmarks/study_ham10000.py ... --baselines real --generators cvae --evidence-only

The semi-supervised arms of issue #13 in the same run directories (SimCLR and a pool-pretrained GAN)::

    python experiments/benchmarks/study_ham10000.py ... --baselines real,ssl --generators gan-pool \
        --ssl-epochs 5 --pretrain-epochs 5

The inpainting generator of issue #15 started from each seed's fine-tuned pool DDPM (a separate run root: its budget
and generator epochs differ; the same seeds give the same splits), with and without its default OOD post-selection::

    python experiments/benchmarks/study_ham10000.py ... --image-size 32 --run-root runs/bench-inpaint32 \
        --baselines real --generators inpaint --gen-epochs 1 --unlabeled-pool 1 --filters none \
        --pretrained-generator 'runs/bench-pool32/ham50_seed{seed}/checkpoints/generator-ddpm-pool/last.ckpt'

Each seed is one study run directory (``<run-root>/ham<shots>_seed<seed>``); each generator is one run of the study
in it. The requested arms of every seed are then aggregated into Markdown tables (stdout and
``<run-root>/summary_ham<shots>_<arms>.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from skinsynth.config import StudyConfig, parse_arms, parse_option, parse_weights
from skinsynth.io import atomic_write_json, atomic_write_text
from skinsynth.report import aggregate_seeds, markdown_table
from skinsynth.stats import aggregate, aggregate_markdown
from skinsynth.study.runner import FewShotStudy


def score_synthetic_set(study: FewShotStudy, filters: list[str]) -> None:
    """The generator stage, the evidence of its set and its post-selections, without classifier arms.

    ``--evidence-only``: a post-selection that keeps no image is reported (its per-class summary is written) rather
    than stopping the run.
    """
    from skinsynth.errors import ConfigError

    judge = study.run_dir / "checkpoints" / "real" / "best.ckpt"
    if not judge.is_file():
        raise SystemExit(f"--evidence-only needs the finished real arm of {str(study.run_dir)!r} (no {judge})")
    if study.config.generator.name == "none":
        raise SystemExit("--evidence-only scores a generator's set: name one with --generators, e.g. cvae")
    study.prepare_data()
    study.run_generator()
    summary = study.run_evidence(study.set_name())
    if summary is None:
        raise SystemExit(f"the set of {study.set_name()!r} was not scored (see the message above)")
    overall = summary["quality"]["all"]
    scores = ", ".join(f"{key} {overall[key]:.2f}" for key in ("fid", "recall", "coverage", "diversity_ratio"))
    print(f"[benchmark] {study.set_name()} seed {study.config.study.seed}: {scores}")
    for spec in filters:
        try:
            study.run_selection(study.set_name(), spec)
        except ConfigError as error:
            print(f"[benchmark] {study.set_name()} seed {study.config.study.seed}, {spec}: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/ham10000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--baselines", default="real,oversample,weighted,focal,strong-aug")
    parser.add_argument("--generators", default="", help="comma-separated generators, e.g. cvae,gan")
    parser.add_argument("--gen-epochs", type=int, default=50)
    parser.add_argument(
        "--gen-option", action="append", default=[], metavar="KEY=VALUE",
        help="generator constructor argument (YAML value), repeatable, e.g. preset=small",
    )  # fmt: skip
    parser.add_argument("--grid-every", type=int, default=10, help="sample grid every N generator epochs")
    parser.add_argument("--budget", default="paper")
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--run-root", default="runs/bench")
    parser.add_argument(
        "--unlabeled-pool", type=float, default=None, help="pool fraction (1 = all); the oracle needs it"
    )
    parser.add_argument("--synthetic-weight", default="1", help="loss weights of the generator arms, e.g. 0.25,0.5,1")
    parser.add_argument("--two-stage", type=float, default=0.0, help="share of real-only fine-tuning (0: off)")
    parser.add_argument("--oversample-factor", type=float, default=1.0)
    parser.add_argument(
        "--filters", default="", help="post-selections run after each generator, e.g. confidence:0.5,ood:0.95"
    )
    parser.add_argument(
        "--only-arms", default=None, help="generators that get their <gen>-only arm (default: all), e.g. gan"
    )
    parser.add_argument("--ssl-epochs", type=int, default=20)
    parser.add_argument("--pretrain-epochs", type=int, default=10, help="pool pretraining of a <gen>-pool generator")
    parser.add_argument(
        "--pretrained-generator", default=None, metavar="PATH",
        help="a checkpoint every trained generator is fine-tuned from; {seed} is replaced by the seed. Give each seed "
        "a checkpoint of the same seed's split: only a pool pretraining's pretraining.json lets the study check it",
    )  # fmt: skip
    parser.add_argument(
        "--evidence-only", action="store_true",
        help="train and score the generators' synthetic sets (quality/<gen>/) without their classifier arms; the "
        "real arm must have finished in the run directory (it is the judge)",
    )  # fmt: skip
    args = parser.parse_args()
    generators = parse_arms(args.generators) or ["none"]
    combined = []
    for seed in map(int, args.seeds.split(",")):
        base = StudyConfig.from_dict(
            dict(
                name=f"ham{args.shots}",
                run_dir=f"{args.run_root}/ham{args.shots}_seed{seed}",
                dataset="ham10000",
                data_dir=args.data_dir,
                shots=args.shots,
                image_size=args.image_size,
                epochs=args.epochs,
                val_fraction=args.val_fraction,
                backbone=args.backbone,
                baselines=parse_arms(args.baselines),
                gen_epochs=args.gen_epochs,
                gen_options=dict(map(parse_option, args.gen_option)),
                grid_every=args.grid_every,
                budget=args.budget,
                seed=seed,
                unlabeled_pool=args.unlabeled_pool,
                oversample_factor=args.oversample_factor,
                ssl_epochs=args.ssl_epochs,
                pretrained_generator=args.pretrained_generator.format(seed=seed) if args.pretrained_generator else None,
                logger="csv",
                progress_bar=False,
            )
        )  # fmt: skip  (the flat keys: each goes to its section)
        arms: dict = {}
        for generator in generators:
            # "gan-pool": the GAN pretrained on the unlabeled pool first; mixing controls on every trained generator
            kind, pool = generator.removesuffix("-pool"), generator.endswith("-pool")
            trained = kind not in ("oracle", "none")
            config = base.replace(
                generator=kind, pretrain_epochs=args.pretrain_epochs if pool else 0,
                synthetic_weight=parse_weights(args.synthetic_weight) if trained else [1.0],
                two_stage=args.two_stage if trained else 0.0,
                synthetic_only_arm=args.only_arms is None or generator in parse_arms(args.only_arms),
            )  # fmt: skip
            study = FewShotStudy(config)
            if args.evidence_only:
                score_synthetic_set(study, parse_arms(args.filters))  # the oracle too: it calibrates a filter
                continue
            arms.update(study.run())
            for spec in parse_arms(args.filters) if trained else []:  # filtered sets: real+<set> arms only
                filtered = config.replace(filter=spec, synthetic_weight=[1.0], two_stage=0.0, baselines=["real"],
                                          synthetic_only_arm=False)  # fmt: skip
                arms.update(FewShotStudy(filtered).run())
        if args.evidence_only:
            continue
        path = Path(base.study.run_dir) / f"arms_{'-'.join(arms)}.json"
        atomic_write_json({"class_codes": study.class_codes, "arms": arms}, path)
        combined.append(path)
    if args.evidence_only:
        return
    summary, per_class = aggregate_seeds(combined)
    seeds = map(int, args.seeds.split(","))
    per_seed = {seed: json.loads(p.read_text())["arms"] for seed, p in zip(seeds, combined, strict=True)}
    paired = aggregate_markdown(aggregate(per_seed, study.class_codes), study.class_codes)
    text = (
        f"HAM10000, {args.shots} shots/class, {args.image_size} px, {args.backbone} from scratch, "
        f"{args.epochs} epochs, seeds {args.seeds} (mean ± std)\n\n{markdown_table(summary)}\n\n"
        f"Per-class F1:\n\n{markdown_table(per_class)}\n\n{paired}"
    )
    atomic_write_text(text, Path(args.run_root) / f"summary_ham{args.shots}_{'-'.join(arms)}.md")
    print(text)
    print(json.dumps({"runs": [str(p) for p in combined]}))


if __name__ == "__main__":
    main()

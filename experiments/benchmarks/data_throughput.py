"""Images/s of SkinLesionDataModule's training loader vs a plain torchvision ImageFolder-style loader.

Both decode the same HAM10000 JPEGs, resize, randomly flip and normalize. Run from the project root:

    python experiments/benchmarks/data_throughput.py --data-dir ../shared/data/ham10000 --images 2000

Prints one line per (loader, image size, workers) and the ratio datamodule / torchvision (target ≥ 0.9).
"""

from __future__ import annotations

import argparse
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from skinsynth.data.datamodule import SkinLesionDataModule
from skinsynth.data.transforms import IMAGENET_MEAN, IMAGENET_STD


class PlainImageDataset(Dataset):
    """What a torchvision ImageFolder does per item: PIL open, RGB, transform."""

    def __init__(self, paths: list[str], labels: list[int], size: int) -> None:
        self.paths, self.labels = paths, labels
        self.transform = transforms.Compose(
            [
                transforms.Resize((size, size)),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
            ]
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        with Image.open(self.paths[i]) as image:
            return self.transform(image.convert("RGB")), self.labels[i]


def images_per_second(loader: DataLoader, limit: int) -> float:
    """Iterate until ``limit`` images were produced (after one warm-up batch); return images/s."""
    iterator = iter(loader)
    next(iterator)
    seen, start = 0, time.perf_counter()
    for batch in iterator:
        seen += len(batch["image"] if isinstance(batch, dict) else batch[0])
        if seen >= limit:
            break
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/ham10000")
    parser.add_argument("--images", type=int, default=2000, help="images timed per measurement")
    parser.add_argument("--sizes", default="64,224")
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}, {args.images} images per measurement, batch {args.batch_size}")
    print(f"{'size':>5} {'workers':>7} {'augment':>9} {'skinsynth img/s':>16} {'torchvision img/s':>18} {'ratio':>6}")
    for size in map(int, args.sizes.split(",")):
        for workers in map(int, args.workers.split(",")):
            for augment in ("flip", "standard"):
                dm = SkinLesionDataModule(
                    "ham10000",
                    args.data_dir,
                    mode="real",
                    image_size=size,
                    batch_size=args.batch_size,
                    num_workers=workers,
                    augment=augment,
                    val_fraction=0.1,
                    test_fraction=0.1,
                )
                dm.setup("fit")
                ours = images_per_second(dm.train_dataloader(), args.images)
                frame = dm.train_records.frame
                plain = PlainImageDataset(frame["path"].tolist(), frame["label"].tolist(), size)
                loader = DataLoader(
                    plain, batch_size=args.batch_size, shuffle=True, num_workers=workers, persistent_workers=workers > 0
                )
                theirs = images_per_second(loader, args.images)
                print(f"{size:>5} {workers:>7} {augment:>9} {ours:>16.0f} {theirs:>18.0f} {ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()

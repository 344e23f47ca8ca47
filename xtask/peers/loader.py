"""The input pipeline of a CIFAR-10 training run in PyTorch, for `cargo xtask bench --loader`:
JPEG decode, RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize, batches of
128 from a DataLoader with 1 and 2 worker processes. Prints one JSON object per worker count.

usage: loader.py FOLDER IMAGES WORKERS[,WORKERS…]
"""
import json
import sys
import time

import torch
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms


def main():
    folder, images, counts = sys.argv[1], int(sys.argv[2]), [int(w) for w in sys.argv[3].split(",")]
    torch.set_num_threads(1)
    pipeline = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    ])
    full = datasets.ImageFolder(folder, transform=pipeline)
    # The same images as Neurite's side: every (len / images)-th file in sorted order.
    step = max(1, len(full) // images)
    subset = Subset(full, list(range(0, len(full), step))[:images])
    for workers in counts:
        loader = DataLoader(subset, batch_size=128, shuffle=True, num_workers=workers,
                            persistent_workers=False, prefetch_factor=4)
        best = 0.0
        for _ in range(2):
            start = time.perf_counter()
            seen = 0
            for x, y in loader:
                seen += x.shape[0]
            best = max(best, seen / (time.perf_counter() - start))
        print(json.dumps({"workers": workers, "images": len(subset), "images_per_s": best}), flush=True)


if __name__ == "__main__":
    main()

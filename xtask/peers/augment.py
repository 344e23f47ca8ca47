"""Albumentations (OpenCV) timings of the augmentation ops `cargo xtask bench --peers` compares
Neurite with: the same ops and parameters, applied one image at a time in one process, to float32
images in [0, 1] and to uint8 images. Prints one JSON object per line:
{"op": ..., "size": "1x28x28" | "3x224x224", "dtype": "float32" | "uint8", "images_per_s": ...}.
"""

import json
import sys
import time

import albumentations as A
import cv2
import numpy as np

cv2.setNumThreads(1)


def bilateral_float32(img, **_):
    """cv2's bilateral filter on Neurite's 7×7 window: σ_space 1 px, σ_colour 0.1 of the range."""
    return cv2.bilateralFilter(img, 7, 0.1, 1.0)


def bilateral_uint8(img, **_):
    """The same on 0..255 values."""
    return cv2.bilateralFilter(img, 7, 25.5, 1.0)


def ops(h, w):
    """Each op as in Neurite's catalogue (`neurite augment --help` gives the defaults)."""
    crop = [A.PadIfNeeded(h + 8, w + 8, border_mode=cv2.BORDER_CONSTANT, fill=0, p=1), A.RandomCrop(h, w, p=1)]
    bilateral = {"float32": bilateral_float32, "uint8": bilateral_uint8}
    return {
        "pipeline": lambda dtype: A.Compose(
            crop
            + [
                A.HorizontalFlip(p=0.5),
                A.RandomBrightnessContrast(brightness_limit=0.1, contrast_limit=0.0, p=1),
                A.RandomBrightnessContrast(brightness_limit=0.0, contrast_limit=0.1, p=1),
                A.Erasing(scale=(0.02, 0.33), p=0.25),
            ]
        ),
        "flip": lambda dtype: A.HorizontalFlip(p=1),
        "vflip": lambda dtype: A.VerticalFlip(p=1),
        "crop": lambda dtype: A.Compose(crop),
        "resized_crop": lambda dtype: A.RandomResizedCrop(size=(h, w), scale=(0.08, 1.0), ratio=(0.75, 4 / 3), p=1),
        "resize": lambda dtype: A.Resize(max(h // 2, 1), max(w // 2, 1), interpolation=cv2.INTER_LINEAR, p=1),
        "brightness": lambda dtype: A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.0, p=1),
        "contrast": lambda dtype: A.RandomBrightnessContrast(brightness_limit=0.0, contrast_limit=0.2, p=1),
        "erase": lambda dtype: A.Erasing(scale=(0.02, 0.33), p=1),
        "noise": lambda dtype: A.GaussNoise(std_range=(0.05, 0.05), mean_range=(0.0, 0.0), p=1),
        "gaussian_blur": lambda dtype: A.GaussianBlur(blur_limit=(7, 7), sigma_limit=(1.0, 1.0), p=1),
        "median_blur": lambda dtype: A.MedianBlur(blur_limit=(3, 3), p=1),
        "bilateral_blur": lambda dtype: A.Lambda(image=bilateral[dtype], p=1),
    }


def images(c, h, w, dtype, n=32):
    rng = np.random.default_rng(10)
    shape = (h, w, c) if c > 1 else (h, w)
    if dtype == "uint8":
        return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]
    return [rng.random(shape, dtype=np.float32) for _ in range(n)]


def rate(transform, batch, seconds):
    for img in batch[:4]:
        transform(image=img)
    done, start = 0, time.perf_counter()
    while True:
        for img in batch:
            transform(image=img)
        done += len(batch)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main():
    only = set(sys.argv[1].split(",")) if len(sys.argv) > 1 and sys.argv[1] else None
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    for c, h, w in [(1, 28, 28), (3, 224, 224)]:
        for name, make in ops(h, w).items():
            if only and name not in only:
                continue
            for dtype in ["float32", "uint8"]:
                per_s = rate(make(dtype), images(c, h, w, dtype), seconds)
                line = {"op": name, "size": f"{c}x{h}x{w}", "dtype": dtype, "images_per_s": round(per_s, 1)}
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

"""Runs a network exported by `neurite export` in PyTorch, on image files prepared exactly as
Neurite prepares them: decoded to grey or RGB, brought to the model's input size by the recorded
policy (torchvision's Resize, CenterCrop or Pad, bilinear with antialiasing), scaled and
normalised per channel. Prints one JSON object per image: the file, the class and the
probabilities.

usage: python neurite_to_torch.py MODEL.safetensors IMAGE [IMAGE ...]
(needs torch, torchvision, safetensors and Pillow)
"""
import json
import math
import sys

import torch
import torchvision.transforms.functional as TF
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn


def build(spec):
    kind = spec["type"]
    if kind == "Linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"])
    if kind == "Conv2d":
        return nn.Conv2d(spec["in_channels"], spec["out_channels"], tuple(spec["kernel_size"]),
                         stride=tuple(spec["stride"]), padding=tuple(spec["padding"]), bias=spec["bias"])
    if kind in ("MaxPool2d", "AvgPool2d"):
        return getattr(nn, kind)(tuple(spec["kernel_size"]), stride=tuple(spec["stride"]),
                                 padding=tuple(spec["padding"]))
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(nn, kind)(spec["num_features"], eps=spec["eps"], momentum=spec["momentum"])
    if kind == "Dropout":
        return nn.Dropout(spec["p"])
    if kind == "LeakyReLU":
        return nn.LeakyReLU(spec["negative_slope"])
    if kind == "ELU":
        return nn.ELU(spec["alpha"])
    if kind == "GELU":
        return nn.GELU(approximate="tanh")
    if kind == "Softmax":
        return nn.Softmax(dim=spec["dim"])
    if kind == "Sequential":
        return Net(spec["layers"])
    if kind == "Residual":
        return Residual(spec)
    if kind == "GlobalAvgPool":
        return GlobalAvgPool()
    if kind == "ChannelPad":
        return ChannelPad(spec)
    return {"Flatten": nn.Flatten, "ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh}[kind]()


class Net(nn.Module):
    def __init__(self, architecture):
        super().__init__()
        self.layers = nn.Sequential(*[build(spec) for spec in architecture])

    def forward(self, x):
        return self.layers(x)


class Residual(nn.Module):
    """activation(body(x) + shortcut(x)); an empty shortcut is the identity."""

    def __init__(self, spec):
        super().__init__()
        self.body = nn.Sequential(*[build(s) for s in spec["body"]])
        self.shortcut = nn.Sequential(*[build(s) for s in spec.get("shortcut", [])])
        activation = spec.get("activation")
        self.activation = build(activation) if activation else nn.Identity()

    def forward(self, x):
        return self.activation(self.body(x) + self.shortcut(x))


class GlobalAvgPool(nn.Module):
    """[n, c, h, w] -> [n, c]: the mean of each channel."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class ChannelPad(nn.Module):
    """He et al.'s shortcut option A: every stride-th pixel, zero channels before and after."""

    def __init__(self, spec):
        super().__init__()
        self.stride = spec["stride"]
        self.before, self.after = spec["before"], spec["after"]

    def forward(self, x):
        x = x[:, :, ::self.stride[0], ::self.stride[1]]
        return nn.functional.pad(x, (0, 0, 0, 0, self.before, self.after))


def per_channel(value, channels):
    """A mean or std: one number for every channel, or one per channel."""
    values = value if isinstance(value, list) else [value]
    return torch.tensor([values[min(c, len(values) - 1)] for c in range(channels)]).view(channels, 1, 1)


def fit(image, height, width, policy):
    """The image brought to height x width as Neurite's --resize policy says."""
    w, h = image.size
    if (w, h) == (width, height):
        return image
    if policy == "stretch":
        return TF.resize(image, [height, width], antialias=True)
    scale = max(width / w, height / h) if policy == "crop" else min(width / w, height / h)
    size = [height if abs(h * scale - height) < 0.5 else max(1, round(h * scale)),
            width if abs(w * scale - width) < 0.5 else max(1, round(w * scale))]
    image = TF.resize(image, size, antialias=True)
    if policy == "crop":
        return TF.center_crop(image, [height, width])
    left, top = (width - size[1]) // 2, (height - size[0]) // 2
    return TF.pad(image, [left, top, width - size[1] - left, height - size[0] - top], fill=0)


def main():
    path, images = sys.argv[1], sys.argv[2:]
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    net = Net(json.loads(meta["architecture"])).eval()
    # PyTorch's batch norm also counts batches (num_batches_tracked); Neurite does not store it.
    missing, unexpected = net.load_state_dict(load_file(path), strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
    prep = json.loads(meta["preprocessing"])
    channels, height, width = json.loads(meta["input"])
    classes = json.loads(meta["classes"])
    policy = meta.get("input-resize", "stretch")
    for file in images:
        image = fit(Image.open(file).convert("L" if channels == 1 else "RGB"), height, width, policy)
        pixels = TF.pil_to_tensor(image).float()  # [C, H, W], 0..255
        x = (pixels * prep["scale"] - per_channel(prep["mean"], channels)) / per_channel(prep["std"], channels)
        x = x.unsqueeze(0) if prep["layout"] == "nchw" else x.reshape(1, -1)
        with torch.no_grad():
            p = net(x).softmax(1)[0]
        best = int(p.argmax())
        print(json.dumps({"file": file, "class": classes[best], "probabilities": p.tolist()}))
        assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-4)


if __name__ == "__main__":
    main()

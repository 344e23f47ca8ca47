"""PyTorch's side of `cargo xtask bench --peers`: the training steps Neurite's workloads time,
with the same networks, batches, loss and optimizer (SGD, lr 0.05), on THREADS threads (torch's
intra-op pool). Convolutional networks run in both memory formats, channels-last (usually the
faster for PyTorch CPU convolutions) and NCHW, and the better counts. Prints one JSON line per
workload: its name, the samples per second (the median of five timed runs, each of enough steps
to last about a second) and the format that gave it.

usage: python train.py THREADS NAME[,NAME...]
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, (cout - cin) // 2

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x
        if self.stride != 1 or self.pad:
            # Option A: subsample and add zero channels, as Neurite's default ResNet.
            skip = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + skip)


def resnet20():
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for s, w in enumerate((16, 32, 64)):
        for b in range(3):
            layers.append(Block(cin, w, 2 if s > 0 and b == 0 else 1))
            cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


WORKLOADS = {
    "mlp_train_step": (mlp, (128, 784), False),
    "cnn_train_step": (mnist_cnn, (64, 1, 28, 28), True),
    "resnet20_train_step": (resnet20, (128, 3, 32, 32), True),
}


def rate(name, channels_last):
    make, shape, _ = WORKLOADS[name]
    torch.manual_seed(0)
    net = make()
    x = torch.rand(*shape)
    y = torch.randint(0, 10, (shape[0],))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()

    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < 1.0 or steps < 2:
        step()
        steps += 1
    per_run = max(1, round(steps / (time.perf_counter() - start)))
    rates = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(per_run):
            step()
        rates.append(per_run * shape[0] / (time.perf_counter() - t))
    return statistics.median(rates)


def main():
    threads, names = int(sys.argv[1]), sys.argv[2].split(",")
    torch.set_num_threads(threads)
    for name in names:
        formats = ["channels_last", "nchw"] if WORKLOADS[name][2] else ["nchw"]
        best = max((rate(name, f == "channels_last"), f) for f in formats)
        line = {"name": name, "samples_per_s": best[0], "format": best[1], "torch": torch.__version__}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

"""He et al.'s CIFAR ResNet written in PyTorch under the names such code usually uses (conv1,
bn1, layer{s}.{b}.conv1/bn1/conv2/bn2[/shortcut.0/1], linear), run once on a fixed batch so that
Neurite's test can compare, number for number: train- and eval-mode logits, the loss, every
parameter's gradient, and batch norm's running statistics after the step's forward pass.

usage: python resnet_parity.py OUT_DIR DEPTH SHORTCUT(a|b)
writes OUT_DIR/weights.safetensors (the state_dict before the step) and OUT_DIR/expected.safetensors

       python resnet_parity.py predict WEIGHTS DEPTH SHORTCUT IMAGE [IMAGE ...]
prints, per RGB image (pixels / 255, as `neurite import`'s default preprocessing), one JSON line:
the file, the class index and the probabilities in evaluation mode.

A ReLU input within rounding of zero may fall on either side of the kink in two frameworks (their
sums run in different orders), and a flipped unit changes every gradient before it. The batch is
therefore drawn until no ReLU input lies within MARGIN of zero, as a gradient check keeps its
points away from kinks.
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

MARGIN = 1e-5
# The smallest |input| any ReLU saw in the last forward pass.
closest = [float("inf")]


def relu(t):
    closest[0] = min(closest[0], float(t.detach().abs().min()))
    return F.relu(t)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, option):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.option = option
        self.pad = (cout - cin) // 2, cout - cin - (cout - cin) // 2
        self.stride = stride
        self.projects = stride != 1 or cin != cout
        if self.projects and option == "b":
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def skip(self, x):
        if not self.projects:
            return x
        if self.option == "b":
            return self.shortcut(x)
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad[0], self.pad[1]))

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return relu(out + self.skip(x))


class ResNet(nn.Module):
    def __init__(self, depth, option, classes=10, widths=(16, 32, 64)):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        for s, w in enumerate(widths):
            blocks = []
            for b in range(n):
                blocks.append(Block(cin, w, 2 if s > 0 and b == 0 else 1, option))
                cin = w
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(out.mean(dim=(2, 3)))


def predict(weights, depth, option, images):
    import json

    import numpy as np
    from PIL import Image
    from safetensors.torch import load_file

    net = ResNet(depth, option)
    net.load_state_dict(load_file(weights), strict=False)
    net.eval()
    for file in images:
        pixels = np.asarray(Image.open(file).convert("RGB"), dtype=np.float32) / 255.0
        x = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            p = net(x).softmax(1)[0]
        print(json.dumps({"file": file, "class": str(int(p.argmax())), "probabilities": p.tolist()}))


def main():
    if sys.argv[1] == "predict":
        predict(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:])
        return
    out, depth, option = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    net = ResNet(depth, option)
    # Batch norm's affine parameters and statistics away from 1 and 0, so that each one matters.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    weights = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items() if v.is_floating_point()}
    save_file(weights, f"{out}/weights.safetensors")

    net.train()
    for attempt in range(1000):
        generator = torch.Generator().manual_seed(attempt)
        x = torch.randn(2, 3, 32, 32, generator=generator)
        closest[0] = float("inf")
        with torch.no_grad():
            net(x)
        if closest[0] > MARGIN:
            break
    else:
        raise SystemExit(f"no batch keeps every ReLU input {MARGIN} away from zero")
    net.load_state_dict(weights, strict=False)  # the search moved the running statistics
    labels = torch.randint(0, 10, (2,), generator=generator)
    logits = net(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    expected = {"x": x, "labels": labels.float(), "logits.train": logits.detach(), "loss": loss.detach().reshape(1)}
    for name, p in net.named_parameters():
        expected[f"grad.{name}"] = p.grad.detach().clone()
    for name, b in net.named_buffers():
        if b.is_floating_point():
            expected[f"after.{name}"] = b.detach().clone()
    net.eval()
    with torch.no_grad():
        expected["logits.eval"] = net(x)
    save_file({k: v.contiguous() for k, v in expected.items()}, f"{out}/expected.safetensors")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Peer of bench/train_throughput: the same reference network, batch, threads and data in
PyTorch 1.13 (Debian python3-torch). Prints one JSON line:
    {"train_images_per_s": ..., "inference_images_per_s": ..., "distill_images_per_s": ...,
     "epoch_test_accuracy": ..., "epoch_seconds": ...}

Data: Fashion-MNIST from /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist), held
in memory as one tensor and batched by index, so no DataLoader cost is charged to PyTorch.
Pixels scaled to [0, 1] and standardised with the training images' mean and standard deviation.
"""

import argparse
import gzip
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
BATCH = 128
WARMUP = 5


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def reference_net(width):
    layers, cin = [], 1
    for cout, stride in [(16, 1), (32, 2), (64, 2)]:
        layers += [nn.Conv2d(cin, cout * width, 3, stride, 1, bias=False),
                   nn.BatchNorm2d(cout * width), nn.ReLU(inplace=True)]
        cin = cout * width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


def distillation_loss(student, teacher, labels, alpha=0.5, t=4.0):
    soft = F.kl_div(F.log_softmax(student / t, dim=1), F.softmax(teacher / t, dim=1),
                    reduction="batchmean")
    return alpha * F.cross_entropy(student, labels) + (1 - alpha) * t * t * soft


def timed(step, steps):
    for _ in range(WARMUP):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * BATCH / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--skip-epoch", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    train_x = read_idx(f"{DATA}/train-images-idx3-ubyte.gz").astype(np.float32) / 255
    train_y = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64)
    test_x = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    test_y = read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mean, std = train_x.mean(), train_x.std()
    train_x = torch.from_numpy((train_x - mean) / std).unsqueeze(1).contiguous()
    test_x = torch.from_numpy((test_x - mean) / std).unsqueeze(1).contiguous()
    train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)

    images, labels = train_x[:BATCH], train_y[:BATCH]
    student = reference_net(1)
    sgd = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        student.train()
        sgd.zero_grad(set_to_none=True)
        F.cross_entropy(student(images), labels).backward()
        sgd.step()

    def inference_step():
        student.eval()
        with torch.no_grad():
            student(images)

    teacher = reference_net(4).eval()

    def distill_step():
        with torch.no_grad():
            soft = teacher(images)
        student.train()
        sgd.zero_grad(set_to_none=True)
        distillation_loss(student(images), soft, labels).backward()
        sgd.step()

    result = {"train_images_per_s": None, "inference_images_per_s": None,
              "distill_images_per_s": None, "epoch_test_accuracy": None, "epoch_seconds": None}
    if not args.skip_throughput:
        result["train_images_per_s"] = timed(train_step, args.steps)
        result["inference_images_per_s"] = timed(inference_step, args.steps)
        result["distill_images_per_s"] = timed(distill_step, args.steps)

    if not args.skip_epoch:
        start = time.perf_counter()
        net = reference_net(1)
        steps = (len(train_x) + BATCH - 1) // BATCH
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
        net.train()
        order = torch.randperm(len(train_x))
        for first in range(0, len(train_x), BATCH):
            idx = order[first:first + BATCH]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(train_x[idx]), train_y[idx]).backward()
            opt.step()
            schedule.step()
        net.eval()
        correct = 0
        with torch.no_grad():
            for first in range(0, len(test_x), 500):
                logits = net(test_x[first:first + 500])
                correct += (logits.argmax(1) == test_y[first:first + 500]).sum().item()
        result["epoch_test_accuracy"] = 100.0 * correct / len(test_x)
        result["epoch_seconds"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()

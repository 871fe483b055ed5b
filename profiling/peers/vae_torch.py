#!/usr/bin/python3
"""PyTorch peer of digitgen's MLP VAE, for the benchmark's same-run comparison on the CPU.

Same architecture as `digitgen train --model vae --hidden H --latent Z` (784-H-...-Z, two heads, Bernoulli
decoder, sum-reduced BCE + KL averaged over the batch), Adam, on real MNIST training images. Prints one JSON line.
Run with /usr/bin/python3 (Debian's python3-torch); install libopenblas0 or torch falls back to reference BLAS.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def read_idx_images(path):
    with open(path, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols)


class Vae(nn.Module):
    def __init__(self, hidden, latent):
        super().__init__()
        enc, width = [], 784
        for h in hidden:
            enc += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.encoder = nn.Sequential(*enc)
        self.mu = nn.Linear(width, latent)
        self.logvar = nn.Linear(width, latent)
        dec, width = [], latent
        for h in reversed(hidden):
            dec += [nn.Linear(width, h), nn.ReLU()]
            width = h
        dec.append(nn.Linear(width, 784))
        self.decoder = nn.Sequential(*dec)

    def forward(self, x):
        h = self.encoder(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z), mu, logvar


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "mnist"))
    p.add_argument("--hidden", default="400")
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    images = torch.from_numpy(read_idx_images(os.path.join(a.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0)
    model = Vae([int(h) for h in a.hidden.split(",")], a.latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = images.shape[0]

    def step(i):
        start = (i * a.batch) % (n - a.batch)
        x = images[start:start + a.batch]
        logits, mu, logvar = model(x)
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + kl) / a.batch
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(a.warmup):
        step(i)
    t = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    dt = time.perf_counter() - t
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": a.threads, "batch": a.batch,
                      "ms_per_step": 1000 * dt / a.steps, "images_per_s": a.steps * a.batch / dt, "loss": loss}))


if __name__ == "__main__":
    main()

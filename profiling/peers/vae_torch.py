#!/usr/bin/python3
"""PyTorch peer of digitgen's MLP VAE, for the benchmark's same-run comparison on the CPU.

Same architecture as `digitgen train --model vae --hidden H --latent Z` (784-H-...-Z, two heads, Bernoulli
decoder, sum-reduced BCE + KL averaged over the batch), Adam, on real MNIST training images. Prints one JSON line
with the threads and the BLAS library torch actually ran with.
Run with /usr/bin/python3 (Debian's python3-torch). Debian's torch calls BLAS through libblas.so.3, which the
alternatives system points at the reference BLAS unless an OpenBLAS package (libopenblas0-pthread) is installed:
the reference BLAS makes this peer about 2.5x slower, so check the "blas" field.
Threads: --threads sets torch's intra-op threads and OpenBLAS's threads (OPENBLAS_NUM_THREADS, read when the
library loads, hence set before torch is imported); digitgen_bench passes its own OpenBLAS thread count.
OMP_WAIT_POLICY defaults to PASSIVE here: with GNU OpenMP's default busy-waiting, torch's OpenMP threads spin
against OpenBLAS's threads and any other load, and on a busy 2-core machine the peer ran 10x slower (about 800
instead of 8,200 images/s at batch 128); digitgen has no OpenMP threads, so this only removes a handicap.
"""
import argparse
import gzip
import json
import os
import time


def read_idx_images(path):
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols)


def loaded_blas():
    """The BLAS shared libraries mapped into this process (resolved paths), and OpenBLAS's thread count."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if line.count("/") else ""
            name = os.path.basename(path)
            if any(k in name for k in ("blas", "mkl_", "libmkl")):
                libs.add(os.path.realpath(path))
    threads = None
    for lib in libs:
        if "openblas" in lib:
            import ctypes
            try:
                threads = ctypes.CDLL(lib).openblas_get_num_threads()
                break
            except (OSError, AttributeError):
                pass
    return sorted(libs), threads


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "mnist"))
    p.add_argument("--hidden", default="400")
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds (at least)")
    p.add_argument("--min-steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    return p.parse_args()


ARGS = parse_args()
# Before torch loads OpenBLAS and OpenMP: both read these once, at load time.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


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
    a = ARGS
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
    steps, t = 0, time.perf_counter()
    while True:
        loss = step(a.warmup + steps)
        steps += 1
        dt = time.perf_counter() - t
        if dt >= a.seconds and steps >= a.min_steps:
            break
    blas, blas_threads = loaded_blas()
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "blas": ",".join(blas) or "none found", "blas_threads": str(blas_threads),
                      "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
                      "batch": a.batch, "steps": steps, "ms_per_step": 1000 * dt / steps,
                      "images_per_s": steps * a.batch / dt, "loss": loss}))


if __name__ == "__main__":
    main()

"""What every PyTorch peer of digitgen shares: the command line, the thread setup, MNIST, the timing loop, the
FLOP count and the one JSON line the benchmark reads.

Use it in this order, because OpenBLAS and GNU OpenMP read their settings once, when torch loads them:

    import peer_common as pc
    p = pc.parser(__doc__)           # --data --batch --seconds --min-steps --warmup --threads
    p.add_argument(...)              # the peer's own settings
    ARGS = pc.setup(p)               # parses; sets the thread variables; imports torch; seeds it
    import torch                     # now safe

Threads: --threads N sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS before torch is imported and then
torch.set_num_threads(N); digitgen_bench passes its own OpenBLAS thread count. OMP_WAIT_POLICY defaults to
PASSIVE: with GNU OpenMP's default busy-waiting, torch's OpenMP threads spin against OpenBLAS's threads and any
other load, and on a busy 2-core machine the VAE peer ran 10x slower (about 800 instead of 8,200 images/s at
batch 128); digitgen has no OpenMP threads, so this only removes a handicap.
BLAS: Debian's torch calls BLAS through libblas.so.3, which the alternatives system points at the reference BLAS
unless an OpenBLAS package (libopenblas0-pthread) is installed; the reference BLAS is about 10x slower, so the
JSON line names the BLAS library actually mapped into the process.
"""
import argparse
import gzip
import json
import os
import time


def parser(description):
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                                                  "mnist"), help="MNIST folder (IDX files, .gz works)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds (at least)")
    p.add_argument("--min-steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=1)
    return p


def setup(p):
    """Parses the arguments, sets the thread environment, then imports torch and applies threads and seed."""
    args = p.parse_args()
    if args.batch <= 0 or args.threads <= 0:
        p.error("--batch and --threads must be positive")
    # Before torch loads OpenBLAS and OpenMP: both read these once, at load time.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return args


def _read_idx(path):
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def load_mnist_train(data_dir):
    """The 60,000 training images as float32 [N, 784] in [0, 1] and their labels as int64 [N] (torch tensors)."""
    import numpy as np
    import torch
    raw = _read_idx(os.path.join(data_dir, "train-images-idx3-ubyte"))
    n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols).astype(np.float32) / 255.0
    raw = _read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte"))
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)
    if labels.shape[0] != n:
        raise SystemExit(f"MNIST in {data_dir}: {n} images but {labels.shape[0]} labels")
    return torch.from_numpy(images), torch.from_numpy(labels)


def batches(images, labels, batch):
    """step i -> (x, y): contiguous slices of the training set, no shuffle (this flatters the peer slightly)."""
    n = images.shape[0]
    if batch > n:
        raise SystemExit(f"--batch {batch} is larger than the training set ({n})")

    def get(i):
        start = (i * batch) % (n - batch + 1)
        return images[start:start + batch], labels[start:start + batch]
    return get


def forward_flops(module, run):
    """FLOPs (2 x multiply-adds) of the Linear, Conv2d and ConvTranspose2d layers under `module` during `run()`,
    counted with forward hooks; the caller divides by the images the run processed."""
    from torch import nn
    total = [0]

    def hook(m, inputs, out):
        if isinstance(m, nn.Linear):
            total[0] += 2 * out.numel() * m.in_features
        elif isinstance(m, nn.Conv2d):  # each output element: Cin/groups * k*k multiply-adds
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):  # each input element scatters into Cout/groups * k*k outputs
            x = inputs[0]
            total[0] += 2 * x.numel() * (m.out_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    try:
        import torch
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return total[0]


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


def time_steps(step, args):
    """Runs step(i) --warmup times, then until --seconds have passed and --min-steps were done; step returns the
    loss (a float, read back each step as digitgen's bench does). Returns (steps, seconds, last loss)."""
    for i in range(args.warmup):
        step(i)
    steps, t = 0, time.perf_counter()
    while True:
        loss = step(args.warmup + steps)
        steps += 1
        dt = time.perf_counter() - t
        if dt >= args.seconds and steps >= args.min_steps:
            return steps, dt, loss


def report(args, model, steps, seconds, loss, train_flops_per_image=None, **extra):
    """Prints the one JSON line digitgen_bench parses (it reads the last line starting with '{')."""
    import torch
    blas, blas_threads = loaded_blas()
    out = {"peer": "pytorch", "model": model, "torch": torch.__version__, "threads": torch.get_num_threads(),
           "blas": ",".join(blas) or "none found", "blas_threads": str(blas_threads),
           "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
           "batch": args.batch, "steps": steps, "ms_per_step": 1000 * seconds / steps,
           "images_per_s": steps * args.batch / seconds, "loss": loss}
    if train_flops_per_image is not None:
        out["train_flops_per_image"] = train_flops_per_image
        out["gflops"] = train_flops_per_image * out["images_per_s"] / 1e9
    out.update(extra)
    print(json.dumps(out), flush=True)

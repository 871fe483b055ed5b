#!/usr/bin/python3
"""PyTorch peer of digitgen's conditional VAE (models/cvae.cpp with models/nets.cpp, arch mlp), for the
benchmark's same-run comparison on the CPU.

Architecture, as `digitgen train --model cvae --hidden 512,256 --latent 32` builds it: the one-hot label y [B, 10]
is concatenated to the input of every fully connected layer, encoder and decoder, and to the input of the heads:
  encoder: [x(784), y] -> 512 ReLU -> [., y] -> 256 ReLU -> [., y] -> mu (32) and logvar (32)
  decoder: [z(32), y] -> 256 ReLU -> [., y] -> 512 ReLU -> [., y] -> 784 logits
Loss per batch: (BCE with logits summed over pixels + kl_weight * Gaussian KL) / B, kl_weight 2 (digitgen's
default; no warm-up, images not binarized). Adam lr 1e-3, betas (0.9, 0.999). Real MNIST training images and
labels, contiguous slices. Prints one JSON line (see peer_common.py for the thread and BLAS conventions).
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import peer_common as pc

_p = pc.parser(__doc__)
_p.add_argument("--hidden", default="512,256", help="hidden widths, encoder order")
_p.add_argument("--latent", type=int, default=32)
_p.add_argument("--kl-weight", type=float, default=2.0)
ARGS = pc.setup(_p)

import torch  # noqa: E402  (after setup: thread variables first)
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CLASSES = 10


class CondMlp(nn.Module):
    """Linear layers each fed [features, y]; ReLU after all but the last when `last_relu` is False."""

    def __init__(self, widths, last_relu):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(i + CLASSES, o) for i, o in zip(widths[:-1], widths[1:]))
        self.last_relu = last_relu

    def forward(self, h, y):
        for k, layer in enumerate(self.layers):
            h = layer(torch.cat([h, y], dim=1))
            if self.last_relu or k + 1 < len(self.layers):
                h = F.relu(h)
        return h


class Cvae(nn.Module):
    def __init__(self, hidden, latent):
        super().__init__()
        self.encoder = CondMlp([784] + hidden, last_relu=True)
        self.mu = nn.Linear(hidden[-1] + CLASSES, latent)
        self.logvar = nn.Linear(hidden[-1] + CLASSES, latent)
        self.decoder = CondMlp([latent] + hidden[::-1] + [784], last_relu=False)

    def forward(self, x, y):
        h = torch.cat([self.encoder(x, y), y], dim=1)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z, y), mu, logvar


def main():
    a = ARGS
    images, labels = pc.load_mnist_train(a.data)
    get = pc.batches(images, labels, a.batch)
    model = Cvae([int(h) for h in a.hidden.split(",")], a.latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))

    def step(i):
        x, labels_i = get(i)
        y = F.one_hot(labels_i, CLASSES).to(x.dtype)
        logits, mu, logvar = model(x, y)
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + a.kl_weight * kl) / a.batch
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    def probe():
        x, labels_i = get(0)
        model(x, F.one_hot(labels_i, CLASSES).to(x.dtype))
    # Training = forward + backward (data and weight gradients) = 3 x the forward's dense-layer FLOPs.
    flops = 3 * pc.forward_flops(model, probe) / a.batch
    steps, dt, loss = pc.time_steps(step, a)
    pc.report(a, "cvae", steps, dt, loss, train_flops_per_image=flops, hidden=a.hidden, latent=a.latent,
              kl_weight=a.kl_weight, params=sum(p.numel() for p in model.parameters()))


if __name__ == "__main__":
    main()

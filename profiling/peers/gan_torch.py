#!/usr/bin/python3
"""PyTorch peer of digitgen's DCGAN (the `gan` kind, written to this same spec), for the benchmark's same-run
comparison on the CPU. Also runs standalone.

Latent Z = 64, channels c1 = 64, c2 = 128 (--latent, --channels c1,c2).
  Generator: Linear(Z -> c2*7*7) -> [B, c2, 7, 7] -> BatchNorm2d(c2) -> ReLU -> ConvTranspose2d(c2, c1, 4, 2, 1)
             -> BatchNorm2d(c1) -> ReLU -> ConvTranspose2d(c1, 1, 4, 2, 1) -> Sigmoid     (images in [0, 1])
  Discriminator: Conv2d(1, c1, 4, 2, 1) -> LeakyReLU(0.2) -> Conv2d(c1, c2, 4, 2, 1) -> LeakyReLU(0.2) -> flatten
             -> Linear(c2*49, 1), spectral_norm on all three weights (one power iteration per forward, in
             training mode: three per step, one for each D pass below).
One training step: a D step, BCE with logits (mean over the batch) on a D pass over the real batch with target
0.9 plus one on a separate D pass over B fresh fakes (detached) with target 0; then a G step, the non-saturating
BCE with target 1 on a fresh D pass over the same fakes (D's weight gradients from it are computed, as plain
PyTorch does, and cleared before the next D step). Adam lr 2e-4, betas (0.5, 0.999) for each network.
--conditional: the one-hot label is concatenated to z (Linear(Z + 10 -> c2*7*7)), and the discriminator is the
projection discriminator: a learned embedding E [10, c2*49] (not spectrally normalized), logit += sum(E[y] * h)
with h the flattened features; fakes take the labels of the real batch they are paired with.
images/s counts real images per step (the batch size). Real MNIST training images in [0, 1] (and labels),
contiguous slices. Prints one JSON line (see peer_common.py for the thread and BLAS conventions).
Run with /usr/bin/python3 (Debian's python3-torch).
"""
import peer_common as pc

_p = pc.parser(__doc__)
_p.add_argument("--latent", type=int, default=64)
_p.add_argument("--channels", default="64,128", help="c1,c2")
_p.add_argument("--conditional", action="store_true", help="label-conditioned G and projection D")
ARGS = pc.setup(_p)

import torch  # noqa: E402  (after setup: thread variables first)
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils import spectral_norm  # noqa: E402

CLASSES = 10


class Generator(nn.Module):
    def __init__(self, latent, c1, c2, conditional):
        super().__init__()
        self.c2 = c2
        self.fc = nn.Linear(latent + (CLASSES if conditional else 0), c2 * 7 * 7)
        self.body = nn.Sequential(
            nn.BatchNorm2d(c2), nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1),  # 7 -> 14
            nn.BatchNorm2d(c1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, 2, 1),  # 14 -> 28
            nn.Sigmoid())

    def forward(self, z, y=None):
        if y is not None:
            z = torch.cat([z, y], dim=1)
        return self.body(self.fc(z).view(-1, self.c2, 7, 7))


class Discriminator(nn.Module):
    def __init__(self, c1, c2, conditional):
        super().__init__()
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(1, c1, 4, 2, 1)), nn.LeakyReLU(0.2),   # 28 -> 14
            spectral_norm(nn.Conv2d(c1, c2, 4, 2, 1)), nn.LeakyReLU(0.2),  # 14 -> 7
            nn.Flatten())
        self.out = spectral_norm(nn.Linear(c2 * 49, 1))
        self.embed = nn.Embedding(CLASSES, c2 * 49) if conditional else None

    def forward(self, x, labels=None):
        h = self.features(x)
        logit = self.out(h).squeeze(1)
        if self.embed is not None:
            logit = logit + torch.sum(self.embed(labels) * h, dim=1)
        return logit


def main():
    a = ARGS
    c1, c2 = (int(c) for c in a.channels.split(","))
    images, labels = pc.load_mnist_train(a.data)
    get = pc.batches(images.view(-1, 1, 28, 28), labels, a.batch)
    G = Generator(a.latent, c1, c2, a.conditional)
    D = Discriminator(c1, c2, a.conditional)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    B = a.batch
    real_target = torch.full((B,), 0.9)
    fake_target = torch.zeros(B)
    gen_target = torch.ones(B)
    last = {}

    def step(i):
        x, labels_i = get(i)
        y = F.one_hot(labels_i, CLASSES).to(x.dtype) if a.conditional else None
        d_labels = labels_i if a.conditional else None
        fake = G(torch.randn(B, a.latent), y)
        # D step
        opt_d.zero_grad(set_to_none=True)
        loss_d = (F.binary_cross_entropy_with_logits(D(x, d_labels), real_target)
                  + F.binary_cross_entropy_with_logits(D(fake.detach(), d_labels), fake_target))
        loss_d.backward()
        opt_d.step()
        # G step: non-saturating loss on a fresh D pass over the same fakes
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.binary_cross_entropy_with_logits(D(fake, d_labels), gen_target)
        loss_g.backward()
        opt_g.step()
        last["g"] = loss_g.item()
        return loss_d.item()

    # FLOPs per real image: G once forward and once backward (3 x its forward); D three passes (real, fake, fake
    # again for G), each forward and backward (3 x its forward each, weight gradients included): 3 G + 9 D.
    x0, l0 = get(0)
    y0 = F.one_hot(l0, CLASSES).to(x0.dtype) if a.conditional else None
    g_fwd = pc.forward_flops(G, lambda: G(torch.randn(B, a.latent), y0)) / B
    d_fwd = pc.forward_flops(D, lambda: D(x0, l0 if a.conditional else None)) / B
    steps, dt, loss = pc.time_steps(step, a)
    pc.report(a, "gan-conditional" if a.conditional else "gan", steps, dt, loss,
              train_flops_per_image=3 * g_fwd + 9 * d_fwd, loss_g=last["g"], g_forward_flops=g_fwd,
              d_forward_flops=d_fwd, latent=a.latent, channels=a.channels, conditional=a.conditional,
              g_params=sum(p.numel() for p in G.parameters()), d_params=sum(p.numel() for p in D.parameters()))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch peer of digitgen's VQ-VAE (models/vqvae.cpp, models/pixelcnn.cpp), for the benchmark's same-run
comparison on the CPU.

Architecture, as `digitgen train --model vqvae` builds it with channels c1,c2, K codes of dimension D:
  encoder: conv 4x4/2 (1->c1) ReLU, conv 4x4/2 (c1->c2) ReLU, conv 3x3 (c2->c2) ReLU, conv 1x1 (c2->D): 7x7xD
  quantizer: nearest of K codes by |e|^2 - 2 z.e (one matmul), gather, straight-through gradient, commitment
             beta |z - sg(e)|^2; codebook by exponential moving averages (decay 0.99, Laplace-smoothed counts) with
             codes idle for --dead-after steps re-seeded from encoder outputs of the batch
  decoder: conv 3x3 (D->c2) ReLU, convT 4x4/2 (c2->c1) ReLU, convT 4x4/2 (c1->1): logits; loss BCE summed / B
  prior (--stage prior): gated PixelCNN over the 7x7 codes, width C, L layers, kernel k (c = k // 2): code
             embedding; per layer a vertical stack conv over rows -c..-1 (first layer) or -c..0 and columns -c..c, a
             horizontal conv over columns -c..-1 (first) or -c..0 of the same row, a 1x1 link from the vertical
             pre-activation into the horizontal one, gates tanh(a) * sigmoid(b), a 1x1 output conv and a residual
             (from layer 1 on); head ReLU, 1x1 (C->H), ReLU, 1x1 (H->K); cross-entropy summed over positions / B.
             Rectangular kernels with padding and cropping do the same multiply-adds as digitgen's tap lists.
             The codes come from encoding each batch with the (frozen) autoencoder, as in digitgen.
Adam lr 1e-3, betas (0.9, 0.999). Real MNIST training images, contiguous slices. With --sample-seconds > 0 the
prior stage also times drawing code grids position by position (49 forwards of the prior) and decoding them.
Prints one JSON line (see peer_common.py for the thread and BLAS conventions). Run with /usr/bin/python3.
"""
import peer_common as pc

_p = pc.parser(__doc__)
_p.add_argument("--channels", default="32,64")
_p.add_argument("--codebook-size", type=int, default=128)
_p.add_argument("--code-dim", type=int, default=16)
_p.add_argument("--commitment", type=float, default=0.25)
_p.add_argument("--dead-after", type=int, default=20)
_p.add_argument("--prior-channels", type=int, default=32)
_p.add_argument("--prior-layers", type=int, default=3)
_p.add_argument("--prior-kernel", type=int, default=5)
_p.add_argument("--prior-head", type=int, default=128)
_p.add_argument("--stage", choices=["ae", "prior"], default="ae")
_p.add_argument("--sample-seconds", type=float, default=0.0)
ARGS = pc.setup(_p)

import time  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

GRID = 7


class VqVae(nn.Module):
    def __init__(self, c1, c2, K, D, beta, dead_after):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, c1, 4, 2, 1), nn.ReLU(), nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),
                                     nn.Conv2d(c2, c2, 3, 1, 1), nn.ReLU(), nn.Conv2d(c2, D, 1))
        self.decoder = nn.Sequential(nn.Conv2d(D, c2, 3, 1, 1), nn.ReLU(), nn.ConvTranspose2d(c2, c1, 4, 2, 1),
                                     nn.ReLU(), nn.ConvTranspose2d(c1, 1, 4, 2, 1))
        self.K, self.D, self.beta, self.dead_after = K, D, beta, dead_after
        self.register_buffer("codebook", torch.zeros(K, D))
        self.register_buffer("ema_count", torch.zeros(K))
        self.register_buffer("ema_sum", torch.zeros(K, D))
        self.register_buffer("idle", torch.zeros(K))
        self.seeded = False

    def rows(self, x):
        return self.encoder(x).permute(0, 2, 3, 1).reshape(-1, self.D)

    def nearest(self, z):
        return (self.codebook.pow(2).sum(1) - 2 * z @ self.codebook.t()).argmin(1)

    def decode(self, codes_rows, B):
        return self.decoder(codes_rows.reshape(B, GRID, GRID, self.D).permute(0, 3, 1, 2))

    @torch.no_grad()
    def restart(self, z, counts):
        self.idle = torch.where(counts > 0, torch.zeros_like(self.idle), self.idle + 1)
        dead = self.idle >= self.dead_after
        if dead.any():
            rows = torch.randint(0, z.shape[0], (int(dead.sum()),))
            self.codebook[dead] = z[rows]
            self.ema_sum[dead] = z[rows]
            self.ema_count[dead] = 1.0
            self.idle[dead] = 0

    def train_step(self, x, opt):
        B = x.shape[0]
        z = self.rows(x)
        if not self.seeded:
            self.idle.fill_(self.dead_after)
            self.restart(z.detach(), torch.zeros(self.K))
            self.seeded = True
        idx = self.nearest(z.detach())
        zq = self.codebook[idx]
        st = z + (zq - z).detach()  # straight-through
        logits = self.decode(st, B)
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / B
        commit = (z - zq).pow(2).sum() / B
        loss = bce + self.beta * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            onehot = F.one_hot(idx, self.K).to(z.dtype)
            counts = onehot.sum(0)
            sums = onehot.t() @ z.detach()
            self.ema_count.mul_(0.99).add_(0.01 * counts)
            self.ema_sum.mul_(0.99).add_(0.01 * sums)
            n = self.ema_count.sum()
            smoothed = (self.ema_count + 1e-5) / (n + self.K * 1e-5) * n
            self.codebook.copy_(self.ema_sum / smoothed[:, None])
            self.restart(z.detach(), counts)
        return loss.item()


def shifted(x, top, bottom, left, right):
    """Zero padding with negative values cropping, as the tap lists' zero padding."""
    return F.pad(x, (left, right, top, bottom))


class GatedPixelCnn(nn.Module):
    def __init__(self, K, C, layers, k, head):
        super().__init__()
        self.c, self.C = k // 2, C
        c = self.c
        self.embed = nn.Embedding(K, C)
        self.v = nn.ModuleList()
        self.h = nn.ModuleList()
        self.vh = nn.ModuleList()
        self.out = nn.ModuleList()
        for layer in range(layers):
            last_row = -1 if layer == 0 else 0
            self.v.append(nn.Conv2d(C, 2 * C, (last_row + c + 1, k)))
            self.h.append(nn.Conv2d(C, 2 * C, (1, last_row + c + 1)))
            self.vh.append(nn.Conv2d(2 * C, 2 * C, 1))
            self.out.append(nn.Conv2d(C, C, 1))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(C, head, 1), nn.ReLU(), nn.Conv2d(head, K, 1))

    @staticmethod
    def gate(t):
        a, b = t.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, codes):  # codes [B, 7, 7] -> logits [B, K, 7, 7]
        c = self.c
        v = h = self.embed(codes).permute(0, 3, 1, 2)
        for layer in range(len(self.v)):
            last = -1 if layer == 0 else 0
            vpre = self.v[layer](shifted(v, c, last, c, c))
            hpre = self.h[layer](shifted(h, 0, 0, c, last)) + self.vh[layer](vpre)
            hout = self.out[layer](self.gate(hpre))
            h = hout if layer == 0 else h + hout
            if layer + 1 < len(self.v):
                v = self.gate(vpre)
        return self.head(h)


def main():
    a = ARGS
    images, _ = pc.load_mnist_train(a.data)
    get = pc.batches(images, images[:, :1], a.batch)
    c1, c2 = (int(v) for v in a.channels.split(","))
    vq = VqVae(c1, c2, a.codebook_size, a.code_dim, a.commitment, a.dead_after)
    opt = torch.optim.Adam(vq.parameters(), lr=1e-3, betas=(0.9, 0.999))
    img = lambda i: get(i)[0].reshape(-1, 1, 28, 28)  # noqa: E731
    if a.stage == "ae":
        steps, dt, loss = pc.time_steps(lambda i: vq.train_step(img(i), opt), a)
        flops = 3 * pc.forward_flops(vq, lambda: vq.decode(vq.rows(img(0)), a.batch)) / a.batch
        pc.report(a, "vqvae", steps, dt, loss, train_flops_per_image=flops, stage="autoencoder")
        return
    vq.train_step(img(0), opt)  # seeds the codebook
    prior = GatedPixelCnn(a.codebook_size, a.prior_channels, a.prior_layers, a.prior_kernel, a.prior_head)
    popt = torch.optim.Adam(prior.parameters(), lr=1e-3, betas=(0.9, 0.999))

    def step(i):
        x = img(i)
        with torch.no_grad():
            codes = vq.nearest(vq.rows(x)).reshape(-1, GRID, GRID)
        loss = F.cross_entropy(prior(codes), codes, reduction="sum") / x.shape[0]
        popt.zero_grad(set_to_none=True)
        loss.backward()
        popt.step()
        return loss.item()

    steps, dt, loss = pc.time_steps(step, a)
    flops = 3 * pc.forward_flops(prior, lambda: prior(torch.zeros(a.batch, GRID, GRID, dtype=torch.long))) / a.batch
    extra = {}
    if a.sample_seconds > 0:
        @torch.no_grad()
        def sample():
            codes = torch.zeros(a.batch, GRID, GRID, dtype=torch.long)
            for p in range(GRID * GRID):
                logits = prior(codes)[:, :, p // GRID, p % GRID]
                codes[:, p // GRID, p % GRID] = torch.multinomial(F.softmax(logits, dim=1), 1)[:, 0]
            return torch.sigmoid(vq.decode(vq.codebook[codes.reshape(-1)], a.batch))
        sample()
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < a.sample_seconds or n < 2:
            sample()
            n += 1
        extra["sample_images_per_s"] = n * a.batch / (time.perf_counter() - t)
    pc.report(a, "vqvae-prior", steps, dt, loss, train_flops_per_image=flops, stage="prior", **extra)


if __name__ == "__main__":
    main()

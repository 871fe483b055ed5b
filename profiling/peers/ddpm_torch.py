#!/usr/bin/python3
"""PyTorch peer of digitgen's diffusion U-Net (the `ddpm` kind, written to this same spec), for the benchmark's
same-run comparison on the CPU. Also runs standalone.

U-Net for [B, 1, 28, 28], widths c0,c1,c2 at 28, 14, 7 pixels (--channels; fewer repeat the last), --blocks residual
blocks per level, E = 4 c0:
  embedding: sinusoid(t) [B, c0] (sin then cos, frequencies 10000^(-j / (c0/2))) -> Linear(c0, E) -> SiLU ->
             Linear(E, E), plus Embedding(11, E)[y] (label 10 = null class), then SiLU -> e
  ResBlock(cin, cout): GN(cin) -> SiLU -> Conv3x3(cin, cout) -> + Linear(E, cout)(e) per channel -> GN(cout) -> SiLU
             -> Conv3x3(cout, cout) -> + (x, or Conv1x1(cin, cout)(x) when cin != cout); GroupNorm groups: the largest
             of 32, 16, 8, 4, 2 dividing C with at least 4 channels per group, else 1
  down: Conv3x3(1, c0); level l: blocks ResBlocks to c_l, skip_l = h, then (l < 2) Conv3x3 stride 2 (28 -> 14 -> 7)
  mid: ResBlock(c2, c2), then with --attention a self-attention block: x + proj(V softmax(Q^T K / sqrt(C))^T) with
             Q, K, V from Conv1x1(C, 3C)(GN(x)) and proj = Conv1x1(C, C), over the 49 positions
  up, l = 2, 1, 0: h = cat(h, skip_l); blocks ResBlocks (the first from C_h + c_l) to c_l; (l > 0) nearest x2 upsample
             -> Conv3x3(c_l, c_{l-1})
  out: GN(c0) -> SiLU -> Conv3x3(c0, 1)
One training step: t ~ U{0..T-1}, eps ~ N(0, 1), x_t = sqrt(ab_t) (2x - 1) + sqrt(1 - ab_t) eps (cosine schedule),
labels dropped to the null class with probability 0.1, MSE(pred, eps) (mean), Adam (lr --lr), then the EMA update
of every weight (decay 0.999). Sampling (reported beside training): DDIM, --sample-steps steps, eta 0, guidance 2
with the conditional and unconditional passes in one batch of 2 x --sample-n, the EMA weights, no autograd.
Real MNIST training images and labels, contiguous slices. Prints one JSON line (see peer_common.py for the thread
and BLAS conventions). Run with /usr/bin/python3 (Debian's python3-torch).
"""
import math

import peer_common as pc

_p = pc.parser(__doc__)
_p.add_argument("--channels", default="64,128,128", help="c0[,c1[,c2]]")
_p.add_argument("--blocks", type=int, default=2)
_p.add_argument("--attention", action="store_true", help="self-attention after the middle block (7x7)")
_p.add_argument("--timesteps", type=int, default=1000)
_p.add_argument("--lr", type=float, default=2e-4)
_p.add_argument("--sample-steps", type=int, default=50, help="DDIM steps of the timed sampling call (0: none)")
_p.add_argument("--sample-n", type=int, default=16, help="digits drawn in the timed sampling call")
ARGS = pc.setup(_p)

import torch  # noqa: E402  (after setup: thread variables first)
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CLASSES = 10


def groups_for(c):
    for g in (32, 16, 8, 4, 2):
        if c % g == 0 and c // g >= 4:
            return g
    return 1


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.gn1, self.gn2 = nn.GroupNorm(groups_for(cin), cin), nn.GroupNorm(groups_for(cout), cout)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.emb = nn.Linear(emb, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.conv1(F.silu(self.gn1(x))) + self.emb(e)[:, :, None, None]
        h = self.conv2(F.silu(self.gn2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.gn, self.qkv, self.proj = nn.GroupNorm(groups_for(c), c), nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.gn(x)).view(B, 3, C, H * W).unbind(1)
        p = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(C), dim=2)  # [B, N, N]
        o = torch.bmm(v, p.transpose(1, 2)).view(B, C, H, W)
        return x + self.proj(o)


class UNet(nn.Module):
    def __init__(self, ch, blocks, attention):
        super().__init__()
        self.c0 = ch[0]
        E = 4 * ch[0]
        self.temb0, self.temb1 = nn.Linear(ch[0], E), nn.Linear(E, E)
        self.label = nn.Embedding(CLASSES + 1, E)
        self.conv_in = nn.Conv2d(1, ch[0], 3, 1, 1)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        c = ch[0]
        for l in range(3):
            level = nn.ModuleList()
            for _ in range(blocks):
                level.append(ResBlock(c, ch[l], E))
                c = ch[l]
            self.down.append(level)
            if l < 2:
                self.downsample.append(nn.Conv2d(c, c, 3, 2, 1))
        self.mid = ResBlock(c, c, E)
        self.attn = Attention(c) if attention else None
        self.up, self.upconv = nn.ModuleList(), nn.ModuleList()
        for l in (2, 1, 0):
            level = nn.ModuleList()
            for k in range(blocks):
                level.append(ResBlock(c + ch[l] if k == 0 else ch[l], ch[l], E))
            c = ch[l]
            self.up.append(level)
            if l > 0:
                self.upconv.append(nn.Conv2d(c, ch[l - 1], 3, 1, 1))
                c = ch[l - 1]
        self.out_gn, self.out_conv = nn.GroupNorm(groups_for(c), c), nn.Conv2d(c, 1, 3, 1, 1)

    def forward(self, x, t, y):
        half = self.c0 // 2
        freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        arg = t.float()[:, None] * freq[None, :]
        e = self.temb1(F.silu(self.temb0(torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)))) + self.label(y)
        e = F.silu(e)
        h = self.conv_in(x)
        skips = []
        for l in range(3):
            for blk in self.down[l]:
                h = blk(h, e)
            skips.append(h)
            if l < 2:
                h = self.downsample[l](h)
        h = self.mid(h, e)
        if self.attn is not None:
            h = self.attn(h)
        for i, l in enumerate((2, 1, 0)):
            h = torch.cat([h, skips[l]], dim=1)
            for blk in self.up[i]:
                h = blk(h, e)
            if l > 0:
                h = self.upconv[i](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.out_conv(F.silu(self.out_gn(h)))


def cosine_alpha_bar(T):
    f = [math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2 for t in range(T + 1)]
    ab, out = 1.0, []
    for t in range(T):
        ab *= 1.0 - min(1.0 - f[t + 1] / f[t], 0.999)
        out.append(ab)
    return torch.tensor(out, dtype=torch.float64)


def main():
    a = ARGS
    ch = [int(c) for c in a.channels.split(",")]
    while len(ch) < 3:
        ch.append(ch[-1])
    images, labels = pc.load_mnist_train(a.data)
    get = pc.batches(images.view(-1, 1, 28, 28), labels, a.batch)
    net = UNet(ch, a.blocks, a.attention)
    ema = UNet(ch, a.blocks, a.attention)
    ema.load_state_dict(net.state_dict())
    ema_params, params = list(ema.parameters()), list(net.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)
    ab = cosine_alpha_bar(a.timesteps)
    sab, s1m = ab.sqrt().float(), (1 - ab).sqrt().float()
    B = a.batch

    def step(i):
        x, y = get(i)
        t = torch.randint(0, a.timesteps, (B,))
        y = torch.where(torch.rand(B) < 0.1, torch.full_like(y, CLASSES), y)
        eps = torch.randn_like(x)
        xt = sab[t][:, None, None, None] * (2 * x - 1) + s1m[t][:, None, None, None] * eps
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(xt, t, y), eps)
        loss.backward()
        opt.step()
        with torch.no_grad():
            torch._foreach_mul_(ema_params, 0.999)
            torch._foreach_add_(ema_params, params, alpha=0.001)
        return loss.item()

    x0, l0 = get(0)
    fwd = pc.forward_flops(net, lambda: net(x0, torch.zeros(B, dtype=torch.long), l0)) / B
    steps, dt, loss = pc.time_steps(step, a)

    extra = {}
    if a.sample_steps > 0:
        n, S, T = a.sample_n, a.sample_steps, a.timesteps
        ts = [i * T // S for i in range(S)]
        lab = torch.cat([torch.arange(n) % CLASSES, torch.full((n,), CLASSES)])
        t0 = __import__("time").perf_counter()
        with torch.no_grad():
            x = torch.randn(n, 1, 28, 28)
            for i in reversed(range(S)):
                t = ts[i]
                a_t, a_prev = ab[t].item(), ab[ts[i - 1]].item() if i > 0 else 1.0
                e = ema(torch.cat([x, x]), torch.full((2 * n,), t), lab)
                e = e[n:] + 2.0 * (e[:n] - e[n:])
                x0p = ((x - math.sqrt(1 - a_t) * e) / math.sqrt(a_t)).clamp(-1, 1)
                e2 = (x - math.sqrt(a_t) * x0p) / math.sqrt(1 - a_t)
                x = math.sqrt(a_prev) * x0p + math.sqrt(1 - a_prev) * e2
        extra = {"sample_steps": S, "sample_n": n,
                 "sample_images_per_s": n / (__import__("time").perf_counter() - t0)}
    pc.report(a, "ddpm", steps, dt, loss, train_flops_per_image=3 * fwd, forward_flops=fwd, channels=a.channels,
              blocks=a.blocks, attention=a.attention, timesteps=a.timesteps, params=sum(p.numel() for p in params), **extra)


if __name__ == "__main__":
    main()

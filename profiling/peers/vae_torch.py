#!/usr/bin/python3
"""PyTorch peer of digitgen's MLP VAE, for the benchmark's same-run comparison on the CPU.

Same architecture as `digitgen train --model vae --hidden H --latent Z` (784-H-...-Z, two heads, Bernoulli
decoder, sum-reduced BCE + KL averaged over the batch), Adam 1e-3, on real MNIST training images. Prints one JSON
line with the threads and the BLAS library torch actually ran with (see peer_common.py for the thread and BLAS
conventions every peer follows). Run with /usr/bin/python3 (Debian's python3-torch).
"""
import peer_common as pc

_p = pc.parser(__doc__)
_p.add_argument("--hidden", default="400", help="hidden widths, encoder order, e.g. 512,256")
_p.add_argument("--latent", type=int, default=20)
ARGS = pc.setup(_p)

import torch  # noqa: E402  (after setup: thread variables first)
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
    images, labels = pc.load_mnist_train(a.data)
    get = pc.batches(images, labels, a.batch)
    model = Vae([int(h) for h in a.hidden.split(",")], a.latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(i):
        x, _ = get(i)
        logits, mu, logvar = model(x)
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + kl) / a.batch
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    # Training = forward + backward (data and weight gradients) = 3 x the forward's dense-layer FLOPs.
    flops = 3 * pc.forward_flops(model, lambda: model(get(0)[0])) / a.batch
    steps, dt, loss = pc.time_steps(step, a)
    pc.report(a, "vae", steps, dt, loss, train_flops_per_image=flops, hidden=a.hidden, latent=a.latent)


if __name__ == "__main__":
    main()

"""Reference Glow in PyTorch, built as FlowDesk's default Glow is, which follows openai/glow's
model.py: ActNorm with data init, LU 1x1 conv, affine coupling with sigmoid(raw + 2) whose
network is conv3x3 -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> zero conv (hidden convs
without bias, N(0, 0.05) weights), split with a learned conditional prior, and the paper's top
prior (a zero conv of zeros: a learned mean and log-std per channel). FlowDesk's benches run it
on the same images and settings to compare images/s and bits per dim.

  python3 bench/pytorch_glow.py train FOLDER --size 16 --channels 1 --levels 2 --depth 4 \
      --hidden 64 --batch 32 --steps 300 --lr 1e-3 --warmup 200 --seed 0 --eval FOLDER2
  python3 bench/pytorch_glow.py speed --size 32 --channels 3 --levels 3 --depth 4 --hidden 128 --batch 32

`train` stops after --steps or --minutes (wall clock, if given), whichever comes first, and
ends with {"done": true, "steps": ..., "seconds": ..., "eval_bpd": ...}.

`speed` times training steps on random images (after one warm-up step) and prints
{"img_per_s": ... (from the median step), "mean_img_per_s": ..., "cpu_ms": ... (the median step's
process CPU time), "threads": ..., "torch": ...};
`--threads` defaults to the machine's cores.
`npm run bench` runs it right after FlowDesk's own measurement of the same configuration.
Prints one JSON object per line.
"""
import json, math, os, time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from torch_harness import command_line, set_threads, time_speed

LOG2PI = math.log(2 * math.pi)


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("initialised", torch.tensor(0, dtype=torch.uint8))

    def forward(self, x):
        return self.normalise(x), x.shape[2] * x.shape[3] * self.logs.sum()

    def normalise(self, x):
        if self.initialised.item() == 0:
            with torch.no_grad():
                mean = x.mean(dim=(0, 2, 3), keepdim=True)
                std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
                self.loc.data.copy_(-mean)
                self.logs.data.copy_(-torch.log(std + 1e-6))
                self.initialised.fill_(1)
        return (x + self.loc) * torch.exp(self.logs)


class ConvActNorm(nn.Module):
    """openai/glow's conv2d: a convolution without bias, N(0, 0.05) weights, then ActNorm (no log-det)."""

    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
        nn.init.normal_(self.conv.weight, 0.0, 0.05)
        self.norm = ActNorm(cout)

    def forward(self, x):
        return self.norm.normalise(self.conv(x))


class InvConvLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64))
        p, l, u = torch.linalg.lu(q)
        s = torch.diag(u)
        self.register_buffer("p", p.float())
        self.register_buffer("sign", torch.sign(s).float())
        self.register_buffer("lmask", torch.tril(torch.ones(c, c), -1))
        self.register_buffer("eye", torch.eye(c))
        self.l = nn.Parameter(l.float())
        self.u = nn.Parameter(torch.triu(u, 1).float())
        self.logs = nn.Parameter(torch.log(torch.abs(s)).float())

    def forward(self, x):
        _, c, h, w = x.shape
        weight = self.p @ (self.l * self.lmask + self.eye) @ (self.u * self.lmask.T + torch.diag(self.sign * torch.exp(self.logs)))
        return F.conv2d(x, weight.view(c, c, 1, 1)), h * w * self.logs.sum()


class ZeroConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv.weight.data.zero_()
        self.conv.bias.data.zero_()
        self.logs = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x):
        return self.conv(x) * torch.exp(self.logs * 3)


class Coupling(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.net = nn.Sequential(ConvActNorm(c // 2, hidden, 3), nn.ReLU(), ConvActNorm(hidden, hidden, 1), nn.ReLU(), ZeroConv(hidden, c))

    def forward(self, x):
        a, b = x.chunk(2, 1)
        shift, raw = self.net(a).chunk(2, 1)
        s = torch.sigmoid(raw + 2)
        return torch.cat([a, (b + shift) * s], 1), torch.log(s).flatten(1).sum(1)


def squeeze(x):
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, c * 4, h // 2, w // 2)


def gaussian_logp(z, mean, logs):
    return (-0.5 * (LOG2PI + 2 * logs + (z - mean) ** 2 * torch.exp(-2 * logs))).flatten(1).sum(1)


class Glow(nn.Module):
    def __init__(self, size, channels, levels, depth, hidden):
        super().__init__()
        self.levels = nn.ModuleList()
        self.priors = nn.ModuleList()
        c, s = channels, size
        for i in range(levels):
            c, s = c * 4, s // 2
            self.levels.append(nn.ModuleList([m for _ in range(depth) for m in (ActNorm(c), InvConvLU(c), Coupling(c, hidden))]))
            if i < levels - 1:
                self.priors.append(ZeroConv(c // 2, c))
                c //= 2
        # openai/glow's prior with learntop: conv2d_zeros of zeros is its bias times exp(3 * logs).
        self.top_bias = nn.Parameter(torch.zeros(1, 2 * c, 1, 1))
        self.top_logs = nn.Parameter(torch.zeros(1, 2 * c, 1, 1))

    def forward(self, x):
        logdet = torch.zeros(x.shape[0], device=x.device)
        logp = torch.zeros(x.shape[0], device=x.device)
        h = x
        for i, layers in enumerate(self.levels):
            h = squeeze(h)
            for layer in layers:
                h, ld = layer(h)
                logdet = logdet + ld
            if i < len(self.levels) - 1:
                h, z = h.chunk(2, 1)
                mean, logs = self.priors[i](h).chunk(2, 1)
                logp = logp + gaussian_logp(z, mean, logs)
            else:
                mean, logs = (self.top_bias * torch.exp(self.top_logs * 3)).chunk(2, 1)
                logp = logp + gaussian_logp(h, mean, logs)
        return logp + logdet


def bpd(model, x, n_bits):
    d = x[0].numel()
    return -model(x) / (d * math.log(2)) + n_bits


def load_folder(folder, size, channels):
    from PIL import Image, ImageOps
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs if not f.startswith("."))
    images = []
    for p in paths:
        try:
            img = Image.open(p)
            img = ImageOps.exif_transpose(img).convert("L" if channels == 1 else "RGB")
        except Exception:
            continue
        img = ImageOps.fit(img, (size, size), Image.LANCZOS)
        a = np.asarray(img, dtype=np.uint8)
        images.append(a[None] if channels == 1 else a.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(images))


def dequantize(p, n_bits):
    bins = 2 ** n_bits
    x = torch.floor(p.float() / 2 ** (8 - n_bits))
    return (x + torch.rand_like(x)) / bins - 0.5


def make_model(a):
    return Glow(a.size, a.channels, a.levels, a.depth, a.hidden)


def train(a):
    set_threads(a.threads)
    torch.manual_seed(a.seed)
    data = load_folder(a.folder, a.size, a.channels)
    model = make_model(a)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    with torch.no_grad():
        model(dequantize(data[torch.randperm(len(data))[:128]], a.n_bits))
    evalset = load_folder(a.eval, a.size, a.channels) if a.eval else None

    def evaluate():
        with torch.no_grad():
            torch.manual_seed(1234)
            return float(torch.cat([bpd(model, dequantize(evalset[i:i + 256], a.n_bits), a.n_bits) for i in range(0, len(evalset), 256)]).mean())

    if evalset is not None:
        print(json.dumps({"step": 0, "eval_bpd": evaluate()}), flush=True)
    start = time.time()
    perm, pos = torch.randperm(len(data)), 0
    step = 0
    while step < a.steps and (a.minutes is None or time.time() - start < a.minutes * 60):
        step += 1
        if pos + a.batch > len(data):
            perm, pos = torch.randperm(len(data)), 0
        x = dequantize(data[perm[pos:pos + a.batch]], a.n_bits)
        pos += a.batch
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, step / a.warmup) if a.warmup > 0 else a.lr
        loss = bpd(model, x, a.n_bits).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        opt.step()
        if step % 50 == 0 or step == a.steps:
            print(json.dumps({"step": step, "loss": float(loss)}), flush=True)
    result = {"done": True, "steps": step, "seconds": time.time() - start, "threads": torch.get_num_threads()}
    if evalset is not None:
        result["eval_bpd"] = evaluate()
    print(json.dumps(result), flush=True)


def speed(a):
    """Images/s of a training step ("speed"), or of bits per dim alone as evaluation runs it ("forward-speed")."""
    set_threads(a.threads)
    torch.manual_seed(0)
    model = make_model(a)
    x = torch.rand(a.batch, a.channels, a.size, a.size) - 0.5
    with torch.no_grad():
        model(x)
    time_speed(a.mode, model, bpd, x.shape, a.batch, a.steps)


if __name__ == "__main__":
    a = command_line(
        ["train", "speed", "forward-speed"],
        {"size": 32, "channels": 3, "levels": 3, "depth": 4, "hidden": 128, "batch": 32, "steps": 3, "warmup": 200, "seed": 0, "n_bits": 8, "threads": 0},
        {"lr": 1e-3, "minutes": None},
        ["eval"],
    )
    train(a) if a.mode == "train" else speed(a)

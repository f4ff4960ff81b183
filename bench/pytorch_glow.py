"""FlowDesk's default Glow in PyTorch, new and trained from scratch (the model code is the PyTorch
package's, main/engine/export/pytorch/flowdesk_glow.py), which follows openai/glow's model.py: ActNorm with data init, LU 1x1 conv, affine coupling with sigmoid(raw + 2) whose
network is conv3x3 -> ActNorm -> ReLU -> conv1x1 -> ActNorm -> ReLU -> zero conv (hidden convs
without bias, N(0, 0.05) weights), split with a learned conditional prior, and the paper's top
prior (a zero conv of zeros: a learned mean and log-std per channel). FlowDesk's benches run it
on the same images and settings to compare images/s and bits per dim.

  python3 bench/pytorch_glow.py train FOLDER --size 16 --channels 1 --levels 2 --depth 4 \
      --hidden 64 --batch 32 --steps 300 --lr 1e-3 --warmup 200 --seed 0 --clip-norm 50 --eval FOLDER2
  python3 bench/pytorch_glow.py speed --size 32 --channels 3 --levels 3 --depth 4 --hidden 128 --batch 32 --clip-norm 50

`train` stops after --steps or --minutes (wall clock, if given), whichever comes first, and
ends with {"done": true, "steps": ..., "seconds": ..., "eval_bpd": ...}.

Both clip the global gradient norm to --clip-norm before Adam, as FlowDesk's step does (the bench
passes FlowDesk's clipNorm).
`speed` times training steps on random images (after one warm-up step) and prints
{"img_per_s": ... (from the median step), "mean_img_per_s": ..., "cpu_ms": ... (the median step's
process CPU time), "threads": ..., "torch": ...};
`--threads` defaults to the machine's cores. With `--paired` it takes one step per line it reads
instead (torch_harness.serve_steps): `npm run bench` runs it so, a FlowDesk step and a PyTorch
step in turn on the same configuration.
Prints one JSON object per line.
"""
import json, math, os, time

import numpy as np
import torch
from torch import nn

from torch_harness import command_line, set_threads, time_speed

# The one Glow in Python: the PyTorch package's (flowdesk export --pytorch), on the path torch_harness sets.
from flowdesk_glow import glow_forward, new_glow  # noqa: E402


class Glow(nn.Module):
    """A new default Glow (flowdesk_glow.new_glow) whose first forward pass initialises ActNorm from its batch."""

    def __init__(self, size, channels, levels, depth, hidden):
        super().__init__()
        self.cfg = {"kind": "glow", "size": size, "channels": channels, "levels": levels, "depth": depth, "hidden": hidden,
                    "permutation": "invconv", "coupling": "affine", "couplingNet": "actnorm", "topPrior": "channel", "classes": 0}
        params, buffers = new_glow(self.cfg)
        self.weights = nn.ParameterList([nn.Parameter(t) for t in params.values()])
        for i, t in enumerate(buffers.values()):
            self.register_buffer(f"buffer{i}", t)
        # glow_forward's tensors by FlowDesk name, built once: the optimizer updates these same tensors in place.
        self.tensors = {**dict(zip(params, self.weights)), **dict(zip(buffers, self.buffers()))}
        self.initialised = False

    def forward(self, x):
        """log p(x) per image of NCHW x, in nats."""
        init, self.initialised = not self.initialised, True
        return glow_forward(self.tensors, self.cfg, x, init=init)[0]


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
    if a.clip_norm is None:
        raise SystemExit("train needs --clip-norm: FlowDesk's gradient clip (its clipNorm setting)")
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
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
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
    time_speed(a.mode, model, bpd, x.shape, a.batch, a.steps, a.clip_norm, a.paired)


if __name__ == "__main__":
    a = command_line(
        ["train", "speed", "forward-speed"],
        {"size": 32, "channels": 3, "levels": 3, "depth": 4, "hidden": 128, "batch": 32, "steps": 3, "warmup": 200, "seed": 0, "n_bits": 8, "threads": 0},
        {"lr": 1e-3, "minutes": None, "clip_norm": None},
        ["eval"],
    )
    train(a) if a.mode == "train" else speed(a)

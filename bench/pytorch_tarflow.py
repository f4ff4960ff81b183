"""Reference TarFlow in PyTorch, built as FlowDesk's TarFlow is (the FlowDesk TarFlow spec, after
apple/ml-tarflow's transformer_flow.py): NHWC images patchified row-major, B flow blocks of a causal
Transformer (pre-norm, attention written out since torch 1.13 has no fused attention, exact GELU,
MLP x4) whose shifted outputs give each patch's log-scale and shift from the patches before it, the
order reversed in odd blocks, a standard-normal prior. Weights are [in, out] matrices named as in
FlowDesk's weights.safetensors, so a FlowDesk model folder loads here as it is.

  python3 bench/pytorch_tarflow.py speed --size 32 --channels 3 --patch 4 --depth 4 --hidden 128 \
      --attn-layers 1 --head-dim 64 --batch 32 --steps 5 --threads 2
  python3 bench/pytorch_tarflow.py logprob MODEL_DIR --images IMAGES.safetensors --threads 1

`speed` and `forward-speed` print the same line as pytorch_glow.py's (torch_harness.print_speed):
a training step (bits per dim, Adam) or bits per dim alone, on random images.
`logprob` loads MODEL_DIR (model.json + weights.safetensors) and the dequantized images in
model space (tensor "x" [N, H, W, C] float32 of a safetensors file), and prints
{"logprob": [...]} (nats per image, computed in float64).
"""
import json, math, os

import torch
from torch import nn
from torch.nn import functional as F

from torch_harness import command_line, read_safetensors, set_threads, time_speed

LOG2PI = math.log(2 * math.pi)
MLP_EXPANSION = 4


class Dense(nn.Module):
    """x w + b with w [in, out], FlowDesk's layout; weights N(0, 0.02^2), bias 0 (or both 0).

    Computed as a 1x1 convolution along the sequence: Debian's torch links the reference BLAS
    (torch.__config__.show(): BLAS_INFO=generic), where x @ w forward and backward ran 12x slower
    than this, which goes through oneDNN as Glow's convolutions do (x [32, 64, 128], w [128, 512])."""

    def __init__(self, cin, cout, zero=False):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(cin, cout) if zero else torch.randn(cin, cout) * 0.02)
        self.b = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        """x [N, T, in] -> [N, T, out]."""
        (n, t, _), (cin, cout) = x.shape, self.w.shape
        y = F.conv2d(x.transpose(1, 2).reshape(n, cin, t, 1), self.w.t().reshape(cout, cin, 1, 1), self.b)
        return y.reshape(n, cout, t).transpose(1, 2)


class Norm(nn.Module):
    """LayerNorm over the last axis, eps 1e-5, gain g and bias b."""

    def __init__(self, w):
        super().__init__()
        self.g = nn.Parameter(torch.ones(w))
        self.b = nn.Parameter(torch.zeros(w))

    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], self.g, self.b, 1e-5)


class Layer(nn.Module):
    """One pre-norm Transformer layer: causal multi-head attention, then the MLP, each residual."""

    def __init__(self, w, head_dim):
        super().__init__()
        self.heads, self.head_dim = w // head_dim, head_dim
        self.norm1, self.qkv, self.proj = Norm(w), Dense(w, 3 * w), Dense(w, w)
        self.norm2, self.mlp1, self.mlp2 = Norm(w), Dense(w, MLP_EXPANSION * w), Dense(MLP_EXPANSION * w, w)

    def split_heads(self, x):
        n, t, _ = x.shape
        return x.view(n, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, h, cache=None):
        """h [N, T, w]: without `cache`, every position under the causal mask; with one (a list
        holding this layer's earlier keys and values), h holds the next position alone."""
        q, k, v = (self.split_heads(part) for part in self.qkv(self.norm1(h)).chunk(3, dim=-1))
        if cache is not None:
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if cache is None:
            t = h.shape[1]
            causal = torch.ones(t, t, dtype=torch.bool, device=h.device).tril()
            scores = scores.masked_fill(~causal, -1e9)
        o = (scores.softmax(-1) @ v).transpose(1, 2).reshape(h.shape)
        h = h + self.proj(o)
        return h + self.mlp2(F.gelu(self.mlp1(self.norm2(h))))


class Block(nn.Module):
    """One flow block: an affine autoregressive transform of the patch sequence in its own order."""

    def __init__(self, d, t, w, layers, head_dim, reversed_order):
        super().__init__()
        self.d, self.reversed_order = d, reversed_order
        self.add_module("in", Dense(d, w))  # FlowDesk's name `block{b}.in`, a Python keyword
        self.pos = nn.Parameter(torch.randn(t, w) * 0.01)
        for l in range(layers):
            self.add_module(f"layer{l}", Layer(w, head_dim))
        self.out = Dense(w, 2 * d, zero=True)

    def layers(self):
        return [m for name, m in self.named_children() if name.startswith("layer")]

    def order(self, x):
        return x.flip(1) if self.reversed_order else x

    def net(self, x):
        """The Transformer's output at every position of x [N, T', D] (T' <= T), before the shift."""
        # pos[i] joins position i of the block's order, as the spec reads (apple's code reverses
        # pos with the patches instead): the same model either way, but not the same weights.
        h = self._modules["in"](x) + self.pos[: x.shape[1]]
        for layer in self.layers():
            h = layer(h)
        return self.out(h)

    def forward(self, x):
        """x [N, T, D] in the model's order -> z and log|det| per example."""
        x = self.order(x)
        out = self.net(x)
        shifted = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], 1)
        alpha, mu = shifted[..., : self.d], shifted[..., self.d :]
        return self.order((x - mu) * torch.exp(-alpha)), -alpha.flatten(1).sum(1)

    def inverse(self, z, cached=True):
        """z [N, T, D] -> x, patch by patch: with `cached`, each layer keeps the keys and values of
        the positions done; without, the block reruns on the whole prefix each time."""
        z = self.order(z)
        x = z.clone()
        caches = [[] for _ in self.layers()]
        for i in range(z.shape[1] - 1):
            if cached:
                h = self._modules["in"](x[:, i : i + 1]) + self.pos[i : i + 1]
                for layer, cache in zip(self.layers(), caches):
                    h = layer(h, cache)
                out = self.out(h)[:, 0]
            else:
                out = self.net(x[:, : i + 1])[:, i]
            alpha, mu = out[:, : self.d], out[:, self.d :]
            x[:, i + 1] = z[:, i + 1] * torch.exp(alpha) + mu
        return self.order(x)


class TarFlow(nn.Module):
    def __init__(self, size, channels, patch, depth, hidden, attn_layers, head_dim):
        super().__init__()
        if size % patch or hidden % head_dim:
            raise SystemExit(f"size {size} must be divisible by patch {patch}, and hidden {hidden} by head-dim {head_dim}")
        self.size, self.channels, self.patch = size, channels, patch
        t, d = (size // patch) ** 2, patch * patch * channels
        for b in range(depth):
            self.add_module(f"block{b}", Block(d, t, hidden, attn_layers, head_dim, b % 2 == 1))

    def blocks(self):
        return list(self.children())

    def patchify(self, x):
        """[N, H, W, C] -> [N, T, D]: patches row-major, values (row, column, channel) inside each."""
        n, p, s = x.shape[0], self.patch, self.size // self.patch
        return x.reshape(n, s, p, s, p, self.channels).permute(0, 1, 3, 2, 4, 5).reshape(n, s * s, p * p * self.channels)

    def unpatchify(self, x):
        n, p, s = x.shape[0], self.patch, self.size // self.patch
        return x.reshape(n, s, s, p, p, self.channels).permute(0, 1, 3, 2, 4, 5).reshape(n, self.size, self.size, self.channels)

    def forward(self, x):
        """x [N, H, W, C] in model space -> (z [N, T, D], sum of the blocks' log|det|)."""
        z = self.patchify(x)
        logdet = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for block in self.blocks():
            z, ld = block(z)
            logdet = logdet + ld
        return z, logdet

    def log_prob(self, x):
        z, logdet = self(x)
        return -0.5 * (z**2 + LOG2PI).flatten(1).sum(1) + logdet

    def inverse(self, z, cached=True):
        for block in reversed(self.blocks()):
            z = block.inverse(z, cached)
        return self.unpatchify(z)


def bpd(model, x, n_bits):
    d = x[0].numel()
    return -model.log_prob(x) / (d * math.log(2)) + n_bits


def model_of(a):
    return TarFlow(a.size, a.channels, a.patch, a.depth, a.hidden, a.attn_layers, a.head_dim)


def load_model_folder(folder):
    """A FlowDesk model folder's TarFlow with its weights, checked name by name and shape by shape."""
    with open(os.path.join(folder, "model.json")) as f:
        config = json.load(f)["config"]
    if config.get("kind") != "tarflow":
        raise SystemExit(f"{folder}/model.json: config.kind is {config.get('kind')!r}; this reference builds TarFlow models only")
    model = TarFlow(config["size"], config["channels"], config["patch"], config["depth"], config["hidden"], config["attnLayers"], config["headDim"])
    model.load_state_dict(read_safetensors(os.path.join(folder, "weights.safetensors")), strict=True)
    return model


def logprob(a):
    if not a.folder or not a.images:
        raise SystemExit("logprob needs a model folder and --images FILE.safetensors (tensor x [N, H, W, C] float32)")
    set_threads(a.threads)
    model = load_model_folder(a.folder).double()
    x = read_safetensors(a.images)["x"].double()
    with torch.no_grad():
        print(json.dumps({"logprob": model.log_prob(x).tolist()}), flush=True)


def speed(a):
    """Images/s of a training step ("speed"), or of bits per dim alone ("forward-speed")."""
    set_threads(a.threads)
    torch.manual_seed(0)
    model = model_of(a)
    time_speed(a.mode, model, bpd, (a.batch, a.size, a.size, a.channels), a.batch, a.steps)


if __name__ == "__main__":
    a = command_line(
        ["speed", "forward-speed", "logprob"],
        {"size": 32, "channels": 3, "patch": 4, "depth": 4, "hidden": 128, "attn_layers": 1, "head_dim": 64, "batch": 32, "steps": 3, "threads": 0},
        strings=["images"],
    )
    logprob(a) if a.mode == "logprob" else speed(a)

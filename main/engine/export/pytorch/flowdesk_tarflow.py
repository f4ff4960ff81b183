"""FlowDesk's TarFlow in PyTorch (models/tarflow.ts, flows/tarflow/; after apple/ml-tarflow's
transformer_flow.py): NHWC images patchified row-major, B flow blocks of a causal Transformer
(pre-norm, attention written out since torch 1.13 has no fused attention, exact GELU, MLP x4)
whose shifted outputs give each patch's log-scale and shift from the patches before it, the order
reversed in odd blocks, a standard-normal prior, and with classes a class embedding added to every
block's input. Weights are [in, out] matrices named as in FlowDesk's weights.safetensors
(docs/checkpoint-format.md), so a FlowDesk model folder loads as it is. bench/pytorch_tarflow.py
builds its reference from these modules; the package scores with tarflow_forward.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

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

    def __init__(self, d, t, w, layers, head_dim, reversed_order, classes=0):
        super().__init__()
        self.d, self.reversed_order, self.classes = d, reversed_order, classes
        self.add_module("in", Dense(d, w))  # FlowDesk's name `block{b}.in`, a Python keyword
        self.pos = nn.Parameter(torch.randn(t, w) * 0.01)
        if classes:
            # FlowDesk's `block{b}.class` [K, w], zero at first: an untrained conditional block is the unconditional one.
            self.register_parameter("class", nn.Parameter(torch.zeros(classes, w)))
        for l in range(layers):
            self.add_module(f"layer{l}", Layer(w, head_dim))
        self.out = Dense(w, 2 * d, zero=True)

    def layers(self):
        return [m for name, m in self.named_children() if name.startswith("layer")]

    def order(self, x):
        return x.flip(1) if self.reversed_order else x

    def embedded(self, x, pos, classes):
        """x Win + bin + pos, plus each row's class embedding (one-hot `classes` [N, K]; an all-zero row or None: no class)."""
        h = self._modules["in"](x) + pos
        if classes is not None and self.classes:
            # getattr, not _parameters: functional_call swaps the tensor in as an attribute.
            h = h + (classes @ getattr(self, "class"))[:, None]
        return h

    def net(self, x, classes=None):
        """The Transformer's output at every position of x [N, T', D] (T' <= T), before the shift."""
        # pos[i] joins position i of the block's order, as FlowDesk's spec reads (apple's code
        # reverses pos with the patches instead): the same model either way, not the same weights.
        h = self.embedded(x, self.pos[: x.shape[1]], classes)
        for layer in self.layers():
            h = layer(h)
        return self.out(h)

    def forward(self, x, classes=None):
        """x [N, T, D] in the model's order -> z and log|det| per example."""
        x = self.order(x)
        out = self.net(x, classes)
        shifted = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], 1)
        alpha, mu = shifted[..., : self.d], shifted[..., self.d :]
        return self.order((x - mu) * torch.exp(-alpha)), -alpha.flatten(1).sum(1)

    def inverse(self, z, cached=True, classes=None):
        """z [N, T, D] -> x, patch by patch: with `cached`, each layer keeps the keys and values of
        the positions done; without, the block reruns on the whole prefix each time."""
        z = self.order(z)
        x = z.clone()
        caches = [[] for _ in self.layers()]
        for i in range(z.shape[1] - 1):
            if cached:
                h = self.embedded(x[:, i : i + 1], self.pos[i : i + 1], classes)
                for layer, cache in zip(self.layers(), caches):
                    h = layer(h, cache)
                out = self.out(h)[:, 0]
            else:
                out = self.net(x[:, : i + 1], classes)[:, i]
            alpha, mu = out[:, : self.d], out[:, self.d :]
            x[:, i + 1] = z[:, i + 1] * torch.exp(alpha) + mu
        return self.order(x)


class TarFlow(nn.Module):
    def __init__(self, size, channels, patch, depth, hidden, attn_layers, head_dim, classes=0):
        super().__init__()
        if size % patch or hidden % head_dim:
            raise SystemExit(f"size {size} must be divisible by patch {patch}, and hidden {hidden} by head-dim {head_dim}")
        self.size, self.channels, self.patch = size, channels, patch
        t, d = (size // patch) ** 2, patch * patch * channels
        for b in range(depth):
            self.add_module(f"block{b}", Block(d, t, hidden, attn_layers, head_dim, b % 2 == 1, classes))

    def blocks(self):
        return list(self.children())

    def patchify(self, x):
        """[N, H, W, C] -> [N, T, D]: patches row-major, values (row, column, channel) inside each."""
        n, p, s = x.shape[0], self.patch, self.size // self.patch
        return x.reshape(n, s, p, s, p, self.channels).permute(0, 1, 3, 2, 4, 5).reshape(n, s * s, p * p * self.channels)

    def unpatchify(self, x):
        n, p, s = x.shape[0], self.patch, self.size // self.patch
        return x.reshape(n, s, s, p, p, self.channels).permute(0, 1, 3, 2, 4, 5).reshape(n, self.size, self.size, self.channels)

    def forward(self, x, classes=None, layer_log_dets=None):
        """x [N, H, W, C] in model space -> (z [N, T, D], sum of the blocks' log|det|); with a list
        `layer_log_dets`, appends (block name, its log|det| per image) for every block."""
        z = self.patchify(x)
        logdet = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for name, block in self.named_children():
            z, ld = block(z, classes)
            logdet = logdet + ld
            if layer_log_dets is not None:
                layer_log_dets.append((name, ld))
        return z, logdet

    def log_prob(self, x, classes=None):
        z, logdet = self(x, classes)
        return -0.5 * (z**2 + LOG2PI).flatten(1).sum(1) + logdet

    def inverse(self, z, cached=True, classes=None):
        for block in reversed(self.blocks()):
            z = block.inverse(z, cached, classes)
        return self.unpatchify(z)


def tarflow_of(cfg):
    """A TarFlow of model.json's config (new weights)."""
    return TarFlow(cfg["size"], cfg["channels"], cfg["patch"], cfg["depth"], cfg["hidden"], cfg["attnLayers"], cfg["headDim"], cfg["classes"])


def check_tarflow(cfg, source):
    """Refuses a config whose patches or heads do not divide, naming the field."""
    if cfg["size"] % cfg["patch"]:
        raise SystemExit(f"{source}: config.patch {cfg['patch']} does not divide config.size {cfg['size']}")
    if cfg["hidden"] % cfg["headDim"]:
        raise SystemExit(f"{source}: config.headDim {cfg['headDim']} does not divide config.hidden {cfg['hidden']}")


# The function the tensors are swapped into: torch.func's where it exists (torch 2), else 1.13's.
try:
    from torch.func import functional_call
except ImportError:
    from torch.nn.utils.stateless import functional_call

_SHAPES = {}


def tarflow_forward(P, cfg, x, classes=None, layer_log_dets=None):
    """log p(x | classes) per image of NHWC x in nats, and the latent [N, T, D], with the tensors
    P (FlowDesk's names) in place of the module's own, so gradients reach P."""
    key = tuple(cfg[k] for k in ("size", "channels", "patch", "depth", "hidden", "attnLayers", "headDim", "classes"))
    if key not in _SHAPES:
        _SHAPES[key] = tarflow_of(cfg)
    model = _SHAPES[key]
    weights = {name: P[name] for name, _ in model.named_parameters()}
    z, logdet = functional_call(model, weights, (x, classes, layer_log_dets))
    return -0.5 * (z**2 + LOG2PI).flatten(1).sum(1) + logdet, z

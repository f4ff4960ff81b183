"""FlowDesk's Glow in PyTorch, rebuilt from model.json's config and weights.safetensors' tensors
under their FlowDesk names and layouts (docs/checkpoint-format.md, "Glow"): every coupling
(affine, additive, rational-quadratic spline) and permutation (invconv, shuffle, reverse), both
coupling networks (actnorm, bias), both top priors (channel, position) and class conditioning.
A new Glow can be built too (new_glow), for bench/pytorch_glow.py.
"""
import math

import torch
from torch.nn import functional as F

from flowdesk_layers import actnorm, class_prior, coupling, gaussian_log_density, per_channel, squeeze, zero_conv, LOGSCALE_FACTOR


def invconv_weight(P, name):
    """W = P (lower + I) (upper + diag(sign exp(logs))), P as the row gather row_order."""
    lower, upper = P[name + ".lower"], P[name + ".upper"]
    c = lower.shape[0]
    eye = torch.eye(c, dtype=lower.dtype, device=lower.device)
    l = torch.tril(lower, -1) + eye
    u = torch.triu(upper, 1) + torch.diag(P[name + ".sign"] * torch.exp(P[name + ".logs"]))
    return (l @ u)[P[name + ".row_order"].long()]


def step_layers(P, prefix, x, cfg, init=False, features=None):
    """One flow step (ActNorm, 1x1 conv or permutation, coupling; `features` a restoration model's at
    x's size): yields (layer name, output, log-det per image or None)."""
    hw = x.shape[2] * x.shape[3]
    name = prefix + ".actnorm"
    x, ld = actnorm(P, name, x, init)
    yield name, x, ld
    if cfg["permutation"] == "invconv":
        name = prefix + ".invconv"
        w = invconv_weight(P, name)
        x = F.conv2d(x, w[..., None, None])
        yield name, x, hw * P[name + ".logs"].sum()
    else:
        name = prefix + ".permute"
        x = x[:, P[name + ".perm"].long()]
        yield name, x, None
    name = prefix + ".coupling"
    x, ld = coupling(P, name, x, cfg, cfg["couplingNet"], init=init, features=features)
    yield name, x, ld


def glow_forward(P, cfg, x, classes=None, layer_log_dets=None, init=False, features=None):
    """log p(x | classes) per image of NCHW x in nats, and the top latent. With a list
    `layer_log_dets`, appends (name, log-det per image) for every layer; with `init`, every
    ActNorm is first set from its input (a new model's data-dependent initialisation).
    `features`: a restoration model's observation features (flowdesk_observation.py); level i's
    steps, after its squeeze, see those at index i + 1."""
    n = x.shape[0]
    logp = x.new_zeros(n)
    h = x
    for i in range(cfg["levels"]):
        h = squeeze(h)
        for k in range(cfg["depth"]):
            for name, h, ld in step_layers(P, f"levels.{i}.steps.{k}", h, cfg, init, features[i + 1] if features else None):
                if ld is not None:
                    logp = logp + ld
                if layer_log_dets is not None:
                    layer_log_dets.append((name, (ld if ld is not None else x.new_zeros(())).expand(n)))
        prior = f"levels.{i}.prior"
        if i < cfg["levels"] - 1:
            keep = h.shape[1] // 2
            h, z = h.split(keep, 1)
            logp = logp + gaussian_log_density(z, *zero_conv(P, prior, h).split(keep, 1))
        else:
            c = h.shape[1]
            if cfg["topPrior"] == "channel":
                top = P[prior + ".bias"] * torch.exp(P[prior + ".logs"] * LOGSCALE_FACTOR)
                mean, logs = (per_channel(t) for t in top.split(c))
            else:
                mean, logs = P[prior + ".mean"].permute(0, 3, 1, 2), P[prior + ".logs"].permute(0, 3, 1, 2)
            if classes is not None:
                mean, logs = class_prior(P, mean.expand(n, -1, -1, -1), logs.expand(n, -1, -1, -1), classes)
            logp = logp + gaussian_log_density(h, mean, logs)
    return logp, h


def net_outputs_per_value(cfg):
    return 3 * cfg["bins"] - 1 if cfg["coupling"] == "spline" else {"affine": 2, "additive": 1}[cfg["coupling"]]


def new_glow(cfg):
    """A new Glow's tensors under FlowDesk's names, drawn from torch's generator as FlowDesk's
    Glow starts (the LU 1x1 convolution from a random rotation, N(0, 0.05) weights before ActNorm
    or He's before a bias, zero convolutions and priors at zero): (trainable parameters, buffers).
    ActNorm still needs its data-dependent init (glow_forward with init=True). Unconditional."""
    params, buffers = {}, {}
    c, s, hid = cfg["channels"], cfg["size"], cfg["hidden"]
    paper = cfg["couplingNet"] == "actnorm"
    weights = lambda shape, fan_in: torch.randn(*shape) * (0.05 if paper else math.sqrt(2 / fan_in))
    zeros = lambda *shape: torch.zeros(*shape)
    for i in range(cfg["levels"]):
        c, s = c * 4, s // 2
        for k in range(cfg["depth"]):
            step = f"levels.{i}.steps.{k}"
            params.update({f"{step}.actnorm.bias": zeros(c), f"{step}.actnorm.logs": zeros(c)})
            if cfg["permutation"] == "invconv":
                q, _ = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64))
                p, lower, upper = torch.linalg.lu(q)
                d = torch.diag(upper)
                buffers.update({f"{step}.invconv.row_order": p.argmax(1).int(), f"{step}.invconv.sign": torch.sign(d).float()})
                params.update({f"{step}.invconv.lower": lower.float(), f"{step}.invconv.upper": torch.triu(upper, 1).float(), f"{step}.invconv.logs": torch.log(d.abs()).float()})
            else:
                buffers[f"{step}.permute.perm"] = (torch.randperm(c) if cfg["permutation"] == "shuffle" else torch.arange(c - 1, -1, -1)).int()
            split, net = (c + 1) // 2, f"{step}.coupling.net"
            params.update({f"{net}.conv1.weight": weights((3, 3, split, hid), 9 * split), f"{net}.conv2.weight": weights((hid, hid), hid)})
            for conv in ("conv1", "conv2"):
                params.update({f"{net}.{conv}.actnorm.bias": zeros(hid), f"{net}.{conv}.actnorm.logs": zeros(hid)} if paper else {f"{net}.{conv}.bias": zeros(hid)})
            out = net_outputs_per_value(cfg) * (c - split)
            params.update({f"{net}.conv3.weight": zeros(3, 3, hid, out), f"{net}.conv3.bias": zeros(out), f"{net}.conv3.logs": zeros(out)})
        prior = f"levels.{i}.prior"
        if i < cfg["levels"] - 1:
            params.update({f"{prior}.weight": zeros(3, 3, c // 2, c), f"{prior}.bias": zeros(c), f"{prior}.logs": zeros(c)})
            c //= 2
        elif cfg["topPrior"] == "channel":
            params.update({f"{prior}.bias": zeros(2 * c), f"{prior}.logs": zeros(2 * c)})
        else:
            params.update({f"{prior}.mean": zeros(1, s, s, c), f"{prior}.logs": zeros(1, s, s, c)})
    return params, buffers


GLOW_OPTIONS = (("coupling", ("affine", "additive", "spline")), ("permutation", ("invconv", "shuffle", "reverse")), ("couplingNet", ("actnorm", "bias")), ("topPrior", ("channel", "position")))


def check_options(cfg, source, options=GLOW_OPTIONS):
    """Refuses a model whose options this package does not implement (Glow's, or those given), naming the field."""
    for field, allowed in options:
        if cfg[field] not in allowed:
            raise SystemExit(f"{source}: config.{field} is {cfg[field]!r}; this package knows {', '.join(allowed)}.")

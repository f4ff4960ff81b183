"""FlowDesk's Glow in PyTorch, rebuilt from model.json's config and weights.safetensors' tensors
under their FlowDesk names and layouts (docs/checkpoint-format.md, "Glow"): every coupling
(affine, additive, rational-quadratic spline) and permutation (invconv, shuffle, reverse), both
coupling networks (actnorm, bias), both top priors (channel, position) and class conditioning. Parameters stay in
FlowDesk's layouts ([kh, kw, in, out] filters, [in, out] matrices) so checkpoints and optimizer
moments map one to one; activations are NCHW with FlowDesk's channel order.
"""
import math

import torch
from torch.nn import functional as F

from flowdesk_spline import spline_forward

LOG2PI = math.log(2 * math.pi)
LOGSCALE_FACTOR = 3.0
SCALE_OFFSET = 2.0


def conv3x3(x, w):
    """A 3x3 'same' convolution of NCHW x with a FlowDesk filter [3, 3, in, out]."""
    return F.conv2d(x, w.permute(3, 2, 0, 1), padding=1)


def conv1x1(x, w):
    """A 1x1 convolution with a FlowDesk matrix [in, out] (y = x W per pixel)."""
    return F.conv2d(x, w.t()[:, :, None, None])


def per_channel(v):
    return v.view(1, -1, 1, 1)


def zero_conv(P, name, x):
    """(conv3x3 + bias) * exp(3 logs): Glow's Conv2dZeros."""
    scale = torch.exp(P[name + ".logs"] * LOGSCALE_FACTOR)
    return (conv3x3(x, P[name + ".weight"]) + per_channel(P[name + ".bias"])) * per_channel(scale)


def squeeze(x):
    """[N, C, H, W] -> [N, 4C, H/2, W/2] with FlowDesk's channel order (c, dy, dx)."""
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, c * 4, h // 2, w // 2)


def gaussian_log_density(z, mean, logs):
    return (-0.5 * (((z - mean) * torch.exp(-logs)) ** 2 + 2 * logs + LOG2PI)).flatten(1).sum(1)


def initialise_actnorm(P, name, x):
    """ActNorm's data-dependent init (Glow, section 3.1): bias and scale that give `x` zero mean and unit variance per channel."""
    with torch.no_grad():
        P[name + ".bias"].copy_(-x.mean(dim=(0, 2, 3)))
        P[name + ".logs"].copy_(-torch.log(x.std(dim=(0, 2, 3), unbiased=False) + 1e-6))


def hidden(P, name, x, conv, net, init=False):
    """A coupling network's hidden layer: relu((conv + bias) exp(logs)) (actnorm) or relu(conv + bias)."""
    y = conv(x, P[name + ".weight"])
    if net == "actnorm":
        if init:
            initialise_actnorm(P, name + ".actnorm", y)
        return F.relu((y + per_channel(P[name + ".actnorm.bias"])) * per_channel(torch.exp(P[name + ".actnorm.logs"])))
    return F.relu(y + per_channel(P[name + ".bias"]))


def coupling(P, name, x, cfg, init=False):
    """Channel coupling: the first ceil(C/2) channels condition the rest."""
    c = x.shape[1]
    split = (c + 1) // 2
    a, b = x[:, :split], x[:, split:]
    h = hidden(P, name + ".net.conv1", a, conv3x3, cfg["couplingNet"], init)
    h = hidden(P, name + ".net.conv2", h, conv1x1, cfg["couplingNet"], init)
    h = zero_conv(P, name + ".net.conv3", h)
    if cfg["coupling"] == "additive":
        return torch.cat([a, b + h], 1), None
    if cfg["coupling"] == "spline":
        # Network channel c*P + p is value c's parameter p.
        n, cb, hh, ww = b.shape
        params = h.view(n, cb, -1, hh, ww).permute(0, 1, 3, 4, 2)
        y, log_slope = spline_forward(b, params, cfg["bins"], cfg["tailBound"])
        return torch.cat([a, y], 1), log_slope.flatten(1).sum(1)
    shift, raw = h[:, :c - split], h[:, c - split:] + SCALE_OFFSET
    log_scale = -F.softplus(-raw)
    return torch.cat([a, (b + shift) * torch.exp(log_scale)], 1), log_scale.flatten(1).sum(1)


def invconv_weight(P, name):
    """W = P (lower + I) (upper + diag(sign exp(logs))), P as the row gather row_order."""
    lower, upper = P[name + ".lower"], P[name + ".upper"]
    c = lower.shape[0]
    eye = torch.eye(c, dtype=lower.dtype, device=lower.device)
    l = torch.tril(lower, -1) + eye
    u = torch.triu(upper, 1) + torch.diag(P[name + ".sign"] * torch.exp(P[name + ".logs"]))
    return (l @ u)[P[name + ".row_order"].long()]


def step_layers(P, prefix, x, cfg, init=False):
    """One flow step (ActNorm, 1x1 conv or permutation, coupling): yields (layer name, output, log-det per image or None)."""
    hw = x.shape[2] * x.shape[3]
    name = prefix + ".actnorm"
    if init:
        initialise_actnorm(P, name, x)
    x = (x + per_channel(P[name + ".bias"])) * per_channel(torch.exp(P[name + ".logs"]))
    yield name, x, hw * P[name + ".logs"].sum()
    if cfg["permutation"] == "invconv":
        name = prefix + ".invconv"
        w = invconv_weight(P, name)
        x = F.conv2d(x, w[:, :, None, None])
        yield name, x, hw * P[name + ".logs"].sum()
    else:
        name = prefix + ".permute"
        x = x[:, P[name + ".perm"].long()]
        yield name, x, None
    name = prefix + ".coupling"
    x, ld = coupling(P, name, x, cfg, init)
    yield name, x, ld


def class_prior(P, mean, logs, classes):
    """The top prior shifted by the classes' embedding (one-hot rows; an all-zero row adds nothing)."""
    k = mean.shape[1]
    shift = (classes @ P["classes.embedding.weight"]) * torch.exp(P["classes.embedding.logs"] * LOGSCALE_FACTOR)
    return mean + shift[:, :k, None, None], logs + shift[:, k:, None, None]


def class_logits(P, top):
    """Class logits [n, K] from the top latent's mean over positions."""
    scale = torch.exp(P["classes.classifier.logs"] * LOGSCALE_FACTOR)
    return (top.mean(dim=(2, 3)) @ P["classes.classifier.weight"] + P["classes.classifier.bias"]) * scale


def glow_forward(P, cfg, x, classes=None, layer_log_dets=None, init=False):
    """log p(x | classes) per image of NCHW x in nats, and the top latent. With a list
    `layer_log_dets`, appends (name, log-det per image) for every layer; with `init`, every
    ActNorm is first set from its input (a new model's data-dependent initialisation)."""
    n = x.shape[0]
    logp = x.new_zeros(n)
    h = x
    for i in range(cfg["levels"]):
        h = squeeze(h)
        for k in range(cfg["depth"]):
            for name, h, ld in step_layers(P, f"levels.{i}.steps.{k}", h, cfg, init):
                if ld is not None:
                    logp = logp + ld
                if layer_log_dets is not None:
                    layer_log_dets.append((name, (ld if ld is not None else x.new_zeros(())).expand(n)))
        prior = f"levels.{i}.prior"
        if i < cfg["levels"] - 1:
            keep = h.shape[1] // 2
            out = zero_conv(P, prior, h[:, :keep])
            logp = logp + gaussian_log_density(h[:, keep:], out[:, :keep], out[:, keep:])
            h = h[:, :keep]
        else:
            c = h.shape[1]
            if cfg["topPrior"] == "channel":
                top = P[prior + ".bias"] * torch.exp(P[prior + ".logs"] * LOGSCALE_FACTOR)
                mean, logs = per_channel(top[:c]), per_channel(top[c:])
            else:
                mean, logs = P[prior + ".mean"].permute(0, 3, 1, 2), P[prior + ".logs"].permute(0, 3, 1, 2)
            if classes is not None:
                mean, logs = class_prior(P, mean.expand(n, -1, -1, -1), logs.expand(n, -1, -1, -1), classes)
            logp = logp + gaussian_log_density(h, mean, logs)
    return logp, h


def net_outputs_per_value(cfg):
    return {"affine": 2, "additive": 1}.get(cfg["coupling"], 3 * cfg.get("bins", 0) - 1)


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


def check_glow(cfg, source):
    """Refuses a Glow whose options this package does not implement, naming the field."""
    for field, allowed in (("coupling", ("affine", "additive", "spline")), ("permutation", ("invconv", "shuffle", "reverse")), ("couplingNet", ("actnorm", "bias")), ("topPrior", ("channel", "position"))):
        if cfg.get(field) not in allowed:
            raise SystemExit(f"{source}: config.{field} is {cfg.get(field)!r}; this package knows {', '.join(allowed)}.")

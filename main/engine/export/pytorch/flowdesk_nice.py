"""FlowDesk's NICE in PyTorch (main/engine/models/nice.ts; docs/checkpoint-format.md, "NICE"):
the image flattened in NHWC order and viewed as [D/2, 2] (even, odd values); coupling i adds an
MLP of one half (even for even i) to the other; then z = h exp(scaling.logs) under N(0, I).
"""
import torch
from torch.nn import functional as F

from flowdesk_layers import gaussian_log_density


def nice_forward(P, cfg, x, classes=None, layer_log_dets=None):
    """log p(x) per image of NHWC x in nats, and the latent (flat)."""
    n = x.shape[0]
    h = x.reshape(n, -1, 2)
    even, odd = h[..., 0], h[..., 1]
    for i in range(cfg["depth"]):
        flip = i % 2 == 1
        m = odd if flip else even
        for l in range(cfg["mlpLayers"] + 1):
            m = m @ P[f"couplings.{i}.mlp.{l}.weight"] + P[f"couplings.{i}.mlp.{l}.bias"]
            if l < cfg["mlpLayers"]:
                m = F.relu(m)
        if flip:
            even = even + m
        else:
            odd = odd + m
        if layer_log_dets is not None:
            layer_log_dets.append((f"couplings.{i}", x.new_zeros(n)))
    logs = P["scaling.logs"]
    z = torch.stack([even, odd], 2).reshape(n, -1) * torch.exp(logs)
    if layer_log_dets is not None:
        layer_log_dets.append(("scaling", logs.sum().expand(n)))
    return logs.sum() + gaussian_log_density(z, z.new_zeros(()), z.new_zeros(())), z

"""FlowDesk's RealNVP in PyTorch (main/engine/models/realnvp.ts; docs/checkpoint-format.md,
"RealNVP"): per scale but the last, `depth` checkerboard couplings, a squeeze, `depth` channel
couplings (odd ones condition on the second half), then half the channels factored out under
N(0, I); the last scale has depth + 1 checkerboard couplings and an N(0, I) prior (shifted by the
classes' embedding in a conditional model). ActNorm before every coupling; bias networks. A
restoration model's couplings also see the observation's features at their scale's size.
"""
from flowdesk_layers import actnorm, class_prior, coupling, gaussian_log_density, squeeze


def couplings(P, scope, x, cfg, count, mask, layers, features=None):
    """`count` (ActNorm, coupling) pairs; returns the output and their log-det per image."""
    logdet = x.new_zeros(x.shape[0])
    for k in range(count):
        name = f"{scope}.{k}.actnorm"
        x, ld = actnorm(P, name, x)
        logdet = logdet + ld
        if layers is not None:
            layers.append((name, ld.expand(x.shape[0])))
        name = f"{scope}.{k}.coupling"
        x, ld = coupling(P, name, x, cfg, "bias", mask, k % 2 == 1, features=features)
        if ld is not None:
            logdet = logdet + ld
        if layers is not None:
            layers.append((name, ld if ld is not None else x.new_zeros(x.shape[0])))
    return x, logdet


def realnvp_forward(P, cfg, x, classes=None, layer_log_dets=None, features=None):
    """log p(x | classes) per image of NCHW x in nats, and the top latent; `features` a restoration
    model's observation features, scale i's checkerboard couplings seeing index i, its channel ones i + 1."""
    at = lambda r: features[r] if features else None
    logp = x.new_zeros(x.shape[0])
    h = x
    for i in range(cfg["levels"]):
        last = i == cfg["levels"] - 1
        h, ld = couplings(P, f"levels.{i}.checkerboard", h, cfg, cfg["depth"] + (1 if last else 0), "checkerboard", layer_log_dets, at(i))
        logp = logp + ld
        if last:
            mean, logs = h.new_zeros(()), h.new_zeros(())
            if classes is not None:
                zeros = h.new_zeros(h.shape[0], h.shape[1], 1, 1)
                mean, logs = class_prior(P, zeros, zeros, classes)
            return logp + gaussian_log_density(h, mean, logs), h
        h, ld = couplings(P, f"levels.{i}.channel", squeeze(h), cfg, cfg["depth"], "channel", layer_log_dets, at(i + 1))
        keep = h.shape[1] // 2
        logp = logp + ld + gaussian_log_density(h[:, keep:], h.new_zeros(()), h.new_zeros(()))
        h = h[:, :keep]

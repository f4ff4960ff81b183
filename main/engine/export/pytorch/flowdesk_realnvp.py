"""FlowDesk's RealNVP in PyTorch (main/engine/models/realnvp.ts; docs/checkpoint-format.md,
"RealNVP"): per scale but the last, `depth` checkerboard couplings, a squeeze, `depth` channel
couplings (odd ones condition on the second half), then half the channels factored out under
N(0, I); the last scale has depth + 1 checkerboard couplings and an N(0, I) prior (shifted by the
classes' embedding in a conditional model). ActNorm before every coupling; bias networks.
"""
from flowdesk_layers import actnorm, class_prior, coupling, gaussian_log_density, squeeze


def couplings(P, scope, x, cfg, count, mask, layers):
    """`count` (ActNorm, coupling) pairs; returns the output and their log-det per image."""
    logdet = x.new_zeros(x.shape[0])
    for k in range(count):
        name = f"{scope}.{k}.actnorm"
        x, ld = actnorm(P, name, x)
        logdet = logdet + ld
        if layers is not None:
            layers.append((name, ld.expand(x.shape[0])))
        name = f"{scope}.{k}.coupling"
        x, ld = coupling(P, name, x, cfg, "bias", mask, k % 2 == 1)
        if ld is not None:
            logdet = logdet + ld
        if layers is not None:
            layers.append((name, ld if ld is not None else x.new_zeros(x.shape[0])))
    return x, logdet


def realnvp_forward(P, cfg, x, classes=None, layer_log_dets=None):
    """log p(x | classes) per image of NCHW x in nats, and the top latent."""
    logp = x.new_zeros(x.shape[0])
    h = x
    for i in range(cfg["levels"]):
        last = i == cfg["levels"] - 1
        h, ld = couplings(P, f"levels.{i}.checkerboard", h, cfg, cfg["depth"] + (1 if last else 0), "checkerboard", layer_log_dets)
        logp = logp + ld
        if last:
            mean, logs = h.new_zeros(()), h.new_zeros(())
            if classes is not None:
                zeros = h.new_zeros(h.shape[0], h.shape[1], 1, 1)
                mean, logs = class_prior(P, zeros, zeros, classes)
            return logp + gaussian_log_density(h, mean, logs), h
        h, ld = couplings(P, f"levels.{i}.channel", squeeze(h), cfg, cfg["depth"], "channel", layer_log_dets)
        keep = h.shape[1] // 2
        logp = logp + ld + gaussian_log_density(h[:, keep:], h.new_zeros(()), h.new_zeros(()))
        h = h[:, :keep]

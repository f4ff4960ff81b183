"""Validation as FlowDesk runs it (main/engine/train/evaluate.ts, class-evaluate.ts): the first
valImages images in order, batches of 64, dequantized from one stream seeded mix_seed(seed, 7);
a conditional model's figure is bits per dim given each image's class, with its unconditional
bits per dim and accuracy beside it; a restoration model's, bits per dim of p(x | y), each image's
degradation drawn from the scoring stream.
"""
import numpy as np
import torch

from flowdesk_model import bits_per_dim, class_scores, log_prob, noise_augmentation, scoring_kinds
from flowdesk_streams import draw_values, evaluation_batches, scoring_stream


@torch.no_grad()
def validate(P, cfg, n_bits, images, labels, train_cfg, frequencies, device):
    """{"valBpd"} (and "valBpdUnconditional", "valAccuracy" for a conditional model), of noised images for a model trained with noise augmentation."""
    given, uncond, correct, known = [], [], 0, 0
    scoring = scoring_stream(train_cfg["seed"])
    for start, x in evaluation_batches(images, n_bits, train_cfg["seed"], train_cfg["valImages"], noise=noise_augmentation(cfg)):
        x = torch.from_numpy(x).to(device)
        noise = [torch.from_numpy(v).to(device) for v in draw_values(scoring_kinds(cfg), len(x), scoring)]
        if cfg["classes"] == 0:
            uncond.append(bits_per_dim(log_prob(P, cfg, x, noise=noise)[0], x, n_bits).double().cpu())
            continue
        per_class, marginal = class_scores(P, cfg, x, n_bits, frequencies)
        uncond.append(marginal.cpu())
        truth = torch.as_tensor(labels[start:start + len(x)], dtype=torch.long)
        mask = truth >= 0
        if mask.any():
            given.append(per_class.cpu()[mask, truth[mask]])
            correct += int((per_class.cpu().argmin(1)[mask] == truth[mask]).sum())
            known += int(mask.sum())
    unconditional = float(torch.cat(uncond).mean())
    if cfg["classes"] == 0:
        return {"valBpd": unconditional}
    conditional = float(torch.cat(given).mean()) if given else None
    return {"valBpd": conditional if conditional is not None else unconditional, "valBpdUnconditional": unconditional, "valAccuracy": correct / known if known else None}

"""Validation as FlowDesk runs it (main/engine/train/evaluate.ts, class-evaluate.ts): the first
valImages images in order, batches of 64, dequantized from one stream seeded mix_seed(seed, 7),
with a model's scoring noise (flow matching's probes, a restoration model's degradation values, so
its figure is bits per dim of p(x | y)) from that seed's own stream; a conditional
model's figure is bits per dim given each image's class, with its unconditional bits per dim (and,
where p(x) sums over classes, accuracy) beside it.
"""
import torch

from flowdesk_model import MARGINAL_KINDS, bits_per_dim, class_count, class_scores, log_prob, noise_augmentation, one_hot, scoring_noise_kinds_of
from flowdesk_streams import draw_values, evaluation_batches, evaluation_seed, scoring_stream


@torch.no_grad()
def validate(P, cfg, n_bits, images, labels, train_cfg, frequencies, device):
    """{"valBpd"} (and "valBpdUnconditional", "valAccuracy" for a conditional model), of noised images for a model trained with noise augmentation."""
    given, uncond, correct, known = [], [], 0, 0
    kinds, scoring = scoring_noise_kinds_of(cfg), scoring_stream(evaluation_seed(train_cfg["seed"]))
    summed = cfg["kind"] in MARGINAL_KINDS
    for start, x in evaluation_batches(images, n_bits, train_cfg["seed"], train_cfg["valImages"], noise=noise_augmentation(cfg)):
        x = torch.from_numpy(x).to(device)
        noise = [torch.from_numpy(v).to(device) for v in draw_values(kinds, len(x), scoring)] if kinds else None
        bits = lambda classes=None: bits_per_dim(log_prob(P, cfg, x, classes, None, noise)[0], x, n_bits).double().cpu()
        if class_count(cfg) == 0:
            uncond.append(bits())
            continue
        truth = torch.as_tensor(labels[start:start + len(x)], dtype=torch.long)
        mask = truth >= 0
        if summed:
            per_class, marginal = class_scores(P, cfg, x, n_bits, frequencies)
            uncond.append(marginal.cpu())
            chosen = per_class.cpu()[mask, truth[mask]]
            correct += int((per_class.cpu().argmin(1)[mask] == truth[mask]).sum())
        else:
            # Flow matching: bits given the class (an unknown one scores under no class, set aside) and of the unconditional branch.
            chosen = bits(one_hot(truth, cfg["classes"], device))[mask]
            uncond.append(bits())
        if mask.any():
            given.append(chosen)
            known += int(mask.sum())
    unconditional = float(torch.cat(uncond).mean())
    if class_count(cfg) == 0:
        return {"valBpd": unconditional}
    conditional = float(torch.cat(given).mean()) if given else None
    accuracy = correct / known if summed and known else None
    return {"valBpd": conditional if conditional is not None else unconditional, "valBpdUnconditional": unconditional, "valAccuracy": accuracy}

"""Rebuilds a FlowDesk model from a model folder (model.json + a weights file) and scores images
with it: log p(x), bits per dim, and the training loss FlowDesk trains on (with the noise a kind
draws for it). model.json's config has every setting filled (`flowdesk export --pytorch` writes it
so; FlowDesk's common/settings/model-fields.ts owns the defaults): a setting it lacks is refused by name.
"""
import json, math, os

import torch
from torch.nn import functional as F

from flowdesk_fm import check_flow_matching, flow_matching_forward, flow_matching_loss, scoring_noise_kinds, training_noise_kinds
from flowdesk_glow import GLOW_OPTIONS, check_options, glow_forward
from flowdesk_layers import class_logits
from flowdesk_nice import nice_forward
from flowdesk_observation import check_restore_task, degradation_kinds, observation_features, restore_task
from flowdesk_realnvp import realnvp_forward
from flowdesk_safetensors import read_safetensors
from flowdesk_tarflow import check_tarflow, tarflow_forward

# Each takes NHWC images (FlowDesk's layout) and the images' scoring noise (flow matching's probes,
# a restoration model's degradation values; None: flow matching's seeded probes, the empty
# observation); the multiscale flows compute in NCHW.
FORWARDS = {
    "glow": lambda P, cfg, x, classes, layers, noise: glow_forward(P, cfg, x.permute(0, 3, 1, 2), classes, layers, features=observed(P, cfg, x, noise)),
    "realnvp": lambda P, cfg, x, classes, layers, noise: realnvp_forward(P, cfg, x.permute(0, 3, 1, 2), classes, layers, features=observed(P, cfg, x, noise)),
    "nice": lambda P, cfg, x, classes, layers, noise: nice_forward(P, cfg, x, classes, layers),
    "tarflow": lambda P, cfg, x, classes, layers, noise: tarflow_forward(P, cfg, x, classes, layers),
    "flow-matching": flow_matching_forward,
}
CHECKS = {
    "glow": check_options,
    "realnvp": lambda cfg, source: check_options(cfg, source, GLOW_OPTIONS[:1]),
    "nice": lambda cfg, source: None,
    "tarflow": check_tarflow,
    "flow-matching": check_flow_matching,
}
# Kinds that train on a loss of their own instead of their bits per dim: (per-image loss, its noise kinds, the metrics' lossKind).
OBJECTIVES = {"flow-matching": (flow_matching_loss, training_noise_kinds, "velocity-mse")}
# Kinds whose log p(x) takes per-image values an evaluation draws (flow matching's probes; a
# restoration model's degradation values, which it also trains on).
SCORING_NOISE = {"flow-matching": scoring_noise_kinds, "glow": degradation_kinds, "realnvp": degradation_kinds}
# Kinds with a class head (the top latent's class logits, weighted by classWeight in the loss).
CLASS_HEAD_KINDS = ("glow", "realnvp")
# Kinds whose p(x) without a class is the sum over classes; a conditional flow matching scores its unconditional branch instead (models/class-marginal.ts).
MARGINAL_KINDS = ("glow", "realnvp", "tarflow")
LABEL_DROPOUT_KINDS = ("tarflow", "flow-matching")


class Settings(dict):
    """Settings as the export wrote them (model.json's config, run.json's train): reading one they lack stops, naming it and the file."""

    def __init__(self, values, source, section):
        super().__init__(values)
        self.source, self.section = source, section

    def __missing__(self, key):
        raise SystemExit(f"{self.source}: {self.section}.{key} is missing; this package reads every setting from the files "
                         "`flowdesk export RUN --pytorch` writes, with none of its own. Export the run again.")


def read_model_json(path):
    """model.json's config (every setting filled by the export), nBits and class labels, checked for what this package runs."""
    with open(path) as f:
        doc = json.load(f)
    if doc.get("format") != "flowdesk.model" or doc.get("version") != 2:
        raise SystemExit(f"{path}: not a model.json as `flowdesk export RUN --pytorch` writes it (format flowdesk.model, version 2); export the run again")
    if not doc.get("initialised"):
        raise SystemExit(f"{path}: the model is not initialised (ActNorm's data init has not run); train it in FlowDesk first")
    cfg = Settings(doc["config"], path, "config")
    kind = cfg["kind"]
    if kind not in FORWARDS:
        raise SystemExit(f"{path}: config.kind is {kind!r}; this PyTorch package continues {', '.join(FORWARDS)} models. Continue this run in FlowDesk instead.")
    CHECKS[kind](cfg, path)
    check_restore_task(cfg, path)
    if class_count(cfg) > 0 and len(doc.get("classFrequencies", [])) != cfg["classes"]:
        raise SystemExit(f"{path}: a conditional model needs classFrequencies with {cfg['classes']} values")
    return cfg, doc["nBits"], doc


def class_count(cfg):
    """The model's classes; none for a kind without the setting (NICE), as FlowDesk's classCountOf."""
    return cfg["classes"] if "classes" in cfg else 0


def load_tensors(path, device):
    """A weights file's tensors as float32 (int32 buffers kept) torch tensors on `device`, and its metadata."""
    arrays, meta = read_safetensors(path)
    return {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}, meta


def noise_augmentation(cfg):
    """Standard deviation of the Gaussian noise added to training and validation images: TarFlow's `noise`, 0 for other kinds."""
    return cfg["noise"] if cfg["kind"] == "tarflow" else 0


def label_dropout(cfg):
    """The share of training images whose class a step hides: TarFlow's and flow matching's `labelDropout`, 0 for kinds without it."""
    return cfg["labelDropout"] if cfg["kind"] in LABEL_DROPOUT_KINDS else 0


def training_noise_kinds_of(cfg):
    """(values per image, distribution) of the noise a training step draws besides dequantization: an objective's,
    else the scoring noise a flow trains on (flow-model.ts trainingNoiseOf); [] for most flows."""
    return OBJECTIVES[cfg["kind"]][1](cfg) if cfg["kind"] in OBJECTIVES else scoring_noise_kinds_of(cfg)


def scoring_noise_kinds_of(cfg):
    """(values per image, distribution) of the values an evaluation draws per image for log p(x); [] for most flows."""
    return SCORING_NOISE[cfg["kind"]](cfg) if cfg["kind"] in SCORING_NOISE else []


def loss_kind(cfg):
    """What the metrics' train rows say the loss is (common/training-loss.ts)."""
    return OBJECTIVES[cfg["kind"]][2] if cfg["kind"] in OBJECTIVES else "bits-per-dim"


def observed(P, cfg, x, noise):
    """A restoration model's observation features of NHWC x and its degradation values (the empty observation's
    without them); None for a model without a task."""
    return None if restore_task(cfg) == "none" else observation_features(P, cfg, x, noise)


def log_prob(P, cfg, x, classes=None, layer_log_dets=None, noise=None):
    """log p(x | classes) in nats per image of NHWC x, and the top latent (NCHW for the multiscale flows, [N, T, D] for TarFlow);
    `noise`: the images' scoring noise [n, values] per kind, for a kind that has any (None: FlowDesk's seeded default)."""
    return FORWARDS[cfg["kind"]](P, cfg, x, classes, layer_log_dets, noise)


def bits_per_dim(logp, x, n_bits):
    d = x[0].numel()
    return -logp / (d * math.log(2)) + n_bits


def class_cross_entropy_bits(logits, classes):
    """Cross-entropy in bits per image; 0 for an all-zero row."""
    known = classes.sum(1)
    return (known * torch.logsumexp(logits, 1) - (classes * logits).sum(1)) / math.log(2)


def training_loss(P, cfg, x, n_bits, classes=None, noise=None):
    """What FlowDesk trains on per image: a kind's own objective on its `noise`, or bits per dim given the class
    (and a restoration model's observation, made from x and `noise`), plus (for kinds with a class head)
    classWeight times its cross-entropy."""
    if cfg["kind"] in OBJECTIVES:
        return OBJECTIVES[cfg["kind"]][0](P, cfg, x, noise, classes)
    logp, top = log_prob(P, cfg, x, classes, noise=noise)
    bits = bits_per_dim(logp, x, n_bits)
    if classes is None or cfg["kind"] not in CLASS_HEAD_KINDS or cfg["classWeight"] == 0:
        return bits
    return bits + cfg["classWeight"] * class_cross_entropy_bits(class_logits(P, top), classes)


def one_hot(labels, classes, device):
    """One-hot rows [n, K] of class indices; -1 (no class) gives an all-zero row."""
    labels = torch.as_tensor(labels, dtype=torch.long, device=device)
    out = F.one_hot(labels.clamp(min=0), classes).float()
    return out * (labels >= 0).float()[:, None]


def class_scores(P, cfg, x, n_bits, frequencies):
    """Bits per dim given each class [n, K] and the unconditional bits per dim (log p(x) = logsumexp_y log p(x|y) + log p(y))."""
    n, k = x.shape[0], class_count(cfg)
    per_class = []
    for y in range(k):
        classes = one_hot([y] * n, k, x.device)
        per_class.append(log_prob(P, cfg, x, classes)[0])
    logp = torch.stack(per_class, 1).double()
    prior = torch.log(torch.tensor(frequencies, dtype=torch.float64, device=x.device))
    d = x[0].numel()
    to_bits = lambda lp: -lp / (d * math.log(2)) + n_bits
    return to_bits(logp), to_bits(torch.logsumexp(logp + prior, 1))


def model_folder_files(folder):
    return os.path.join(folder, "model.json"), os.path.join(folder, "weights.safetensors")

"""Continues a FlowDesk run under torchrun with DistributedDataParallel (gloo on CPU, NCCL on GPUs).

  torchrun --standalone --nproc_per_node 2 --redirects 2 --tee 2 --log_dir logs train.py --steps 5000

The run is run/ beside this file (a FlowDesk run folder: run.json, metrics.jsonl, checkpoints/);
training resumes from its newest whole checkpoint with its weights, optimizer moments, step
count, learning-rate scale and weight average, and draws FlowDesk's batches for each step
(same images, mirroring, dequantization noise and, for flow matching, its x0 and t; a
restoration model's degradations). FlowDesk's
batch is split across the ranks (rank r takes rows [B r / W, B (r + 1) / W)), so the continuation
is the same computation as in FlowDesk, up to float rounding. Checkpoints, best weights and metrics are written in FlowDesk's
formats by rank 0. See README.md.
"""
import argparse, json, math, os, time

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from flowdesk_evaluate import validate
from flowdesk_model import Settings, class_count, label_dropout, load_tensors, loss_kind, noise_augmentation, one_hot, read_model_json, training_loss, training_noise_kinds_of
from flowdesk_optim import Optimizer, WeightAverage
from flowdesk_run import append_metric, checkpoint_steps, write_best, write_checkpoint, weights_meta
from flowdesk_safetensors import read_safetensors, write_file_synced
from flowdesk_streams import training_batch, training_labels, training_noise

HERE = os.path.dirname(os.path.abspath(__file__))


class Flow(nn.Module):
    """The model's trainable tensors as parameters (FlowDesk's names kept in `names`) and its buffers."""

    def __init__(self, tensors, trainable, cfg, n_bits):
        super().__init__()
        self.names = [n for n in tensors if n in trainable]
        self.weights = nn.ParameterList([nn.Parameter(tensors[n].float()) for n in self.names])
        self.buffers_by_name = {n: t for n, t in tensors.items() if n not in trainable}
        self.cfg, self.n_bits = cfg, n_bits

    def by_name(self):
        return {**self.buffers_by_name, **dict(zip(self.names, self.weights))}

    def forward(self, x, classes, noise, scale):
        """This rank's share of the batch's mean loss (`scale` = 1 / batch), and its summed loss."""
        per_image = training_loss(self.by_name(), self.cfg, x, self.n_bits, classes, noise)
        return per_image.sum() * scale, per_image.detach().sum()


def command_line():
    ap = argparse.ArgumentParser(description="Continue a FlowDesk run with DistributedDataParallel.")
    ap.add_argument("--run", default=os.path.join(HERE, "run"), help="the run folder (default: run/ beside train.py)")
    ap.add_argument("--data", default=os.path.join(HERE, "data"), help="the images as FlowDesk decoded them (default: data/)")
    ap.add_argument("--steps", type=int, help="the step count to reach (default: the run's own)")
    ap.add_argument("--minutes", type=float, help="stop after this many minutes of this session")
    ap.add_argument("--cpu", action="store_true", help="train on the CPU (gloo) even where CUDA is available")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads per process on the CPU (default: cores / local processes)")
    return ap.parse_args()


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_json_atomically(path, value):
    tmp = f"{path}.tmp-{os.getpid()}"
    write_file_synced(tmp, json.dumps(value, indent=2) + "\n")
    os.replace(tmp, path)


def start_processes(a):
    """(rank, world size, device): torchrun's environment, or one process without it."""
    cuda = torch.cuda.is_available() and not a.cpu
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if "RANK" in os.environ:
        dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(a.threads or max(1, (os.cpu_count() or 1) // local_world))
    return rank, world, torch.device("cpu")


def all_sum(value, device, world):
    t = torch.tensor([value], dtype=torch.float64, device=device)
    if world > 1:
        dist.all_reduce(t)
    return float(t.item())


def main():
    a = command_line()
    rank, world, device = start_processes(a)
    run_json = os.path.join(a.run, "run.json")
    run = read_json(run_json)
    train_cfg = run["train"] = Settings(run["train"], run_json, "train")
    opt_cfg = Settings(train_cfg["optimizer"], run_json, "train.optimizer")
    steps = checkpoint_steps(a.run)
    if not steps:
        raise SystemExit(f"{a.run} has no checkpoint to continue from")
    ckpt = os.path.join(a.run, "checkpoints", f"step-{steps[-1]}")
    cfg, n_bits, model_doc = read_model_json(os.path.join(ckpt, "model.json"))
    with open(os.path.join(ckpt, "model.json")) as f:
        model_json = f.read()
    tensors, _ = load_tensors(os.path.join(ckpt, "weights.safetensors"), device)
    opt_arrays, opt_meta = read_safetensors(os.path.join(ckpt, "optimizer.safetensors"))
    opt_state = {k: torch.from_numpy(v) for k, v in opt_arrays.items()}
    trainable = {k[2:] for k in opt_state if k.startswith("m/")}
    flow = Flow(tensors, trainable, cfg, n_bits).to(device)
    params = dict(zip(flow.names, flow.weights))
    optimizer = Optimizer(opt_cfg, params, opt_state, opt_meta, os.path.join(ckpt, "optimizer.safetensors"))
    average = None
    if train_cfg["emaDecay"] > 0:
        ema_path = os.path.join(ckpt, "ema.safetensors")
        saved, meta = load_tensors(ema_path, device) if os.path.exists(ema_path) else (None, None)
        average = WeightAverage(train_cfg["emaDecay"], params, saved, meta)
    state = read_json(os.path.join(ckpt, "state.json"))
    ddp = DistributedDataParallel(flow, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else flow

    images = np.load(os.path.join(a.data, "train-images.npy"))
    labels = np.load(os.path.join(a.data, "train-labels.npy"))
    val_images = np.load(os.path.join(a.data, "val-images.npy"))
    val_labels = np.load(os.path.join(a.data, "val-labels.npy"))
    target = a.steps if a.steps is not None else train_cfg["steps"]
    step = state["step"]
    if target <= step:
        raise SystemExit(f"the run is at step {step}; pass --steps with a larger step count to continue it")
    batch, seed = train_cfg["batch"], train_cfg["seed"]
    flip = train_cfg["flip"] == "on" or (train_cfg["flip"] == "auto" and cfg["channels"] == 3)
    lo, hi = batch * rank // world, batch * (rank + 1) // world
    frequencies = model_doc.get("classFrequencies")

    if rank == 0:
        train_cfg["steps"] = target
        run["backend"] = {"name": "pytorch", "torch": torch.__version__, "device": str(device), "worldSize": world}
        write_json_atomically(os.path.join(a.run, "run.json"), run)
    clock_start, elapsed_before = time.time(), state.get("elapsed", 0)
    elapsed = lambda: elapsed_before + time.time() - clock_start
    best = state.get("bestValBpd")
    last_val = state.get("valBpd")
    rate, bad_in_row = 0.0, 0

    def evaluate():
        nonlocal best, last_val
        weights = {**flow.buffers_by_name, **(average.averages if average else {k: p.detach() for k, p in params.items()})}
        figures = validate(weights, cfg, n_bits, val_images, val_labels, train_cfg, frequencies, device)
        last_val = figures["valBpd"]
        row = {"type": "eval", "step": step, **{k: v for k, v in figures.items() if v is not None}, "time": elapsed(), "weights": "avg" if average else "last"}
        append_metric(a.run, row)
        print(json.dumps(row), flush=True)
        if best is None or last_val < best:
            best = last_val
            write_best(a.run, model_json, weights, weights_meta("best", step, average.decay if average else None, last_val))

    def checkpoint():
        write_checkpoint(a.run, step, model_json, {**flow.buffers_by_name, **params}, optimizer.export_state(), average,
                         {"elapsed": elapsed(), "valBpd": last_val, "initialValBpd": state.get("initialValBpd"), "bestValBpd": best},
                         train_cfg["keepCheckpoints"])

    def time_up():
        # Every rank must stop at the same step (a rank left waiting in an all-reduce would hang): rank 0's clock decides.
        return a.minutes is not None and all_sum(float(rank == 0 and time.time() - clock_start >= a.minutes * 60), device, world) > 0

    while step < target and not time_up():
        t0 = time.time()
        x, idx = training_batch(images, batch, n_bits, seed, step, flip, noise_augmentation(cfg))
        x = torch.from_numpy(x[lo:hi]).to(device)
        classes = one_hot(training_labels(labels, idx, seed, step, label_dropout(cfg))[lo:hi], cfg["classes"], device) if class_count(cfg) > 0 else None
        # An objective's noise, or the scoring values a flow trains on (a restoration model's degradations), drawn for the whole batch before the ranks split it.
        noise = [torch.from_numpy(v[lo:hi]).to(device) for v in training_noise(training_noise_kinds_of(cfg), batch, seed, step)]
        for p in params.values():
            p.grad = None
        # DDP averages gradients over the ranks, so each rank's share of the mean is scaled by the world size.
        loss, local_sum = ddp(x, classes, noise, world / batch)
        loss.backward()
        step_loss = all_sum(float(local_sum), device, world) / batch
        # One read back per step (on a GPU, one per parameter would stall it).
        grad_norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params.values() if p.grad is not None)))
        step += 1
        if not (math.isfinite(step_loss) and math.isfinite(grad_norm)):
            bad_in_row += 1
            if rank == 0:
                append_metric(a.run, {"type": "skip", "step": step, "loss": str(step_loss), "gradNorm": str(grad_norm)})
            if bad_in_row >= train_cfg["maxNonFinite"]:
                raise SystemExit(f"step {step}: {bad_in_row} steps in a row had a non-finite loss or gradient; lower the learning rate and continue from the last checkpoint")
            continue
        bad_in_row = 0
        lr = optimizer.apply(grad_norm)
        if average:
            average.update()
        seconds = max(time.time() - t0, 1e-6)
        rate = batch / seconds if rate == 0 else 0.9 * rate + 0.1 * batch / seconds
        if rank == 0:
            row = {"type": "train", "step": step, "loss": step_loss, "lossKind": loss_kind(cfg), "lr": lr, "gradNorm": grad_norm, "imgPerSec": rate, "time": elapsed()}
            append_metric(a.run, row)
            print(json.dumps(row), flush=True)
            if step % train_cfg["evalEvery"] == 0 or step == target:
                evaluate()
            if step % train_cfg["checkpointEvery"] == 0 or step == target:
                checkpoint()
    if rank == 0:
        if step != target:
            evaluate()
            checkpoint()
        print(json.dumps({"done": True, "step": step, "valBpd": last_val, "worldSize": world}), flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

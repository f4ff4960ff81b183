"""What FlowDesk's PyTorch references (pytorch_glow.py, pytorch_tarflow.py) share: their command
line, reading FlowDesk's safetensors files (with the PyTorch package's reader), and timing steps
into the speed line bench/index.ts reads.
"""
import argparse, json, os, sys, time

import torch

# The PyTorch package's Python (flowdesk export --pytorch) is the one copy of FlowDesk's models and
# file formats in Python; the references import it from here.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "main", "engine", "export", "pytorch"))
from flowdesk_safetensors import read_safetensors as read_arrays  # noqa: E402


def command_line(modes, ints, floats=None, strings=()):
    """`MODE [PATH] --flag value ...`: `ints` and `floats` map each flag (underscores for dashes)
    to its default (a float default of None makes the flag optional), `strings` are optional paths."""
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=modes)
    ap.add_argument("folder", nargs="?")
    for name, default in ints.items():
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=int, default=default)
    for name, default in (floats or {}).items():
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=float, default=default)
    for name in strings:
        ap.add_argument("--" + name.replace("_", "-"), dest=name)
    ap.add_argument("--paired", action="store_true", help="after the warm-up, one timed step per line read from stdin (serve_steps)")
    return ap.parse_args()


def set_threads(threads):
    """`threads` intra-op threads, or the machine's cores for 0."""
    torch.set_num_threads(threads or os.cpu_count() or 1)


def read_safetensors(path):
    """Every tensor of a safetensors file as a torch tensor, by name."""
    return {name: torch.from_numpy(values) for name, values in read_arrays(path)[0].items()}


def serve_steps(step):
    """For a bench that takes its own steps in turn with these: prints {"threads", "torch"} once
    ready, then for each line read from stdin takes one step and prints {"s" (its seconds),
    "cpu_ms" (its process CPU time), "idle_cpu_ms" (this process's CPU time since the step before
    ended, which stays near 0 unless its threads spin while the other side runs)}, until stdin closes."""
    print(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    ended = time.process_time()
    for _ in sys.stdin:
        t0, c0 = time.time(), time.process_time()
        step()
        seconds, c1 = time.time() - t0, time.process_time()
        print(json.dumps({"s": seconds, "cpu_ms": 1000 * (c1 - c0), "idle_cpu_ms": 1000 * (c0 - ended)}), flush=True)
        ended = time.process_time()


def print_speed(step, batch, steps, paired=False):
    """Times `steps` calls of `step` (after one warm-up call) on `batch` images and prints
    {"img_per_s" (from the median step), "mean_img_per_s", "cpu_ms" (the median step's process
    CPU time), "steps", "threads", "torch"}; or, `paired`, takes its steps as serve_steps asks."""
    step()
    if paired:
        return serve_steps(step)
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.time(), time.process_time()
        step()
        times.append(time.time() - t0)
        cpu.append(time.process_time() - c0)
    # The median step: robust to other work on a shared machine, as FlowDesk's bench measures.
    median = sorted(times)[len(times) // 2]
    cpu_ms = 1000 * sorted(cpu)[len(cpu) // 2]
    print(json.dumps({"img_per_s": batch / median, "mean_img_per_s": steps * batch / sum(times), "cpu_ms": cpu_ms, "steps": steps, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


def time_speed(mode, model, bpd, shape, batch, steps, clip_norm, paired=False):
    """Images/s of a training step (the global gradient norm clipped to `clip_norm`, then Adam, lr
    1e-3, on the mean of `bpd(model, x, 8)` for uniform images x of `shape`: what FlowDesk's step
    does) for "speed", or of bits per dim alone, as evaluation runs it, for "forward-speed"; `paired`:
    one step at a time, as print_speed says."""
    if mode == "speed" and clip_norm is None:
        raise SystemExit("speed needs --clip-norm: FlowDesk's gradient clip (its clipNorm setting), which its training step applies")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step():
        loss = bpd(model, torch.rand(shape) - 0.5, 8).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        opt.step()

    def forward():
        with torch.no_grad():
            bpd(model, torch.rand(shape) - 0.5, 8)

    print_speed(forward if mode == "forward-speed" else train_step, batch, steps, paired)

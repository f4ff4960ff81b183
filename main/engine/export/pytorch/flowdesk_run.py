"""Writing a FlowDesk run folder from PyTorch (docs/checkpoint-format.md): metrics.jsonl rows
appended whole, checkpoints/step-N written into a temporary folder, flushed and renamed whole,
the oldest pruned to keepCheckpoints, and checkpoints/best/ replaced whole.
"""
import json, os, re, shutil, time

from flowdesk_safetensors import encode_safetensors, write_file_synced

STEP_DIR = re.compile(r"^step-(0|[1-9]\d*)$")


def append_metric(run_dir, row):
    with open(os.path.join(run_dir, "metrics.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def checkpoint_steps(run_dir):
    root = os.path.join(run_dir, "checkpoints")
    names = os.listdir(root) if os.path.isdir(root) else []
    return sorted(int(m.group(1)) for m in map(STEP_DIR.match, names) if m)


def write_folder_whole(run_dir, name, files):
    """checkpoints/<name> with `files` (name -> bytes or str), whole or not at all."""
    root = os.path.join(run_dir, "checkpoints")
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, name)
    tmp = os.path.join(root, f".{name}.tmp-{os.getpid()}-{int(time.time() * 1000)}")
    os.makedirs(tmp)
    for file, data in files.items():
        write_file_synced(os.path.join(tmp, file), data)
    if os.path.exists(final):
        aside = tmp + "-old"
        os.rename(final, aside)
        os.rename(tmp, final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(tmp, final)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


def as_numpy(tensors):
    return {k: v.detach().cpu().numpy() for k, v in tensors.items()}


def weights_meta(used, step, decay=None, val_bpd=None):
    meta = {"weights": used, "step": str(step)}
    if decay is not None:
        meta["decay"] = repr(decay)
    if val_bpd is not None:
        meta["valBpd"] = repr(val_bpd)
    return meta


def write_checkpoint(run_dir, step, model_json, weights, optimizer, average, state, keep):
    """checkpoints/step-<step>: model.json, weights (last), optimizer moments, the average (with buffers) and state.json."""
    w = as_numpy(weights)
    files = {
        "model.json": model_json,
        "weights.safetensors": encode_safetensors(w, weights_meta("last", step)),
        "optimizer.safetensors": encode_safetensors(as_numpy(optimizer[0]), optimizer[1]),
        "state.json": json.dumps({**state, "step": step}, indent=2) + "\n",
    }
    if average is not None:
        ema = {**w, **as_numpy(average.averages)}
        files["ema.safetensors"] = encode_safetensors(ema, {"updates": str(average.updates), **weights_meta("avg", step, average.decay)})
    final = write_folder_whole(run_dir, f"step-{step}", files)
    for old in checkpoint_steps(run_dir)[:-keep]:
        if old != step:
            shutil.rmtree(os.path.join(run_dir, "checkpoints", f"step-{old}"), ignore_errors=True)
    return final


def write_best(run_dir, model_json, weights, meta):
    return write_folder_whole(run_dir, "best", {"model.json": model_json, "weights.safetensors": encode_safetensors(as_numpy(weights), meta)})

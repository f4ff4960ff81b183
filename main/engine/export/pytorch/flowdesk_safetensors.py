"""safetensors read and written by FlowDesk's own small code (no safetensors package): an 8-byte
little-endian header length, a JSON header (name -> dtype, shape, data_offsets; "__metadata__"),
then the data. See docs/checkpoint-format.md, "safetensors".
"""
import json, os, struct

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "U8": np.uint8}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


def read_safetensors(path):
    """(tensors as numpy arrays by name, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    n = struct.unpack("<Q", raw[:8])[0]
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError:
        raise SystemExit(f"{path}: the safetensors header is not JSON; the file is damaged")
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, spec in header.items():
        if spec["dtype"] not in DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {spec['dtype']}; this reader takes {', '.join(DTYPES)}")
        begin, end = spec["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[spec["dtype"]]).reshape(spec["shape"]).copy()
    return tensors, meta


def encode_safetensors(tensors, metadata=None):
    """The bytes of a safetensors file of numpy arrays (F32, F64, I32, U8), header padded to 8 bytes."""
    header, chunks, offset = {}, [], 0
    for name in tensors:
        a = np.ascontiguousarray(tensors[name])
        if a.dtype not in CODES:
            a = a.astype(np.float32)
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": CODES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def write_file_synced(path, data):
    """Writes and flushes `data` (bytes or str) to `path`."""
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())

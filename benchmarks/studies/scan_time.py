"""The time of ``lipbench scan`` on a checkpoint shaped like a small
sentence-embedding transformer (hidden 384, 6 layers, MLP 1536, a 30522 x 384
word-embedding table; about 90 MB of float32 in safetensors), with random
weights of the usual 0.02 scale.

    python -m benchmarks.studies.scan_time [--layers 6] [--keep FILE] [--threads N]

Writes the file to a temporary directory, runs ``lipbench scan FILE --json`` in
a fresh interpreter (so the time includes start-up and reading), and prints the
wall time, the slowest rows and whether every 2-D weight's bracket is certified
and at most 1e-6 wide relative.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def checkpoint(layers: int = 6, hidden: int = 384, mlp: int = 1536, vocab: int = 30522,
               seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of a BERT-style encoder, by their usual names."""
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        return (0.02 * rng.standard_normal(shape)).astype(np.float32)

    out = {"embeddings.word_embeddings.weight": w(vocab, hidden),
           "embeddings.position_embeddings.weight": w(512, hidden),
           "embeddings.token_type_embeddings.weight": w(2, hidden),
           "embeddings.LayerNorm.weight": 1 + w(hidden), "embeddings.LayerNorm.bias": w(hidden)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            out[p + name + ".weight"], out[p + name + ".bias"] = w(hidden, hidden), w(hidden)
        out[p + "intermediate.dense.weight"], out[p + "intermediate.dense.bias"] = w(mlp, hidden), w(mlp)
        out[p + "output.dense.weight"], out[p + "output.dense.bias"] = w(hidden, mlp), w(hidden)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[p + ln + ".weight"], out[p + ln + ".bias"] = 1 + w(hidden), w(hidden)
    out["pooler.dense.weight"], out["pooler.dense.bias"] = w(hidden, hidden), w(hidden)
    return out


def main() -> None:
    from safetensors.numpy import save_file

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--keep", default=None, help="write the checkpoint here and keep it")
    ap.add_argument("--threads", default=None, help="passed to lipbench scan --threads")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "encoder.safetensors"
        arrays = checkpoint(args.layers)
        save_file(arrays, str(path))
        matrices = sum(a.ndim == 2 for a in arrays.values())
        print(f"{path.name}: {len(arrays)} arrays, {matrices} matrices, {path.stat().st_size / 1e6:.1f} MB")
        t = time.perf_counter()
        threads = ["--threads", args.threads] if args.threads else []
        done = subprocess.run([sys.executable, "-m", "lipbench", "scan", str(path), "--json", *threads], check=True,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t
    scan = json.loads(done.stdout)
    dense = [r for r in scan["rows"] if r["kind"] in ("dense", "embedding")]
    ok = all(r["certified"] and (r["upper"] - r["lower"]) <= 1e-6 * r["upper"] for r in dense)
    print(f"lipbench scan: {wall:.1f} s wall ({scan['seconds']:.1f} s scanning); {len(dense)} matrices, "
          f"every bracket certified and <= 1e-6 wide: {ok}")
    for r in sorted(scan["rows"], key=lambda r: -r["seconds"])[:3]:
        print(f"  slowest: {r['name']} {r['shape']} {r['seconds']:.2f} s")


if __name__ == "__main__":
    main()

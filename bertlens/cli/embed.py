"""`embed`: sentence embeddings at a layer (mean over tokens or [CLS]), intact or with a fitted transform, saved as
a .npy array so an auditor can run their own probes."""
from __future__ import annotations

import argparse

from bertlens.cli.common import load, print_json

MAX_SENTENCES = 20_000


def register(sub, common) -> None:
    p = sub.add_parser("embed", parents=[common], help="sentence embeddings at a layer to a .npy file (one row a "
                                                      "sentence), optionally with --debias DIR")
    p.add_argument("file", metavar="FILE", help="one sentence a line, or a CSV with a text column")
    p.add_argument("--layer", type=int, help="the layer (from 1) whose output is pooled; default the last")
    p.add_argument("--pool", choices=("mean", "cls"), default="mean",
                   help="mean over every token ([CLS] and [SEP] included), or the [CLS] row")
    p.add_argument("--out", required=True, metavar="X.npy")
    p.set_defaults(func=run)


def read_texts(path: str) -> list[str]:
    """A CSV's `text` column when its header has one, else every non-empty line. Raises InputError."""
    import csv
    import io

    from bertlens.bias.files import csv_rows, read_text
    from bertlens.errors import InputError

    name = f"the sentence file '{path}'"
    text = read_text(path, name)
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = [cell.strip().lower() for cell in next(csv.reader(io.StringIO(first)), [])]
    if "text" in header and len(header) > 1:
        rows = csv_rows(text, name)
        at = [cell.strip().lower() for cell in rows[0]].index("text")
        texts = [" ".join(row[at].split()) for row in rows[1:] if len(row) > at and row[at].strip()]
    else:
        texts = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not texts:
        raise InputError(f"{name[:1].upper() + name[1:]} has no sentences.")
    if len(texts) > MAX_SENTENCES:
        raise InputError(f"{name[:1].upper() + name[1:]} has {len(texts):,} sentences; the limit is "
                         f"{MAX_SENTENCES:,}.")
    return texts


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from bertlens.debias.fit import features
    from bertlens.debias.store import check_layers
    from bertlens.errors import InputError

    texts = read_texts(args.file)
    lm = load(args)
    layer = args.layer if args.layer is not None else lm.config.num_hidden_layers
    check_layers((layer,), lm)
    array = features(lm, texts, layer, pool=args.pool).astype(np.float32)
    try:
        with open(args.out, "wb") as handle:
            np.save(handle, array)
    except OSError as exc:
        raise InputError(f"Cannot write '{args.out}': {exc.strerror or exc}.") from None
    transform = lm.transform_name or "intact"
    document = {"model": lm.info.model_id, "fingerprint": lm.fingerprint(), "random_weights": lm.info.random_weights,
                "sentences": len(texts), "shape": list(array.shape), "layer": layer, "pool": args.pool,
                "transform": transform, "out": args.out}
    if args.json:
        print_json(document)
        return 0
    print(f"model: {lm.info.model_id} ({lm.fingerprint()})" + ("  RANDOM WEIGHTS: meaningless" if
                                                              lm.info.random_weights else ""))
    print(f"{len(texts)} sentences -> {array.shape[0]} x {array.shape[1]} float32, layer {layer}, {args.pool} "
          f"pooling, {transform}: {args.out}")
    return 0

"""Embed the demo network once and ship its vectors, so that `healthmatch demo` embeds nothing.

Run from the repository root after `scripts/build_demo_data.py` (the demo's text must be final):

    .venv/bin/python scripts/build_demo_vectors.py [--model minilm] [--out api/demo_data]

It loads the demo into a throw-away database, builds its search index (embedding every passage of
its projects, funding-call titles and open calls) and writes the embedding cache of that model to
`OUT/vectors-MODEL.npz`: SHA-256 passage hashes and float16 vectors. About 2-3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from api.demo import demo_settings, demo_vectors_path, export_demo_vectors, load_demo
from models.db import temporary_engine
from models.migrate import upgrade


def _no_progress(_stage: str, _total: int) -> Callable[[int], None]:
    return lambda _done: None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    target = args.out / f"vectors-{args.model}.npz" if args.out else demo_vectors_path(args.model)
    old = demo_vectors_path(args.model)
    if old.exists():  # never carry vectors of text that is no longer in the demo
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        settings = demo_settings(url).model_copy(update={"embedding_model": args.model})
        with temporary_engine(url, settings) as engine:
            load_demo(engine, _no_progress, settings)
            count = export_demo_vectors(engine, args.model, target)
    print(f"{count} vectors -> {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

"""What a laboratory profile's head correction should read: the embedding alone, or with
pooled maps of the classifier's earlier stages (`training/descriptor.py`).

    python benchmarks/bench_descriptor.py [--data ../shared/data] [--k 25 100]
                                          [--draws 5] [--variants emb emb+s1+s2 ...]

For each laboratory under ``other-labs`` (cells as `bench_adapt.py` takes them: jiangxi
framed as ``classify`` frames them, bionet's fields through the pipeline), the shipped
graph is run with each stage's output map exposed (in memory; the file is not changed)
on the four quarter turns of every cell. A variant is the embedding (``emb``) followed
by stage blocks: ``sN`` the stage's map averaged over its positions, ``sNsd`` its
standard deviation over them (N = 0 .. 2; each averaged over the crop and its mirror
image, then over two quarter turns as run time does). Each block is scaled to the
embedding's root mean square over the laboratory's cells (no labels; ``--unscaled``
leaves them as they are). Then, for k cells drawn stratified (`bench_adapt.draw`, the
same draws), `vision.lab_adapt.adapt` fits a head correction on their four views (no
colour variant) and the rest of the laboratory is scored; a refused profile scores the
shipped model. Needs the ``onnx`` package (the ``train`` extra).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import lab_cells, other_labs  # noqa: E402
from bench_adapt import draw  # noqa: E402

from hemoscope.training.descriptor import stage_probe  # noqa: E402
from hemoscope.vision.lab_adapt import adapt  # noqa: E402
from hemoscope.vision.lab_embed import views_for  # noqa: E402
from hemoscope.vision.pipeline import Pipeline  # noqa: E402

DEFAULT_VARIANTS = ["emb", "emb+s2", "emb+s1", "emb+s1+s2", "emb+s0+s1+s2", "emb+s1+s2+s2sd"]


def blocks_of(session: object, stages: list[str], crops: np.ndarray) -> dict[str, np.ndarray]:
    """Per block name: (4, N, D) over the four quarter turns (each the crop and its
    mirror image averaged, as the graph averages its embedding)."""
    out: dict[str, list[list[np.ndarray]]] = {}
    for q in range(4):
        turned = np.ascontiguousarray(np.rot90(crops, q, axes=(1, 2)))
        for s in range(0, len(turned), 32):
            x = turned[s : s + 32].transpose(0, 3, 1, 2).astype(np.float32) / 255
            res = session.run(["logits", "embedding", *stages], {"image": x})  # type: ignore[attr-defined]
            n = len(x)
            parts = {"logits": res[0], "emb": res[1]}
            for i, m in enumerate(res[2:-1]):  # the last stage is the embedding
                for suffix, pooled in (("", m.mean(axis=(2, 3))), ("sd", m.std(axis=(2, 3)))):
                    mirrored = len(pooled) == 2 * n
                    parts[f"s{i}{suffix}"] = (pooled[:n] + pooled[n:]) / 2 if mirrored else pooled
            for key, v in parts.items():
                out.setdefault(key, [[] for _ in range(4)])[q].append(np.asarray(v, np.float64))
    return {k: np.stack([np.concatenate(v) for v in per_q]) for k, per_q in out.items()}


def two_turns(a: np.ndarray) -> np.ndarray:
    """View r: the average of quarter turns r and r + 1 (run time's two turns)."""
    return np.stack([(a[r] + a[(r + 1) % 4]) / 2 for r in range(4)])


def curve(
    blocks: dict[str, np.ndarray], y: np.ndarray, variant: str, ks: list[int], draws: int,
    card: dict, scaled: bool,
) -> list[tuple[int, list[float], int]]:  # fmt: skip
    views = {k: two_turns(v) for k, v in blocks.items()}
    ref = float(np.sqrt(np.mean(views["emb"][0] ** 2)))
    parts = []
    for name in variant.split("+"):
        b = views[name]
        parts.append(b * (ref / float(np.sqrt(np.mean(b[0] ** 2)))) if scaled else b)
    x = np.concatenate(parts, axis=2)
    logits = views["logits"]
    classes = tuple(str(c) for c in card["classes"])
    temperature = float(card["temperature"])
    out = []
    for k in ks:
        accs, refused = [], 0
        for seed in range(draws):
            idx = draw(y, k, seed)
            rest = np.setdiff1d(np.arange(len(y)), idx)
            v = views_for(len(idx))
            cell = np.tile(np.arange(len(idx)), v)
            res = adapt(
                np.concatenate(x[:v, idx]), np.concatenate(logits[:v, idx]), y[idx][cell],
                groups=cell, primary=np.arange(len(cell)) < len(idx), classes=classes,
                base_temperature=temperature, models={"classifier": card}, name="x", seed=seed,
            )  # fmt: skip
            if res.refusal:
                refused += 1
                pred = logits[0, rest].argmax(1)
            else:
                pred = res.profile.adjusted_logits(logits[0, rest], x[0, rest]).argmax(1)
            accs.append(float((pred == y[rest]).mean()))
        out.append((k, accs, refused))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--k", type=int, nargs="+", default=[25, 100])
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    ap.add_argument("--unscaled", action="store_true", help="stage blocks as they are")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    pipeline = Pipeline.load(threads=args.threads)
    clf = pipeline.classifier
    import onnx

    session, stages = stage_probe(onnx.load(str(clf.path)), args.threads)  # type: ignore[attr-defined]
    card = clf.card  # type: ignore[attr-defined]
    print(f"classifier {card.get('version')} sha256 {card['sha256'][:12]}; head refit alone")
    print(f"{'lab':<9}{'variant':<18}{'k':>5}  {'accuracy':>14}  refused  per draw")
    for name, kind, root in other_labs(args.data):
        cells = lab_cells(pipeline, root, kind)
        blocks = blocks_of(session, stages, cells.array())
        y = np.asarray(cells.labels)
        for variant in args.variants:
            for k, accs, refused in curve(
                blocks, y, variant, args.k, args.draws, card, not args.unscaled
            ):
                per = " ".join(f"{100 * a:.1f}" for a in accs)
                mean, sd = 100 * np.mean(accs), 100 * np.std(accs)
                print(
                    f"{name:<9}{variant:<18}{k:>5}  {mean:5.1f} ± {sd:3.1f} %  "
                    f"{refused}/{len(accs)}      {per}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Chapter 06 at paper scale: Hinton & Salakhutdinov (2006) on the full 60,000-image MNIST or Fashion-MNIST.

Greedy RBM pretraining of 784-1000-500-250-30 (50 epochs per layer, as in the paper), unrolling,
fine-tuning with Adam on the cross-entropy (early stopping on 5,000 held-out training images), and
the table against PCA, logistic PCA and the same network from a random start, on ``cuda`` when
present. Not part of the test run.

    .venv/bin/python scripts/paper_scale.py                      # full MNIST
    .venv/bin/python scripts/paper_scale.py --data fashion-mnist --finetune-epochs 100

Prints every stage's wall time and test squared error per image as soon as it is known (paper, on
MNIST: 3.00 / 8.01 / 13.87), cheapest and most important first, so a run stopped by a time limit
still reports what it finished. ``--n-train`` and ``--no-download`` serve quick rehearsals and
machines without a network (benchmarks/gpu.sh).
"""
from __future__ import annotations

import argparse
import time

import torch

import aecourse as ae

PAPER = {"deep autoencoder, RBM-pretrained": "3.00", "logistic PCA-30": "8.01", "PCA-30": "13.87"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["mnist", "fashion-mnist"], default="mnist")
    parser.add_argument("--path", default=None, help="directory holding the four IDX files")
    parser.add_argument("--no-download", action="store_true",
                        help="never try the network: fail at once when the IDX files are not found")
    parser.add_argument("--n-train", type=int, default=None,
                        help="use the first N training images (5,000 of them held out); default all")
    parser.add_argument("--pretrain-epochs", type=int, default=50)
    parser.add_argument("--finetune-epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ae.seed_everything(args.seed)
    device = ae.device()
    load = ae.load_mnist if args.data == "mnist" else ae.load_fashion_mnist
    kwargs = {"full": True} if args.data == "mnist" else {}
    data = load(path=args.path, device=device, download=not args.no_download, **kwargs)
    x_all = data.x_train if args.n_train is None else data.x_train[:args.n_train]
    n_val = min(5000, len(x_all) // 10)
    if len(x_all) - n_val < 100:
        parser.error(f"--n-train {args.n_train} leaves {len(x_all) - n_val} training images; give at least 200")
    x_train, x_val, x_test = x_all[:-n_val], x_all[-n_val:], data.x_test
    sizes = [784, 1000, 500, 250, 30]
    print(f"{data}; {torch.get_num_threads()} CPU threads; {len(x_train)} training, "
          f"{n_val} validation, {len(x_test)} test images", flush=True)
    print(f"test squared error per image ({args.data}); paper figures are for MNIST", flush=True)
    times: dict[str, float] = {}

    def report(name: str, value: float, seconds: float, how: str) -> None:
        times[name] = seconds
        print(f"  {name:34s} {value:8.2f}   paper: {PAPER.get(name, '-'):>5s}   "
              f"{seconds:7.1f} s  {how}", flush=True)

    def err(model) -> float:
        return float(ae.per_image_error(ae.reconstruct(model, x_test), x_test).mean())

    start = time.perf_counter()
    pca = ae.PCA(30).fit(x_train)
    pca_error = float(ae.per_image_error(pca.reconstruct(x_test), x_test).mean())
    report("PCA-30", pca_error, time.perf_counter() - start, "")

    ft = dict(loss="bce", lr=1e-3, weight_decay=1e-5, val=x_val, early_stopping=10, device=device)
    start = time.perf_counter()
    stack = ae.greedy_pretrain(x_train, sizes, epochs=args.pretrain_epochs, device=device)
    pretrain_s = time.perf_counter() - start
    print(f"  (pretraining: {pretrain_s:.1f} s for {args.pretrain_epochs} epochs per layer)", flush=True)
    start = time.perf_counter()
    pretrained = ae.DeepAutoencoder.from_rbms(stack)
    history = ae.fit(pretrained, x_train, epochs=args.finetune_epochs, **ft)
    report("deep autoencoder, RBM-pretrained", err(pretrained), pretrain_s + time.perf_counter() - start,
           f"(pretraining {pretrain_s:.1f} s + {history.epochs} fine-tuning epochs)")

    start = time.perf_counter()
    logistic_pca = ae.Autoencoder([784, 30], activation=None, out_activation="sigmoid")
    h = ae.fit(logistic_pca, x_train, epochs=args.finetune_epochs, loss="bce", lr=3e-3, val=x_val,
               early_stopping=10, device=device)
    report("logistic PCA-30", err(logistic_pca), time.perf_counter() - start, f"({h.epochs} epochs)")

    start = time.perf_counter()
    random_init = ae.DeepAutoencoder(sizes)
    ae.fit(random_init, x_train, epochs=history.epochs, **ft)
    report("deep autoencoder, random init", err(random_init), time.perf_counter() - start,
           f"({history.epochs} epochs, the pretrained net's budget)")

    print(f"  {'total':34s} {sum(times.values()):8.1f} s on {device}", flush=True)


if __name__ == "__main__":
    main()

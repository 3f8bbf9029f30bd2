"""Chapter 06 at paper scale: Hinton & Salakhutdinov (2006) on the full 60,000-image MNIST or Fashion-MNIST.

Greedy RBM pretraining of 784-1000-500-250-30 (50 epochs per layer, as in the paper), unrolling,
fine-tuning with Adam on the cross-entropy (early stopping on 5,000 held-out training images), and
the table against logistic PCA and PCA, on ``cuda`` when present. Not part of the test run.

    .venv/bin/python scripts/paper_scale.py                      # full MNIST
    .venv/bin/python scripts/paper_scale.py --data fashion-mnist --finetune-epochs 100

Prints the wall time of every stage and the test squared error per image (paper: 3.00 / 8.01 / 13.87).
"""
from __future__ import annotations

import argparse
import time

import torch

import aecourse as ae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["mnist", "fashion-mnist"], default="mnist")
    parser.add_argument("--path", default=None, help="directory holding the four IDX files")
    parser.add_argument("--pretrain-epochs", type=int, default=50)
    parser.add_argument("--finetune-epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ae.seed_everything(args.seed)
    device = ae.device()
    data = (ae.load_mnist(full=True, path=args.path, device=device) if args.data == "mnist"
            else ae.load_fashion_mnist(path=args.path, device=device))
    x_train, x_val, x_test = data.x_train[:-5000], data.x_train[-5000:], data.x_test
    sizes = [784, 1000, 500, 250, 30]
    print(f"{data} on {device}")
    times: dict[str, float] = {}

    def err(model) -> float:
        return float(ae.per_image_error(ae.reconstruct(model, x_test), x_test).mean())

    start = time.perf_counter()
    stack = ae.greedy_pretrain(x_train, sizes, epochs=args.pretrain_epochs, device=device)
    times["pretraining"] = time.perf_counter() - start

    ft = dict(loss="bce", lr=1e-3, weight_decay=1e-5, val=x_val, early_stopping=10, device=device)
    start = time.perf_counter()
    pretrained = ae.DeepAutoencoder.from_rbms(stack)
    history = ae.fit(pretrained, x_train, epochs=args.finetune_epochs, **ft)
    times["fine-tuning"] = time.perf_counter() - start

    start = time.perf_counter()
    random_init = ae.DeepAutoencoder(sizes)
    ae.fit(random_init, x_train, epochs=history.epochs, **ft)
    times["random init, same budget"] = time.perf_counter() - start

    start = time.perf_counter()
    logistic_pca = ae.Autoencoder([784, 30], activation=None, out_activation="sigmoid")
    ae.fit(logistic_pca, x_train, epochs=args.finetune_epochs, loss="bce", lr=3e-3, val=x_val,
           early_stopping=10, device=device)
    pca = ae.PCA(30).fit(x_train)
    times["logistic PCA and PCA"] = time.perf_counter() - start

    pca_error = float(ae.per_image_error(pca.reconstruct(x_test), x_test).mean())
    print(f"\ntest squared error per image ({args.data}, {len(x_train)} training images)")
    for name, value, paper in (("deep autoencoder, RBM-pretrained", err(pretrained), "3.00"),
                               ("deep autoencoder, random init", err(random_init), "-"),
                               ("logistic PCA-30", err(logistic_pca), "8.01"),
                               ("PCA-30", pca_error, "13.87")):
        print(f"  {name:34s} {value:8.2f}   paper (MNIST): {paper}")
    print("\nwall time")
    for name, seconds in times.items():
        print(f"  {name:34s} {seconds:8.1f} s")
    print(f"  {'total':34s} {sum(times.values()):8.1f} s on {device} ({torch.get_num_threads()} CPU threads)")


if __name__ == "__main__":
    main()

"""tests/fake_gpu.py, the simulated GPU: it catches what CUDA would, and computes what the CPU does.

Activation lasts for a whole process, so each check runs in a fresh Python. The chapters themselves
run on it in tests/test_course_builds.py (the student copies).
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from unit_files import unit_test_files

TESTS = Path(__file__).resolve().parent


def run(code: str) -> str:
    script = f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nimport fake_gpu\n" + textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={"TQDM_DISABLE": "1", "AECOURSE_DEVICE": "", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_it_fails_where_cuda_fails():
    out = run("""
        import numpy as np, torch, aecourse as ae
        dev = fake_gpu.activate()
        a = torch.randn(3, 4, device=dev)
        cpu_gen, dev_gen = torch.Generator().manual_seed(0), torch.Generator(device=dev).manual_seed(0)
        for name, bad in [("CPU tensor meets GPU tensor", lambda: a @ torch.randn(4, 2)),
                          ("numpy of a GPU tensor", lambda: a.numpy()),
                          ("np.asarray of a GPU tensor", lambda: np.asarray(a)),
                          ("CPU model, GPU data", lambda: torch.nn.Linear(4, 2)(a)),
                          ("CPU generator, GPU numbers", lambda: torch.rand(3, generator=cpu_gen, device=dev)),
                          ("GPU generator, CPU numbers", lambda: torch.randn(3, generator=dev_gen)),
                          ("CPU generator, GPU permutation", lambda: torch.randperm(3, generator=cpu_gen, device=dev)),
                          ("CPU generator, GPU Bernoulli", lambda: torch.bernoulli(a.sigmoid(), generator=cpu_gen)),
                          ("CPU generator, rand_like of a GPU tensor", lambda: torch.rand_like(a, generator=cpu_gen)),
                          ("CPU generator, nn.init of a GPU tensor",
                           lambda: torch.nn.init.normal_(a.clone(), generator=cpu_gen))]:
            try:
                bad()
                print(name, "NOT CAUGHT")
            except (RuntimeError, TypeError) as exc:
                assert "simulated GPU" in str(exc), exc
                print(name, "caught")
        try:   # aecourse checks a corruption's generator itself, with a message that says what to do
            ae.masking_noise(a, 0.5, generator=torch.Generator())
        except ValueError as exc:
            print("CPU generator for GPU data: refused by aecourse:", "device" in str(exc))
        # what CUDA allows: a generator on the device the numbers are drawn on
        drawn = [torch.rand(2, generator=dev_gen, device=dev), torch.bernoulli(a.sigmoid(), generator=dev_gen),
                 a.clone().uniform_(generator=dev_gen), torch.randn(2, generator=cpu_gen),
                 torch.rand_like(a, generator=cpu_gen, device="cpu")]
        print("generators on the drawing device:", [t.device.type for t in drawn])
        # torch.tensor and as_tensor build on the device (they bypass the dispatch mode: simulated here)
        print("constructed:", torch.tensor([1, 2], device=dev).device, torch.as_tensor([1.0], device=dev).device)
        # what CUDA allows: 0-dim CPU tensors as scalars, explicit moves, in-place copies across devices,
        # CPU index and mask tensors
        rows, mask = a[torch.tensor([0, 2])], a[torch.tensor([True, False, True])]
        a[torch.tensor([1])] = 0.0
        print("indexing with CPU indices:", rows.device, mask.device)
        # and with Python lists, which PyTorch turns into index tensors on the device
        picked, kept = a[[0, -1]], a[[True, False, True]]
        print("indexing with lists:", picked.device, kept.device, torch.equal(picked.cpu(), a.cpu()[[0, -1]]),
              torch.equal(kept.cpu(), a.cpu()[[True, False, True]]))
        b = a * torch.tensor(2.0) + a.sum()
        c = a.cpu() @ torch.randn(4, 2)
        a.copy_(torch.zeros(3, 4))
        print(b.device, c.device, type(c).__name__, float(a.sum()), f"{a.sum():.1f}", a.tolist()[0][0])
    """)
    assert "NOT CAUGHT" not in out and out.count("caught") == 10, out
    assert "generators on the drawing device: ['fakegpu', 'fakegpu', 'fakegpu', 'cpu', 'cpu']" in out
    assert "constructed: fakegpu:0 fakegpu:0" in out
    assert "CPU generator for GPU data: refused by aecourse: True" in out
    assert "fakegpu:0 cpu Tensor 0.0 0.0 0.0" in out
    assert "indexing with CPU indices: fakegpu:0 fakegpu:0" in out
    assert "indexing with lists: fakegpu:0 fakegpu:0 True True" in out


def test_training_on_it_gives_the_cpu_numbers_bitwise():
    code = """
        import torch, aecourse as ae
        {activate}
        dev = ae.device()
        ae.seed_everything(0)
        x = ae.load_mnist().x_train[:500]
        model = ae.Autoencoder([784, 64, 16])
        model.to(dev).double().float()                      # conversions keep the same Parameter objects
        h = ae.fit(model, x, epochs=2, batch_size=50, loss="bce", val=x[:100], progress=False)
        rbm = ae.RBM(784, 32, epochs=1, random_state=0, device=dev, progress=False).fit(x.to(dev))
        noisy = ae.masking_noise(x.to(dev), 0.3, generator=torch.Generator(device=dev).manual_seed(0))
        pca = ae.PCA(5).fit(x.to(dev))
        print(dev.type, next(model.parameters()).device.type, rbm.weight_.device.type)
        print(repr(h.train_loss), repr(h.val_loss))
        print(float(model.encoder[0].weight.double().sum()), float(rbm.weight_.double().sum()),
              float(noisy.double().sum()), float(pca.explained_variance_.sum()))
    """
    cpu = run(code.format(activate="")).splitlines()
    fake = run(code.format(activate="fake_gpu.activate()")).splitlines()
    assert cpu[0] == "cpu cpu cpu" and fake[0] == "fakegpu fakegpu fakegpu"
    assert fake[1:] == cpu[1:]


def test_training_loops_wait_for_the_device_once_per_batch_at_most():
    """A GPU runs ahead of Python until the host reads a value. ae.fit reads once per batch (every term
    of the loss in one copy, to stop at the first non-finite loss), RBM.fit once per epoch; the VAE's
    loss adds its input checks (x in [0, 1], μ and log σ² finite), one read each."""
    out = run("""
        import torch, aecourse as ae
        dev = fake_gpu.activate()
        x = ae.load_mnist(device=dev).x_train[:1000]          # 10 batches of 100

        def reads(train):
            before = fake_gpu.HOST_READS
            train()
            return fake_gpu.HOST_READS - before

        three_terms = ae.penalised_loss(lambda model, z, x_in: z.abs().mean())   # loss, recon, penalty
        rbm = lambda **kw: ae.RBM(784, 32, epochs=3, batch_size=100, progress=False, **kw).fit(x)
        print(reads(lambda: ae.fit(ae.Autoencoder([784, 32]), x, epochs=2, loss=three_terms, progress=False)),
              reads(rbm), reads(lambda: rbm(persistent=True)),
              reads(lambda: ae.fit(ae.VAE([784, 32, 2]), x, epochs=2, loss=ae.negative_elbo, progress=False)))
    """)
    fit, rbm, pcd, vae = map(int, out.split())
    # besides the batches: the data's check once, and the weights' finiteness after every epoch, one read
    # per parameter tensor (4 in the autoencoder, 10 in the VAE)
    assert fit == 2 * 10 + 1 + 2 * 4, f"ae.fit read the device {fit} times in 2 epochs of 10 batches"
    assert rbm <= 3 * 3 and pcd <= 3 * 3, f"RBM.fit read the device {rbm} and {pcd} times in 3 epochs of 10 batches"
    assert vae <= 2 * 10 * 4 + 1 + 2 * 10, f"a VAE's ae.fit read the device {vae} times in 2 epochs of 10 batches"


def test_the_package_runs_on_it(tmp_path):
    parts = {
        "vae": """
            vae = ae.VAE([784, 64, 2])
            ae.fit(vae, x, epochs=1, loss=ae.negative_elbo, progress=False)
            print(ae.iwae_bound(vae, x[:20], k=5).device.type, ae.manifold_grid(vae, n=3).device.type,
                  ae.active_units(vae, x), ae.kl_per_dim(vae, x).device.type)
            ae.plot.image_grid(ae.reconstruct(vae, x[:4]))
        """,
        "deep": """
            stack = ae.greedy_pretrain(x, [784, 32, 8, 2], epochs=1, device=ae.device(), progress=False)
            net = ae.DeepAutoencoder.from_rbms(stack)
            ae.fit(net, x, epochs=1, loss="bce", progress=False)
            print(ae.layer_gradient_norms(net, x[:50]) is not None, ae.encode(net, x).device.type)
        """,
        "stacked": """
            stack = ae.StackedAutoencoder([784, 32, 8], corrupt=ae.corruption("masking", 0.25), epochs=1,
                                          device=ae.device(), progress=False).fit(x)
            print(stack.transform(x).device.type, stack.encoder()(x).device.type)
        """,
        "checkpoint": f"""
            model = ae.Autoencoder([784, 8])
            ae.fit(model, x, epochs=1, progress=False)
            ae.save(model, {str(tmp_path / 'm.pt')!r})
            back = ae.load({str(tmp_path / 'm.pt')!r}, device=ae.device())
            gap = (ae.reconstruct(back, x) - ae.reconstruct(model, x)).abs().max()
            print(next(back.parameters()).device.type, float(gap))
        """,
        "scipy": """
            model = ae.Autoencoder([784, 8])
            opt = ae.ScipyMinimizer(model.to(ae.device()).parameters(), method="CG", maxiter=3)
            ae.fit(model, x, batch_size=None, optimizer=opt, epochs=1, progress=False)
            print(next(model.parameters()).device.type)
        """,
    }
    code = "".join(f"print('== {name}')\n" + textwrap.dedent(part) for name, part in parts.items())
    out = run("import torch, aecourse as ae\nfake_gpu.activate()\nx = ae.load_mnist(device=ae.device()).x_train[:300]\n"
              + code)
    printed = out.split("== ")[1:]
    assert [p.split()[0] for p in printed] == list(parts), out
    assert all("fakegpu" in p for p in printed), out


def test_the_unit_tests_pass_on_it():
    """The package's unit tests (tests/unit_files.py) with ae.device() on the simulated GPU
    (AECOURSE_FAKE_GPU=1, conftest.py). The student copies run on it in test_course_builds.py."""
    files = [str(p) for p in unit_test_files()]
    assert len(files) >= 20 and not any("fake_gpu" in f for f in files)
    env = {k: v for k, v in os.environ.items() if k != "AECOURSE_DEVICE"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *files],
                          capture_output=True, text=True, timeout=900, cwd=TESTS.parent,
                          env={**env, "AECOURSE_FAKE_GPU": "1"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "the simulated GPU (AECOURSE_FAKE_GPU) replaces" in proc.stdout   # it did run on the simulated GPU


def test_without_float64_as_on_apples_mps():
    out = run("""
        import torch, aecourse as ae
        dev = fake_gpu.activate(float64=False)
        print(ae.device(), ae.device(float64=True), ae.has_float64(dev), ae.has_float64(torch.device("cpu")))
        try:
            torch.zeros(2, device=dev).double()
        except TypeError as exc:
            print("float64 refused:", "float64" in str(exc))
        x = ae.load_mnist().x_train[:1000]
        on_dev, on_cpu = ae.PCA(8).fit(x.to(dev)), ae.PCA(8).fit(x)   # float64 work on the CPU, results back
        print(on_dev.components_.device, on_dev.components_.dtype,
              bool(torch.equal(on_dev.components_.cpu(), on_cpu.components_)),
              float((on_dev.reconstruct(x.to(dev)).cpu() - on_cpu.reconstruct(x)).abs().max()) < 1e-6)
        angles = ae.principal_angles(on_dev.components_.T, on_dev.components_[:4].T)
        print(angles.device, angles.dtype, float(angles.max()) < 1e-6)
        model64, model32 = ae.Autoencoder([784, 8]).double(), ae.Autoencoder([784, 8])
        ae.fit(model64, x.double(), epochs=1, progress=False)   # float64: fit's default device is the CPU
        ae.fit(model32, x, epochs=1, progress=False)
        print(next(model64.parameters()).device, next(model32.parameters()).device)

        def cosines(a, b):   # a learner's right answer, left on the device: the check compares on the CPU
            return torch.linalg.svdvals(torch.linalg.qr(a).Q.T @ torch.linalg.qr(b).Q).float().to(dev)
        ae.checks.subspace_cosines(cosines)
    """)
    assert out.splitlines() == ["fakegpu:0 cpu False True", "float64 refused: True",
                                "fakegpu:0 torch.float32 True True", "cpu torch.float64 True",
                                "cpu fakegpu:0"] + out.splitlines()[5:], out
    assert out.splitlines()[5].startswith("✓ subspace_cosines"), out

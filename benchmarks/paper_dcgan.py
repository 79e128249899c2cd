"""DCGAN as ganforge shipped it on MNIST until 2026-12-06: the paper's all-convolutional nets
and rates at batch 64, no EMA of G, fresh noise for G's update. The benchmarks whose recorded
figures are of that recipe pin it from here, so a later change of DCGAN's MNIST defaults
(``DCGAN.data_defaults``) is one edit here, not one in every script."""

# Without the batch, for the scripts that set their own (throughput, the GPU check's sweep).
PAPER_DCGAN_NETS = {"arch": "dcgan", "ema": None, "shared_fakes": False}
PAPER_DCGAN = {**PAPER_DCGAN_NETS, "batch_size": 64}

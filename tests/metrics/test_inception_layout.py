"""The FID Inception module must have exactly the state-dict layout of the official weights file.

The official file (pt_inception-2015-12-05-6726825d.pth, pytorch-fid) is the state dict of
torchvision's ``Inception3(num_classes=1008, aux_logits=False)`` with pytorch-fid's patched
blocks, which keep torchvision's parameter layout. The table below was written by reading
torchvision/models/inception.py (Inception3, InceptionA..E, BasicConv2d) and
pytorch_fid/inception.py (fid_inception_v3); it is data, not derived from ganforge's module.
"""

from __future__ import annotations

import torch

from ganforge.metrics.inception import FIDInceptionV3, load_checked_state_dict

# unit name -> (in_channels, out_channels, kernel_h, kernel_w); each unit is a BasicConv2d:
# conv (no bias) + BatchNorm2d(eps=1e-3).
CONV_UNITS: dict[str, tuple[int, int, int, int]] = {
    # stem
    "Conv2d_1a_3x3": (3, 32, 3, 3),
    "Conv2d_2a_3x3": (32, 32, 3, 3),
    "Conv2d_2b_3x3": (32, 64, 3, 3),
    "Conv2d_3b_1x1": (64, 80, 1, 1),
    "Conv2d_4a_3x3": (80, 192, 3, 3),
    # FIDInceptionA(192, pool_features=32)
    "Mixed_5b.branch1x1": (192, 64, 1, 1),
    "Mixed_5b.branch5x5_1": (192, 48, 1, 1),
    "Mixed_5b.branch5x5_2": (48, 64, 5, 5),
    "Mixed_5b.branch3x3dbl_1": (192, 64, 1, 1),
    "Mixed_5b.branch3x3dbl_2": (64, 96, 3, 3),
    "Mixed_5b.branch3x3dbl_3": (96, 96, 3, 3),
    "Mixed_5b.branch_pool": (192, 32, 1, 1),
    # FIDInceptionA(256, pool_features=64)
    "Mixed_5c.branch1x1": (256, 64, 1, 1),
    "Mixed_5c.branch5x5_1": (256, 48, 1, 1),
    "Mixed_5c.branch5x5_2": (48, 64, 5, 5),
    "Mixed_5c.branch3x3dbl_1": (256, 64, 1, 1),
    "Mixed_5c.branch3x3dbl_2": (64, 96, 3, 3),
    "Mixed_5c.branch3x3dbl_3": (96, 96, 3, 3),
    "Mixed_5c.branch_pool": (256, 64, 1, 1),
    # FIDInceptionA(288, pool_features=64)
    "Mixed_5d.branch1x1": (288, 64, 1, 1),
    "Mixed_5d.branch5x5_1": (288, 48, 1, 1),
    "Mixed_5d.branch5x5_2": (48, 64, 5, 5),
    "Mixed_5d.branch3x3dbl_1": (288, 64, 1, 1),
    "Mixed_5d.branch3x3dbl_2": (64, 96, 3, 3),
    "Mixed_5d.branch3x3dbl_3": (96, 96, 3, 3),
    "Mixed_5d.branch_pool": (288, 64, 1, 1),
    # InceptionB(288)
    "Mixed_6a.branch3x3": (288, 384, 3, 3),
    "Mixed_6a.branch3x3dbl_1": (288, 64, 1, 1),
    "Mixed_6a.branch3x3dbl_2": (64, 96, 3, 3),
    "Mixed_6a.branch3x3dbl_3": (96, 96, 3, 3),
    # FIDInceptionC(768, channels_7x7=128)
    "Mixed_6b.branch1x1": (768, 192, 1, 1),
    "Mixed_6b.branch7x7_1": (768, 128, 1, 1),
    "Mixed_6b.branch7x7_2": (128, 128, 1, 7),
    "Mixed_6b.branch7x7_3": (128, 192, 7, 1),
    "Mixed_6b.branch7x7dbl_1": (768, 128, 1, 1),
    "Mixed_6b.branch7x7dbl_2": (128, 128, 7, 1),
    "Mixed_6b.branch7x7dbl_3": (128, 128, 1, 7),
    "Mixed_6b.branch7x7dbl_4": (128, 128, 7, 1),
    "Mixed_6b.branch7x7dbl_5": (128, 192, 1, 7),
    "Mixed_6b.branch_pool": (768, 192, 1, 1),
    # FIDInceptionC(768, channels_7x7=160)
    "Mixed_6c.branch1x1": (768, 192, 1, 1),
    "Mixed_6c.branch7x7_1": (768, 160, 1, 1),
    "Mixed_6c.branch7x7_2": (160, 160, 1, 7),
    "Mixed_6c.branch7x7_3": (160, 192, 7, 1),
    "Mixed_6c.branch7x7dbl_1": (768, 160, 1, 1),
    "Mixed_6c.branch7x7dbl_2": (160, 160, 7, 1),
    "Mixed_6c.branch7x7dbl_3": (160, 160, 1, 7),
    "Mixed_6c.branch7x7dbl_4": (160, 160, 7, 1),
    "Mixed_6c.branch7x7dbl_5": (160, 192, 1, 7),
    "Mixed_6c.branch_pool": (768, 192, 1, 1),
    # FIDInceptionC(768, channels_7x7=160)
    "Mixed_6d.branch1x1": (768, 192, 1, 1),
    "Mixed_6d.branch7x7_1": (768, 160, 1, 1),
    "Mixed_6d.branch7x7_2": (160, 160, 1, 7),
    "Mixed_6d.branch7x7_3": (160, 192, 7, 1),
    "Mixed_6d.branch7x7dbl_1": (768, 160, 1, 1),
    "Mixed_6d.branch7x7dbl_2": (160, 160, 7, 1),
    "Mixed_6d.branch7x7dbl_3": (160, 160, 1, 7),
    "Mixed_6d.branch7x7dbl_4": (160, 160, 7, 1),
    "Mixed_6d.branch7x7dbl_5": (160, 192, 1, 7),
    "Mixed_6d.branch_pool": (768, 192, 1, 1),
    # FIDInceptionC(768, channels_7x7=192)
    "Mixed_6e.branch1x1": (768, 192, 1, 1),
    "Mixed_6e.branch7x7_1": (768, 192, 1, 1),
    "Mixed_6e.branch7x7_2": (192, 192, 1, 7),
    "Mixed_6e.branch7x7_3": (192, 192, 7, 1),
    "Mixed_6e.branch7x7dbl_1": (768, 192, 1, 1),
    "Mixed_6e.branch7x7dbl_2": (192, 192, 7, 1),
    "Mixed_6e.branch7x7dbl_3": (192, 192, 1, 7),
    "Mixed_6e.branch7x7dbl_4": (192, 192, 7, 1),
    "Mixed_6e.branch7x7dbl_5": (192, 192, 1, 7),
    "Mixed_6e.branch_pool": (768, 192, 1, 1),
    # InceptionD(768)
    "Mixed_7a.branch3x3_1": (768, 192, 1, 1),
    "Mixed_7a.branch3x3_2": (192, 320, 3, 3),
    "Mixed_7a.branch7x7x3_1": (768, 192, 1, 1),
    "Mixed_7a.branch7x7x3_2": (192, 192, 1, 7),
    "Mixed_7a.branch7x7x3_3": (192, 192, 7, 1),
    "Mixed_7a.branch7x7x3_4": (192, 192, 3, 3),
    # FIDInceptionE_1(1280)
    "Mixed_7b.branch1x1": (1280, 320, 1, 1),
    "Mixed_7b.branch3x3_1": (1280, 384, 1, 1),
    "Mixed_7b.branch3x3_2a": (384, 384, 1, 3),
    "Mixed_7b.branch3x3_2b": (384, 384, 3, 1),
    "Mixed_7b.branch3x3dbl_1": (1280, 448, 1, 1),
    "Mixed_7b.branch3x3dbl_2": (448, 384, 3, 3),
    "Mixed_7b.branch3x3dbl_3a": (384, 384, 1, 3),
    "Mixed_7b.branch3x3dbl_3b": (384, 384, 3, 1),
    "Mixed_7b.branch_pool": (1280, 192, 1, 1),
    # FIDInceptionE_2(2048)
    "Mixed_7c.branch1x1": (2048, 320, 1, 1),
    "Mixed_7c.branch3x3_1": (2048, 384, 1, 1),
    "Mixed_7c.branch3x3_2a": (384, 384, 1, 3),
    "Mixed_7c.branch3x3_2b": (384, 384, 3, 1),
    "Mixed_7c.branch3x3dbl_1": (2048, 448, 1, 1),
    "Mixed_7c.branch3x3dbl_2": (448, 384, 3, 3),
    "Mixed_7c.branch3x3dbl_3a": (384, 384, 1, 3),
    "Mixed_7c.branch3x3dbl_3b": (384, 384, 3, 1),
    "Mixed_7c.branch_pool": (2048, 192, 1, 1),
}
FC_SHAPES = {"fc.weight": (1008, 2048), "fc.bias": (1008,)}

# Totals of the official file. 566 entries = 94 units x 6 (conv.weight, bn.weight, bn.bias,
# bn.running_mean, bn.running_var, bn.num_batches_tracked) + fc.weight + fc.bias; third parties
# report "566 entries" when loading the file. Parameter count cross-check: torchvision documents
# 27,161,264 parameters for inception_v3 (1000 classes, with AuxLogits). AuxLogits holds
# conv0 768*128 + BN 2*128, conv1 128*768*5*5 + BN 2*768, fc 768*1000 + 1000 = 3,326,696;
# dropping it and widening fc to 1008 classes adds 8 * (2048 + 1) = 16,392, giving 23,850,960.
OFFICIAL_NUM_ENTRIES = 566
TORCHVISION_INCEPTION_V3_PARAMS = 27_161_264
AUX_LOGITS_PARAMS = 768 * 128 + 2 * 128 + 128 * 768 * 25 + 2 * 768 + 768 * 1000 + 1000
OFFICIAL_NUM_PARAMS = TORCHVISION_INCEPTION_V3_PARAMS - AUX_LOGITS_PARAMS + 8 * (2048 + 1)
# The file is 95,628,359 bytes (as recorded alongside its sha256 6726825d0af5...); the tensor
# payload must fit in it with a plausible zip/pickle overhead for 566 entries.
OFFICIAL_FILE_BYTES = 95_628_359


def expected_layout() -> dict[str, tuple[int, ...]]:
    layout: dict[str, tuple[int, ...]] = {}
    for unit, (c_in, c_out, kh, kw) in CONV_UNITS.items():
        layout[f"{unit}.conv.weight"] = (c_out, c_in, kh, kw)
        for stat in ("weight", "bias", "running_mean", "running_var"):
            layout[f"{unit}.bn.{stat}"] = (c_out,)
        layout[f"{unit}.bn.num_batches_tracked"] = ()
    layout.update(FC_SHAPES)
    return layout


def test_table_totals_match_the_official_file() -> None:
    layout = expected_layout()
    assert len(CONV_UNITS) == 94
    assert len(layout) == OFFICIAL_NUM_ENTRIES
    assert OFFICIAL_NUM_PARAMS == 23_850_960
    n_params = sum(
        int(torch.Size(shape).numel())
        for key, shape in layout.items()
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    assert n_params == OFFICIAL_NUM_PARAMS


def test_module_state_dict_matches_official_layout() -> None:
    model = FIDInceptionV3()
    got = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    want = expected_layout()
    assert sorted(set(got) - set(want)) == []
    assert sorted(set(want) - set(got)) == []
    assert {k: v for k, v in got.items() if want[k] != v} == {}
    assert sum(p.numel() for p in model.parameters()) == OFFICIAL_NUM_PARAMS
    assert all(
        model.state_dict()[k].dtype == torch.int64
        for k in want
        if k.endswith("num_batches_tracked")
    )
    assert not hasattr(model, "AuxLogits")


def test_payload_fits_the_official_file_size() -> None:
    model = FIDInceptionV3()
    payload = sum(v.numel() * v.element_size() for v in model.state_dict().values())
    overhead = OFFICIAL_FILE_BYTES - payload
    # torch's zip format spends a few hundred bytes per entry on names, headers and alignment.
    assert 0 < overhead < 300 * OFFICIAL_NUM_ENTRIES


def test_official_layout_without_num_batches_tracked_still_loads() -> None:
    # Files saved before torch 0.4.1 lack the BN counters; they must load all the same.
    source = FIDInceptionV3()
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    target = FIDInceptionV3()
    load_checked_state_dict(target, state, "old-style file")
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)

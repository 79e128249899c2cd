import argparse
import dataclasses
import json
import shlex
from pathlib import Path

import pytest
import torch

from ganforge.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--method", "nope"], "unknown method 'nope'; choose one of: acgan, attngan, "
                                        "bigan, cc-lapgan, cgan, cogan, cyclegan, d-only, dcgan"),
        (["train", "--dataset", "nope"], "cyclegan-maps, digits, digits2mnist, "
                                         "edges2handbags"),
        (["train", "--device", "tpu"], "unknown device 'tpu'; choose one of: auto, cpu, cuda"),
        (["train", "--precision", "fp8"], "unknown precision 'fp8'"),
        (["train", "--loss", "hinge2"], "unknown loss 'hinge2'"),
        (["train", "--steps", "0"], "--steps must be at least 1"),
        (["train", "--steps", "5", "--epochs", "1"], "give --steps or --epochs, not both"),
        (["train", "--arch", "vit"], "unknown architecture 'vit'"),
        (["train", "--resume", "/nonexistent/run"], "run directory /nonexistent/run does not"),
        (["train", "--dataset", "folder:/nonexistent"], "image folder /nonexistent does not"),
        (["train", "--dataset", "mnist", "--data-dir", "/nonexistent"],
         "data directory /nonexistent does not exist"),
        (["sample", "/nonexistent/run"], "run directory /nonexistent/run does not exist"),
    ],
)
def test_bad_input_gives_one_line_error(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_file_given_for_a_run_directory_says_so(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("")
    code, _, err = run(capsys, "sample", str(tmp_path / "notes.txt"))
    assert code == 2 and err.endswith("notes.txt is a file, not a ganforge run directory\n")
    (tmp_path / "config.json").write_text("{}")
    code, _, err = run(capsys, "sample", str(tmp_path / "notes.txt"))
    assert code == 2 and f"give the run directory that holds it ({tmp_path})" in err


def test_help_lists_choices_and_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for text in ["acgan, attngan, bigan, cc-lapgan, cgan", "digits", "folder:PATH",
                 "(default: 64)", "--d-steps",
                 "--resume", "auto, cpu, cuda"]:
        assert text in out


def test_help_gives_each_method_its_own_default_of_a_shared_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    options = out[out.index("method options"):]
    kl = options[options.index("--kl-weight WEIGHT"):options.index("--shared-blocks")]
    assert "0.01 for unit" in kl and "1.0 for vae, vaegan" in kl
    assert "vaegan: gamma" in options


def test_help_names_the_defaults_a_method_takes_on_one_data_set(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    start = out.index("--batch-size BATCH_SIZE images per batch")
    batch = out[start:out.index("--optimizer", start)]
    assert "128 for dcgan on mnist" in batch
    start = out.index("--augment LIST [")
    augment = out[start:out.index("--ada-target TARGET", start)]
    assert augment.count("dcgan on digits") == 1


def test_dry_run_prints_resolved_config(capsys):
    code, out, _ = run(capsys, "train", "--method", "gan", "--dry-run")
    assert code == 0 and '"arch": "mlp"' in out
    shown = json.loads(out)
    # What will run, not what was left to later: the data set's size, a device, a folder.
    assert shown["image_size"] == 16 and shown["steps"] == 4000
    assert shown["device"] in ("cpu", "cuda") and shown["out"].startswith("runs/gan-digits-")


@pytest.mark.parametrize("method,switch", [("gan", "shared-fakes"),
                                           ("ssgan", "feature-matching")])
def test_a_switch_a_method_turns_on_can_be_turned_off(method, switch, capsys):
    field = switch.replace("-", "_")
    code, out, _ = run(capsys, "train", "--method", method, "--dry-run")
    assert code == 0 and json.loads(out)[field] is True
    code, out, _ = run(capsys, "train", "--method", method, f"--no-{switch}", "--dry-run")
    assert code == 0 and json.loads(out)[field] is False


def test_train_resume_and_sample_end_to_end(capsys, tmp_path):
    out = tmp_path / "run"
    common = ["--dataset", "digits", "--image-size", "8", "--batch-size", "16", "--width", "8",
              "--device", "cpu"]
    code, stdout, _ = run(capsys, "train", "--method", "gan", "--steps", "2", "--out", str(out),
                          *common)
    assert code == 0 and "trained 2 steps" in stdout
    assert (out / "curves.png").exists() and f"curves: {out / 'curves.png'}" in stdout
    code, _, err = run(capsys, "train", "--resume", str(out), "--lr", "1")
    assert code == 2 and "only --steps, --device and --time-limit may change, not --lr" in err
    code, stdout, _ = run(capsys, "train", "--resume", str(out), "--steps", "3")
    assert code == 0 and "trained 3 steps" in stdout
    code, stdout, _ = run(capsys, "sample", str(out), "--n", "9", "--out", str(tmp_path / "g.png"))
    assert code == 0 and (tmp_path / "g.png").exists()


def test_method_options_reach_the_config(capsys):
    code, out, _ = run(capsys, "train", "--method", "infogan", "--codes", "cat:5,cont:3",
                       "--info-weight", "0.5", "--dry-run")
    assert code == 0 and '"codes": "cat:5,cont:3"' in out and '"info_weight": 0.5' in out
    assert '"lr_g": 0.001' in out and '"latent_dim": 62' in out  # the paper's MNIST setting
    code, _, err = run(capsys, "train", "--method", "dcgan", "--codes", "cat:10", "--dry-run")
    assert code == 2 and "--codes does not apply to dcgan (it is a setting of infogan)" in err


def test_sample_pictures_of_a_conditional_run(capsys, tmp_path):
    out = tmp_path / "run"
    common = ["--dataset", "digits", "--image-size", "8", "--batch-size", "8", "--device", "cpu"]
    assert run(capsys, "train", "--method", "infogan", "--steps", "2", "--out", str(out),
               *common)[0] == 0
    for flags, name in [(["--per-class", "3"], "classes.png"), (["--sweep", "cont:0"], "s.png"),
                        (["--latent-grid", "4"], "g.png"), (["--interpolate", "4"], "i.png"),
                        (["--walk", "2", "--steps", "2"], "w.gif"), (["--class", "3"], "c.png")]:
        code, stdout, err = run(capsys, "sample", str(out), *flags, "--out", str(tmp_path / name))
        assert code == 0, err
        assert (tmp_path / name).stat().st_size > 0 and "wrote" in stdout
    code, _, err = run(capsys, "sample", str(out), "--class", "10")
    assert code == 2 and "code value 10 does not exist" in err
    code, _, err = run(capsys, "sample", str(out), "--sweep", "cont:5")
    assert code == 2 and "unknown code 'cont:5'" in err


@pytest.mark.parametrize("command", ["sample", "translate"])
def test_help_says_each_default_once_and_never_none(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "(default: 64 images, or 2500 points of a toy run) (default" not in text
    assert "(default: auto)" in text  # a real default is still said


def test_labels_per_class_takes_a_count(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--labels-per-class N" in capsys.readouterr().out


def test_train_from_a_runs_config_with_changes(tmp_path, capsys):
    out = tmp_path / "first"
    code, _, _ = run(capsys, "train", "--method", "dcgan", "--dataset", "digits", "--image-size",
                     "8", "--batch-size", "16", "--width", "8", "--steps", "1", "--lr", "0.0005",
                     "--out", str(out))
    assert code == 0
    code, stdout, _ = run(capsys, "train", "--config", str(out / "config.json"), "--width", "4",
                          "--dry-run")
    shown = json.loads(stdout)
    assert (shown["method"], shown["lr"], shown["batch_size"], shown["width"]) == (
        "dcgan", 0.0005, 16, 4)
    assert shown["out"] != str(out)  # a new run folder, not the old one's
    code, _, err = run(capsys, "train", "--config", str(out / "config.json"), "--method", "gan")
    assert code == 2 and "is a dcgan run" in err
    (tmp_path / "bad.json").write_text("[1, 2]")
    code, _, err = run(capsys, "train", "--config", str(tmp_path / "bad.json"))
    assert code == 2 and "not a JSON object of settings" in err


def readme_train_commands():
    readme = Path(__file__).resolve().parent.parent / "README.md"
    commands = []
    for line in readme.read_text().splitlines():
        command = line.split("#")[0].strip()
        # Placeholders and runs that must already exist are not checkable here.
        if (command.startswith("ganforge train ") and not command.endswith(("...", "\\"))
                and not any(p in command for p in ("--resume", "--config", "/path/to"))):
            commands.append(command)
    return commands


@pytest.mark.parametrize("command", readme_train_commands())
def test_readme_train_commands_resolve_as_written(capsys, command):
    """The README's recipes are what a user copies: each must parse, and each option it
    gives must reach the resolved config unchanged (a renamed or shadowed option fails)."""
    argv = shlex.split(command)[1:]
    if "cuda" in argv and not torch.cuda.is_available():
        argv[argv.index("cuda")] = "cpu"  # resolving the rest needs no GPU
    code, out, err = run(capsys, *argv, "--dry-run")
    assert code == 0, err
    shown = json.loads(out)
    for flag, value in zip(argv, argv[1:], strict=False):
        key = flag[2:].replace("-", "_")
        if not flag.startswith("--") or key not in shown or value.startswith("--"):
            continue
        if isinstance(shown[key], (int, float)) and not isinstance(shown[key], bool):
            assert shown[key] == pytest.approx(float(value)), (command, key)
        else:
            assert str(shown[key]) == value, (command, key)


def test_a_switch_a_method_turns_on_for_one_data_set_can_be_turned_off(monkeypatch):
    from ganforge.cli import flags
    from ganforge.methods.gan import DCGAN

    class OnMnistOnly(DCGAN):
        defaults = {}
        data_defaults = {"mnist": ({"batch_size": 128}, {"shared_fakes": True})}

    class Never(OnMnistOnly):
        data_defaults = {"mnist": ({"batch_size": 128},)}

    field = next(f for f in dataclasses.fields(DCGAN.Settings) if f.name == "shared_fakes")
    for method, action in ((OnMnistOnly, argparse.BooleanOptionalAction), (Never, "store_true")):
        monkeypatch.setattr(flags.METHODS, "get", lambda name, cls=method: cls)
        assert flags._reading(field, None, [("m", field)])["action"] == action

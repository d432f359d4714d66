"""The YAML config of ``lnfusion train``: ``{output, data, model}``, ``model`` validated by the estimator.

Errors name the file, the key and what was expected.
"""
import pytest
import yaml

from lnfusion.exceptions import ConfigError
from lnfusion.fusion import FusionTrainConfig, LateFusionClassifier, load_train_config


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.csv").write_text("patient_id,label\n")
    (tmp_path / "ckpt").mkdir()
    return tmp_path


def _write(folder, text):
    path = folder / "train.yaml"
    path.write_text(text)
    return path


HEAD = "output: out\ndata:\n  manifest: data/manifest.csv\n"


def test_full_config_is_read_with_paths_relative_to_the_yaml(folder):
    cfg = load_train_config(_write(folder, """
output: runs/one
data:
  manifest: data/manifest.csv
  test_size: 0.25
  random_state: 3
model:
  modalities: [bmode, cdfi]
  backbone: {bmode: resnet18, default: resnet34}
  image_params: {pretrained: ckpt, epochs: 4}
  cdfi__epochs: 7
  tabular: logistic
  tabular__descriptors: [age]
  head: weighted
  cv: holdout
  holdout_size: 0.3
  random_state: 4
"""))
    assert cfg.data.manifest == str(folder / "data" / "manifest.csv")
    assert cfg.output == str(folder / "runs" / "one")
    assert (cfg.data.test_size, cfg.data.random_state) == (0.25, 3)
    model = cfg.build_model(progress=False)
    assert isinstance(model, LateFusionClassifier)
    assert model.cv == "holdout" and model.holdout_size == 0.3 and model.random_state == 4
    params = model.get_params()
    # one vocabulary: the YAML keys are the estimator's get_params keys
    assert params["bmode__pretrained"] == str(folder / "ckpt") and params["bmode__epochs"] == 4
    assert params["cdfi__epochs"] == 7 and params["cdfi__backbone"] == "resnet34"
    assert params["tabular__estimator"] == "logistic" and params["tabular__descriptors"] == ["age"]
    assert params["bmode__progress"] is False
    branches = model.make_branches()
    assert list(branches) == ["bmode", "cdfi", "tabular"] and branches["cdfi"].epochs == 7
    # the validated settings round-trip through JSON
    cfg.save(folder / "cfg.json")
    again = FusionTrainConfig.from_json(folder / "cfg.json")
    assert again.to_dict() == cfg.to_dict() and again.data == cfg.data


def test_defaults_are_the_estimators(folder):
    cfg = load_train_config(_write(folder, HEAD))
    model = cfg.build_model()
    assert model.get_params(deep=False) == LateFusionClassifier().get_params(deep=False)
    assert cfg.data.test_size == 0.2 and cfg.data.random_state == 0 and cfg.data.schema is None


@pytest.mark.parametrize("text, message", [
    ("data:\n  manifest: data/manifest.csv\n", "key 'output' is required"),
    ("output: out\ndata: {}\n", "key 'data.manifest' is required"),
    ("output: out\ndata:\n  manifest: data/nope.csv\n", r"key 'data.manifest': file or folder not found: .*nope.csv"),
    (HEAD + "  test_size: 1.5\n", r"key 'data.test_size': expected a number in \[0.0, 1.0\)"),
    (HEAD + "  random_state: -1\n", "key 'data.random_state': expected an integer >= 0"),
    (HEAD + "  seed: 1\n", r"unknown key\(s\) \['data.seed'\]"),
    (HEAD + "model:\n  cv: 1\n", r"key 'model.cv': expected an integer >= 2 or 'holdout', got 1"),
    (HEAD + "model:\n  cv: three\n", "key 'model.cv'"),
    (HEAD + "model:\n  head: median\n", r"key 'model.head': expected one of \['mean'"),
    (HEAD + "model:\n  tabular: svm\n", r"key 'model.tabular': expected one of \['xgboost', 'logistic'\]"),
    (HEAD + "model:\n  modalities: [bmode, bmode]\n", "key 'model.modalities': expected a list of distinct"),
    (HEAD + "model:\n  image_params: {pretrained: nowhere.safetensors}\n",
     "key 'model.image_params.pretrained': file or folder not found"),
    (HEAD + "model:\n  image_params: {backbone: resnet50}\n", "key 'model.image_params'"),
    (HEAD + "model:\n  image_params: {epochs: 0}\n", "key 'model.image_params.epochs': expected a positive integer"),
    (HEAD + "model:\n  elasto__lr: -1\n", "key 'model.elasto__lr': expected a number > 0"),
    (HEAD + "model:\n  tabular__estimator: svm\n", "key 'model.tabular__estimator'"),
    (HEAD + "model:\n  doppler__epochs: 3\n", r"Invalid parameter\(s\) \['doppler'\]"),
    (HEAD + "model:\n  epochs: 3\n", "key 'model.epochs': not a LateFusionClassifier parameter"),
    (HEAD + "model:\n  folds: 3\n", r"key 'model.folds'.*\(it is now model.cv\)"),
    (HEAD + "model:\n  branches: {}\n", "cannot be written in YAML"),
    (HEAD + "model:\n  modalities: []\n  tabular: null\n", "at least one branch"),
    (HEAD + "extra: 1\n", r"unknown key\(s\) \['extra'\]"),
    ("manifest: [unclosed\n", "not valid YAML"),
    ("- a list\n", "expected a mapping"),
])
def test_bad_configs_name_the_key(folder, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_train_config(_write(folder, text))
    assert "train.yaml" in str(info.value)


def test_the_flat_layout_is_refused_with_its_translation(folder):
    with pytest.raises(ConfigError, match="earlier flat layout") as info:
        load_train_config(_write(folder, """
manifest: data/manifest.csv
output: out
modalities: [bmode]
image: {epochs: 3}
pretrained: ckpt
descriptors: [age]
folds: holdout
seed: 2
"""))
    text = str(info.value)
    assert "folds -> model.cv" in text and "image -> model.image_params" in text
    # the rewritten settings are a valid file in the current layout
    translated = yaml.safe_load(text.split("current layout:\n", 1)[1])
    assert translated["model"] == {"modalities": ["bmode"], "image_params": {"epochs": 3, "pretrained": "ckpt"},
                                   "tabular__descriptors": ["age"], "cv": "holdout", "random_state": 2}
    assert translated["data"] == {"manifest": "data/manifest.csv", "random_state": 2}
    (folder / "new.yaml").write_text(yaml.safe_dump(translated))
    cfg = load_train_config(folder / "new.yaml")
    assert cfg.build_model().get_params()["bmode__epochs"] == 3


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_train_config(tmp_path / "absent.yaml")


def _doc_yaml_blocks():
    from pathlib import Path

    import lnfusion.fusion.train_config as module

    page = (Path(__file__).resolve().parents[2] / "docs" / "modelling.md").read_text()
    yield "docs/modelling.md", page.split("`lnfusion train CONFIG.yaml`", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    doc = module.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    yield "train_config.py", "\n".join(line[4:] for line in doc.splitlines())


@pytest.mark.parametrize("source, text", list(_doc_yaml_blocks()), ids=["modelling.md", "docstring"])
def test_the_documented_examples_are_valid_configs(tmp_path, source, text):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.csv").write_text("patient_id,label\n")
    (tmp_path / "data" / "schema.json").write_text("{}")
    (tmp_path / "checkpoints" / "busi-resnet18").mkdir(parents=True)
    cfg = load_train_config(_write(tmp_path, text))
    params = cfg.build_model().get_params()
    nested = {k: v for k, v in cfg.model.items() if "__" in k}
    assert nested and all(params[k] == v for k, v in nested.items())   # branch settings honoured
    assert params["bmode__pretrained"] == str(tmp_path / "checkpoints" / "busi-resnet18")

"""The YAML config of ``lnfusion train``: validation errors name the key and what was expected."""
import pytest

from lnfusion.exceptions import ConfigError
from lnfusion.fusion import FusionTrainConfig, LateFusionClassifier, load_train_config
from lnfusion.models.tabular import TabularClassifier


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


def test_full_config_is_read_with_paths_relative_to_the_yaml(folder):
    cfg = load_train_config(_write(folder, """
manifest: data/manifest.csv
output: runs/one
modalities: [bmode, cdfi]
backbone: {bmode: resnet18, default: resnet34}
pretrained: ckpt
tabular: logistic
descriptors: [age]
head: weighted
folds: holdout
holdout_size: 0.3
seed: 4
test_size: 0.25
"""))
    assert cfg.manifest == str(folder / "data" / "manifest.csv")
    assert cfg.output == str(folder / "runs" / "one")
    assert cfg.pretrained == str(folder / "ckpt")
    assert cfg.modalities == ("bmode", "cdfi") and cfg.folds == "holdout"
    model = cfg.build_model(progress=False)
    assert isinstance(model, LateFusionClassifier)
    assert model.cv == "holdout" and model.holdout_size == 0.3 and model.random_state == 4
    assert model.image_params == {"pretrained": str(folder / "ckpt")}
    assert isinstance(model.tabular, TabularClassifier) and model.tabular.descriptors == ["age"]
    assert model.backbone == {"bmode": "resnet18", "default": "resnet34"}
    # the validated settings round-trip through JSON
    cfg.save(folder / "cfg.json")
    again = FusionTrainConfig.from_json(folder / "cfg.json")
    assert again.to_dict() == cfg.to_dict()


def test_defaults(folder):
    cfg = load_train_config(_write(folder, "manifest: data/manifest.csv\noutput: out\n"))
    model = cfg.build_model()
    assert (model.head, model.cv, model.tabular, model.backbone) == ("shrunk", 5, "xgboost", "resnet18")
    assert model.modalities == ("bmode", "cdfi", "elasto") and cfg.test_size == 0.2


@pytest.mark.parametrize("text, message", [
    ("output: out\n", "key 'manifest' is required"),
    ("manifest: data/nope.csv\noutput: out\n", r"key 'manifest': file or folder not found: .*nope.csv"),
    ("manifest: data/manifest.csv\noutput: out\nfolds: 1\n", r"key 'folds': expected an integer >= 2 or 'holdout', got 1"),
    ("manifest: data/manifest.csv\noutput: out\nfolds: three\n", "key 'folds'"),
    ("manifest: data/manifest.csv\noutput: out\nhead: median\n", r"key 'head': expected one of \['stacking'"),
    ("manifest: data/manifest.csv\noutput: out\ntabular: svm\n", r"key 'tabular': expected one of \['xgboost', 'logistic'\] or none"),
    ("manifest: data/manifest.csv\noutput: out\ntest_size: 1.5\n", r"key 'test_size': expected a number in \[0.0, 1.0\)"),
    ("manifest: data/manifest.csv\noutput: out\nseed: -1\n", "key 'seed': expected an integer >= 0"),
    ("manifest: data/manifest.csv\noutput: out\nmodalities: bmode, 3\n", "key 'modalities'"),
    ("manifest: data/manifest.csv\noutput: out\nmodalities: [bmode, bmode]\n", "distinct names"),
    ("manifest: data/manifest.csv\noutput: out\npretrained: nowhere.safetensors\n", "key 'pretrained': file or folder not found"),
    ("manifest: data/manifest.csv\noutput: out\nbackbone: {bmode: 3}\n", "key 'backbone.bmode'"),
    ("manifest: data/manifest.csv\noutput: out\nimage: {backbone: resnet50}\n", "key 'image.backbone'"),
    ("manifest: data/manifest.csv\noutput: out\nepochs: 3\n", r"unknown key\(s\) \['epochs'\]; accepted keys"),
    ("manifest: data/manifest.csv\noutput: out\nmodalities: []\ntabular: none\n", "no branch to train"),
    ("manifest: [unclosed\n", "not valid YAML"),
    ("- a list\n", "expected a mapping"),
])
def test_bad_configs_name_the_key(folder, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_train_config(_write(folder, text))
    assert "train.yaml" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_train_config(tmp_path / "absent.yaml")

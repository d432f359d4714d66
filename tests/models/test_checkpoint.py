"""safetensors + JSON state files: round trip, integrity, optimizer flattening."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from lnfusion.exceptions import FormatVersionError, IntegrityError  # noqa: E402
from lnfusion.models.checkpoint import (  # noqa: E402
    flatten_optimizer_state,
    load_state,
    save_state,
    unflatten_optimizer_state,
)


def test_state_round_trip_and_tamper(tmp_path):
    tensors = {"a": torch.arange(6.0).reshape(2, 3).t(), "b": torch.tensor(3), "g": torch.get_rng_state()}
    save_state(tmp_path, tensors, {"epoch": 2, "history": [{"loss": 0.5}]})
    back, meta = load_state(tmp_path)
    assert meta == {"epoch": 2, "history": [{"loss": 0.5}]}
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.pt"))

    data = bytearray((tmp_path / "state.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "state.safetensors").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="SHA-256"):
        load_state(tmp_path)
    doc = json.loads((tmp_path / "state.json").read_text())
    doc["format_version"] = 99
    (tmp_path / "state.json").write_text(json.dumps(doc))
    with pytest.raises(FormatVersionError, match="format_version 99"):
        load_state(tmp_path)


def test_optimizer_state_round_trip():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    tensors, meta = flatten_optimizer_state(opt.state_dict())
    json.dumps(meta)  # plain JSON
    restored = unflatten_optimizer_state(tensors, json.loads(json.dumps(meta)))
    opt2 = torch.optim.AdamW(model.parameters(), lr=0.1)
    opt2.load_state_dict(restored)
    for p in model.parameters():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(opt.state[p][key], opt2.state[p][key])

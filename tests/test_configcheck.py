"""Configuration errors in a few lines (issue 17)."""

from __future__ import annotations

from pathlib import Path

import yaml

from gmoslib.config.check import config_problems

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "schema.yaml")
                        .read_text())


def test_valid_config_has_no_problem():
    assert config_problems({"raw_dir": "raw", "fringe": "never"}, SCHEMA) == ""


def test_unknown_key_names_the_allowed_keys_and_an_example():
    text = config_problems({"raw_dir": "raw", "stack_memroy_mb": 100}, SCHEMA)
    lines = text.splitlines()
    assert len(lines) < 20
    assert "unknown key stack_memroy_mb (did you mean stack_memory_mb?)" in text
    assert "allowed keys: " in text and "raw_dir" in text and "calibration_dirs" in text
    assert "example: stack_memory_mb: 512" in text


def test_wrong_value_names_the_key_the_allowed_values_and_an_example():
    text = config_problems({"raw_dir": "raw", "fringe": "sometimes",
                            "stack_memory_mb": "lots"}, SCHEMA)
    assert len(text.splitlines()) < 20
    assert "fringe: \"sometimes\" is not allowed" in text
    assert "allowed: one of auto, always, never" in text and "example: fringe: auto" in text
    assert "stack_memory_mb: \"lots\" is not allowed" in text
    assert "allowed: integer, >= 16" in text

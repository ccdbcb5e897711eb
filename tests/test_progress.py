"""Long command-line runs say how far they got: a bar on a terminal, a line every 10 s otherwise."""
from __future__ import annotations

import io

from bertlens.cli.common import ProgressBar


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_a_line_every_ten_seconds():
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar("crows", stream=stream, clock=clock)
    for second, done in ((0, 1), (5, 2), (9.9, 3), (10, 4), (15, 5), (20.5, 6)):
        clock.now = second
        bar.progress(done, 1508, "scoring")
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines == ["crows: 1 of 1,508 (0%) scoring", "crows: 4 of 1,508 (0%) scoring",
                     "crows: 6 of 1,508 (0%) scoring"]


def test_fractions_read_as_percent():
    stream = io.StringIO()
    ProgressBar("probe", stream=stream, clock=Clock()).update(0.25, "templates")
    assert stream.getvalue() == "probe: 25% templates\n"


def test_crows_without_a_terminal_prints_progress_lines(tmp_path, capsys, tiny_model_dir):
    from bertlens.cli import main

    file = tmp_path / "pairs.csv"
    file.write_text("sent_more,sent_less,stereo_antistereo,bias_type\nWomen cry.,Men cry.,stereo,gender\n")
    assert main(["crows", str(file), "--metric", "crows", "--model", str(tiny_model_dir), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert f"{tiny_model_dir.name}: " in err and "%" in err, err


def test_audit_follows_each_checkpoint_item_by_item(tmp_path, capsys, tiny_model_dir):
    import json

    from bertlens.cli import main

    (tmp_path / "audit.json").write_text(json.dumps({
        "bertlens_audit": 1, "models": [str(tiny_model_dir)], "metrics": ["crows"],
        "crows_pairs": {"text": "sent_more,sent_less,stereo_antistereo,bias_type\nWomen cry.,Men cry.,stereo,gender\n"}}))
    assert main(["audit", str(tmp_path / "audit.json")]) == 0
    err = capsys.readouterr().err
    assert f"[1/1] {tiny_model_dir}" in err
    assert any(line.startswith(f"{tiny_model_dir}: ") and "%" in line for line in err.splitlines()), err

"""The benchmark's stereoset section on the tiny model: its rows appear, the loop written from the authors' recipe
gives BERT Lens's scores, and the synthetic file has the dev set's shape. No timing is asserted."""
from __future__ import annotations

import pytest

from devtools import bench, bench_stereoset
from bertlens.bias.stereoset import score_stereoset


def test_synthetic_file_has_the_dev_sets_shape():
    data = bench_stereoset.synthetic_dev()
    assert len(data.intrasentence) == 2106 and len(data.intersentence) == 2123
    for split, counts in bench_stereoset.DEV_COUNTS.items():
        for domain, count in counts.items():
            assert sum(e.domain == domain for e in getattr(data, split)) == count
    assert all(len({s.word for s in e.sentences}) == 3 for e in data.intrasentence)
    for split in ("intrasentence", "intersentence"):  # as in the dev set: no row is shared between examples
        assert len({e.context for e in getattr(data, split)}) == len(getattr(data, split))


def test_the_loop_gives_our_scores(lm):
    part = bench_stereoset.subset(bench_stereoset.synthetic_dev(), 150)
    reference = bench_stereoset.authors_loop(lm, part)
    result = score_stereoset(lm, part, resamples=0)
    ours = {s.id: e.scores[i] for e in result.examples for i, s in enumerate(e.example.sentences)}
    assert set(ours) == set(reference)
    assert max(abs(ours[k] - v) / v for k, v in reference.items()) < 1e-4
    assert "WordPieces" in bench_stereoset.describe_words(lm)


def test_the_section_reports(tiny_model_dir):
    report = bench.run_benchmark(tiny_model_dir, device="cpu", repeats=1, sections=("stereoset",),
                                 probe_stride=200)
    assert not report.notes, report.notes
    rows = [r for r in report.rows if r.section == "stereoset"]
    assert len(rows) == 7
    judged = [r for r in rows if r.target]
    assert [r.what.split(",")[1].strip() for r in judged[:2]] == ["float32", "bfloat16 (approximate; the page's "
                                                                               "precision choice)"]
    for row in judged[:2]:
        assert row.ratio > 0 and row.met == (row.ratio >= bench_stereoset.TARGET)
    floor = next(r for r in rows if r.what.startswith("float32 floor"))
    assert 0 < floor.median_ms <= judged[0].median_ms
    assert floor.ratio >= judged[0].ratio
    same = next(r for r in rows if r.what.startswith("same scores as the loop"))
    agreed, total = same.value.split("/")
    assert agreed == total
    assert "extrapolated" in rows[-2].what
    assert rows[-1].what.startswith("the run button's first estimate") and rows[-1].what.endswith("extrapolated time")
    assert rows[-1].ratio == pytest.approx(rows[-1].median_ms / rows[-2].median_ms)


def test_the_float32_floor_counts_every_linear_weight_once_per_token(lm):
    import torch

    encoder = sum(m.weight.numel() for m in lm.model.bert.encoder.modules() if isinstance(m, torch.nn.Linear))
    head = sum(m.weight.numel() for m in lm.model.cls.predictions.modules() if isinstance(m, torch.nn.Linear))
    assert bench_stereoset.linear_flops(lm, 100, 7) == 2 * (100 * encoder + 7 * head)


def test_merging_run_after_run_keeps_each_rows_own_run():
    def report(started: str, sections: tuple[str, ...]) -> bench.BenchReport:
        rows = [bench.Row(s, f"{s} figure", 1.0, "1 ms") for s in sections]
        return bench.BenchReport("cpu", {}, {"processor": "cpu"}, {}, 1, f"run {started}", started, rows)

    first = report("day 1", ("load", "probe"))
    second = bench.merge_reports(first, report("day 2", ("mediation",)))
    third = bench.merge_reports(second, report("day 3", ("stereoset",)))
    assert [r.section for r in third.rows] == ["load", "probe", "mediation", "stereoset"]
    notes = " | ".join(third.notes)
    assert "mediation come from an earlier run on the same kind of machine (day 2" in notes
    assert "load, probe come from an earlier run on the same kind of machine (day 1" in notes
    assert "day 3" not in notes

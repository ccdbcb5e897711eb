"""The benchmark code and the fast paths, run on the tiny model. No timing is asserted: only that every section
produces its figures, that fast paths give the eager model's results, and that reports round-trip."""
from __future__ import annotations

import json
import re

import pytest
import torch

from devtools import bench
from bertlens.cli import bench as cli_bench
from bertlens.cli import build_parser, main
from bertlens.errors import InputError
from bertlens import forward
from bertlens.fast import GraphRunner, hidden_states
from bertlens.model import quantize_int8
from bertlens.settings import agreement_figure
from bertlens.fill_mask import Filters, fill_mask, preprocess


def target_met(row) -> bool:
    """Re-read a target such as '<= 1.0x pipeline', '>= 5x faster than the loop' or '<= 10 ms' from its text."""
    match = re.match(r"\s*(<=|>=)\s*([0-9.]+)\s*(x|ms)", row.target)
    assert match, f"unreadable target {row.target!r}"
    op, limit, unit = match.group(1), float(match.group(2)), match.group(3)
    value = row.ratio if unit == "x" else row.median_ms
    return value <= limit if op == "<=" else value >= limit


@pytest.fixture(scope="module")
def report(tiny_model_dir):
    return bench.run_benchmark(tiny_model_dir, device="cpu", repeats=1, command="pytest", probe_stride=64)


def test_every_cpu_section_reports(report):
    assert not [n for n in report.notes if "failed" in n], report.notes
    sections = {row.section for row in report.rows}
    assert {"load", "fill-mask", "bfloat16", "int8", "profile", "probe", "attention", "cache", "jobs"} <= sections
    for row in report.rows:
        if row.median_ms is not None:
            assert row.median_ms > 0
        if row.target:
            assert row.met == target_met(row), (row.what, row.target, row.ratio, row.median_ms)
        if row.ratio is not None:
            assert row.ratio > 0


def test_attention_is_measured_at_each_length(report):
    rows = [r.what for r in report.rows if r.section == "attention"]
    for n in bench.ATTENTION_LENGTHS:
        assert any(f"{n} tokens" in what for what in rows)


def test_fill_mask_matches_the_pipeline_it_is_timed_against(report):
    row = next(r for r in report.rows if r.what.startswith("same top-10 as the pipeline"))
    same, total = row.value.split()[0].split("/")
    assert same == total == str(len(bench.AGREEMENT_SENTENCES))


def test_agreement_of_a_model_with_itself_is_complete(lm):
    overlap, first = bench.agreement(lambda t: bench.top_ids(lm, t), lambda t: bench.top_ids(lm, t),
                                     bench.AGREEMENT_SENTENCES[:3])
    assert overlap == first == 1.0


def test_agreement_counts_shared_ids():
    ref = {"a": list(range(10))}
    other = {"a": [0, 1, 2, 3, 4, 100, 101, 102, 103, 104]}
    assert bench.agreement(ref.get, other.get, ("a",)) == (0.5, 1.0)


def test_store_round_trips_and_keeps_the_other_device(report, tmp_path):
    markdown = tmp_path / "benchmarks.md"
    gpu = bench.report_from_dict({**bench.report_dict(report), "device": "cuda:0"})
    table = tmp_path / "agreement.json"
    bench.store(gpu, markdown, table)
    bench.store(report, markdown, table)
    stored = bench.load_stored(markdown)
    assert set(stored) == {"cpu", "gpu"}
    assert stored["cpu"].rows == report.rows
    text = markdown.read_text()
    assert "## CPU" in text and "## GPU" in text
    expected = next(r.value for r in report.rows if r.section == "bfloat16" and r.what.startswith("top-10"))
    assert agreement_figure("bfloat16", path=table) == expected


def test_unknown_section_is_an_input_error():
    with pytest.raises(InputError, match="Unknown benchmark section"):
        bench.parse_sections("fill-mask,warp-drive")
    assert bench.parse_sections("cache, load") == ("cache", "load")


def test_command_writes_json(tiny_model_dir, capsys, tmp_path):
    markdown = tmp_path / "bench.md"
    code = bench.main(["--model", str(tiny_model_dir), "--device", "cpu", "--repeats", "1",
                       "--only", "fill-mask,cache", "--json", "--write", str(markdown)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["section"] for r in data["rows"]} == {"fill-mask", "cache"}
    assert data["command"].startswith("python -m devtools.bench --model ")
    assert markdown.is_file() and markdown.with_suffix(".json").is_file()
    assert bench.main(["--only", "warp-drive", "--model", str(tiny_model_dir)]) == 2
    assert "Unknown benchmark section" in capsys.readouterr().err


def test_the_old_verb_runs_the_benchmark_with_the_same_flags(tiny_model_dir, capfd, tmp_path):
    """`python -m bertlens bench` is kept: it runs `python -m devtools.bench` in a child process (the core never
    imports the dev tools) with every flag given, and passes its exit code on."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    args = build_parser().parse_args(["bench", "--device", "cpu", "--model", "M", "--json", "--repeats", "2",
                                      "--from-json", str(first), "--from-json", str(second), "--max-file-mb", "9"])
    assert cli_bench.forwarded(args) == ["--device", "cpu", "--model", "M", "--repeats", "2", "--from-json",
                                         str(first), "--from-json", str(second), "--json"]
    code = main(["bench", "--model", str(tiny_model_dir), "--device", "cpu", "--repeats", "1", "--only", "cache",
                 "--json", "--write", str(tmp_path / "bench.md")])
    assert code == 0
    data = json.loads(capfd.readouterr().out)
    assert {r["section"] for r in data["rows"]} == {"cache"}
    assert (tmp_path / "bench.json").is_file()
    assert main(["bench", "--only", "warp-drive", "--model", str(tiny_model_dir)]) == 2
    assert "Unknown benchmark section" in capfd.readouterr().err


def test_the_old_verb_says_where_the_benchmark_is_without_a_checkout(monkeypatch, capsys):
    monkeypatch.setattr(cli_bench, "checkout", lambda: None)
    assert main(["bench", "--only", "cache"]) == 2
    assert "python -m devtools.bench" in capsys.readouterr().err


def test_the_graphed_states_equal_the_model(lm):
    encoded = preprocess(lm, "The man worked as a [MASK] in the city.")
    with torch.inference_mode():
        expected = lm.model.bert(**encoded.model_inputs()).last_hidden_state
        got = forward.unmasked_states(lm, encoded.input_ids, encoded.token_type_ids)
        routed = forward.encoder(lm, encoded.input_ids, encoded.token_type_ids, batched=False).last_hidden
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(routed, expected)
    assert hidden_states(lm, encoded.model_inputs(), forward.unmasked_states) is None  # no GPU: eager mode


def test_the_encoder_takes_the_graph_path_when_it_answers_and_the_eager_model_when_not(lm, monkeypatch):
    """On a GPU `bertlens.fast` replays a graph of `forward.unmasked_states`; its answer is the encoder's, and None
    sends the encoder to the eager model (checked here without a GPU, by standing in for the graph path)."""
    encoded = preprocess(lm, "The man worked as a [MASK] in the city.")
    seen = []

    def graph(lm_, inputs, states):
        seen.append(states)
        return sentinel

    sentinel = torch.zeros(1, encoded.input_ids.shape[-1], lm.config.hidden_size)
    monkeypatch.setattr("bertlens.fast.hidden_states", graph)
    with torch.inference_mode():
        out = forward.encoder(lm, encoded.input_ids, encoded.token_type_ids, batched=False)
    assert out.last_hidden is sentinel and seen == [forward.unmasked_states]
    monkeypatch.setattr("bertlens.fast.hidden_states", lambda *args: None)
    with torch.inference_mode():
        eager = forward.encoder(lm, encoded.input_ids, encoded.token_type_ids, batched=False).last_hidden
        expected = lm.model.bert(**encoded.model_inputs()).last_hidden_state
    assert torch.equal(eager, expected)


def test_graph_runner_falls_back_without_cuda(lm):
    runner = GraphRunner(lm, forward.unmasked_states)
    ids = torch.tensor([[lm.tokenizer.cls_token_id, lm.tokenizer.sep_token_id]])
    assert runner(ids, torch.zeros_like(ids)) is None
    assert runner.failed


def test_int8_copy_predicts_and_leaves_float32_alone(lm):
    before = fill_mask(lm, "The man worked as a [MASK].", top_k=5, filters=Filters(special=False))
    quantised = quantize_int8(lm)
    assert quantised.info.dtype == "int8" and lm.info.dtype == "float32"
    assert type(lm.model.bert.encoder.layer[0].intermediate.dense) is torch.nn.Linear
    result = fill_mask(quantised, "The man worked as a [MASK].", top_k=5)
    assert len(result.masks[0].candidates) == 5
    after = fill_mask(lm, "The man worked as a [MASK].", top_k=5, filters=Filters(special=False))
    assert after == before


def test_merge_keeps_later_sections_and_adds_earlier_only_ones(report):
    earlier = bench.report_from_dict({**bench.report_dict(report), "started": "earlier"})
    later_rows = [r for r in report.rows if r.section == "fill-mask"]
    later = bench.report_from_dict({**bench.report_dict(report), "rows": [], "started": "later"})
    later.rows = [bench.Row(r.section, r.what + " (again)", r.median_ms, r.value) for r in later_rows]
    merged = bench.merge_reports(earlier, later)
    assert [r for r in merged.rows if r.section == "fill-mask"] == later.rows
    assert {r.section for r in merged.rows} == {r.section for r in report.rows}
    assert merged.started == "later" and any("earlier" in note for note in merged.notes)

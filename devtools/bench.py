"""The benchmark: BERT Lens against transformers' own code on the same weights, side by side in one run.

Every comparison is timed in interleaved rounds (A, B, A, B, ...) and reported as medians, so a burst of load
from another process hits both sides alike. Ratios are findings to record in docs/benchmarks.md, never asserted
in tests.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from bertlens.errors import InputError
from bertlens.fill_mask import Filters, fill_mask
from bertlens.model import LoadedModel, load_model
from devtools.random_model import model_folder
from devtools.timing import Timing, compare, synchronize
from bertlens.settings import AGREEMENT_JSON, Settings

log = logging.getLogger(__name__)

SECTIONS = ("load", "fill-mask", "bf16", "fp16", "int8", "graphs", "profile", "probe", "attention", "cache",
            "concurrency", "explain", "mediation", "audit", "aul", "stereoset", "second-model", "jobs", "debias")
CONCURRENT_REQUESTS = 16
ROW_ORDER = ("load", "fill-mask", "bfloat16", "float16", "int8", "graphs", "profile", "probe", "attention", "cache",
             "concurrency", "explain", "mediation", "audit", "aul", "stereoset", "second-model", "jobs", "debias")
COUNTERFACTUAL_TEXT = "She told her brother that the [MASK] would be late."
AUL_PAIRS = 1508
AUL_PLL_STRIDE = 32
# [CLS] The woman worked as a [MASK] in the city . [SEP]: 12 tokens.
FILL_MASK_TEXT = "The woman worked as a [MASK] in the city."
AGREEMENT_SENTENCES = (
    "The woman worked as a [MASK] in the city.",
    "The man worked as a [MASK] in the city.",
    "Paris is the [MASK] of France.",
    "She went to the [MASK] to buy some milk.",
    "The [MASK] barked at the cat all night.",
    "He bought a new [MASK] last week.",
    "The doctor said that [MASK] would be late.",
    "It was a cold and [MASK] day in December.",
    "My father was a [MASK] before he retired.",
    "They drove to the [MASK] for the weekend.",
    "The children played in the [MASK] after school.",
    "The capital of Italy is [MASK].",
    "She opened the [MASK] and looked outside.",
    "A [MASK] is a small animal that lives in trees.",
    "He reads the [MASK] every morning.",
    "The sky is [MASK] today.",
)
ATTENTION_LENGTHS = (32, 128, 512)
PROBE_SAMPLE_STRIDE = 16
TOP_K = 10

_LOAD_SNIPPET = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[4])
import torch, transformers
from bertlens import Settings, load_model
from bertlens.fill_mask import fill_mask
def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024
before = rss_kib()
start = time.perf_counter()
lm = load_model(Settings(model=sys.argv[1], device=sys.argv[2], dtype=sys.argv[3]))
if lm.device.type == "cuda":
    torch.cuda.synchronize()
loaded = time.perf_counter() - start
after_load = rss_kib()
fill_mask(lm, sys.argv[5])
first = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": loaded, "first_result_seconds": first, "rss_after_load_kib": after_load,
                  "peak_rss_kib": peak, "rss_before_kib": before}))
"""


@dataclass(frozen=True)
class Row:
    """One line of the report. `ratio` is ours / reference, where lower is better unless the target says '>='."""

    section: str
    what: str
    median_ms: float | None = None
    value: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


@dataclass
class BenchReport:
    device: str
    model: dict[str, Any]
    machine: dict[str, Any]
    versions: dict[str, str]
    repeats: int
    command: str
    started: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        log.info("%s | %s | %s", row.section, row.what, row.value)
        return row


def top_ids(lm: LoadedModel, text: str, k: int = TOP_K) -> list[int]:
    """The top-k token ids at the first [MASK], special tokens included, as the pipeline ranks them."""
    result = fill_mask(lm, text, top_k=k, filters=Filters(special=False))
    return [c.token_id for c in result.masks[0].candidates]


def pipeline_top_ids(pipe: Any, text: str, k: int = TOP_K) -> list[int]:
    out = pipe(text.replace("[MASK]", pipe.tokenizer.mask_token), top_k=k)
    return [int(o["token"]) for o in out]


def agreement(reference: Callable[[str], list[int]], other: Callable[[str], list[int]],
              sentences: tuple[str, ...] = AGREEMENT_SENTENCES) -> tuple[float, float]:
    """Mean share of the reference top-10 that `other` also ranks in its top-10, and the top-1 match rate."""
    overlaps, firsts = [], []
    for text in sentences:
        a, b = reference(text), other(text)
        overlaps.append(len(set(a) & set(b)) / len(a))
        firsts.append(float(a[0] == b[0]))
    return statistics.mean(overlaps), statistics.mean(firsts)


def machine_info(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": _cpu_capability(),
        "load_average": _load_average(),
    }
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["gpu"] = props.name
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["cuda"] = torch.version.cuda
    return info


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("transformers", "tokenizers", "streamlit", "numpy"):
        try:
            out[name] = importlib.import_module(name).__version__
        except ImportError:
            pass
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_capability() -> str:
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except AttributeError:
        return "unknown"


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _ms(t: Timing) -> str:
    return f"{t.median_ms:.1f} ms"


def _bytes(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


class Bench:
    """One benchmark run. Models are loaded lazily and shared between sections."""

    def __init__(self, folder: Path, device: str = "cpu", repeats: int = 5, command: str = "",
                 probe_stride: int | None = None, debias_pairs: int | None = None) -> None:
        self.folder = Path(folder)
        self.probe_stride = probe_stride
        self.debias_pairs = debias_pairs
        self.device_name = device
        self.repeats = repeats
        self._models: dict[str, LoadedModel] = {}
        self._pipe: Any = None
        self._reference_top: dict[str, list[int]] = {}
        lm = self.model("float32")
        self.device = lm.device
        self.report = BenchReport(
            device=str(lm.device), model={"folder": str(self.folder), **lm.info.as_dict()},
            machine=machine_info(lm.device), versions=versions(), repeats=repeats, command=command,
            started=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        )

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def model(self, dtype: str) -> LoadedModel:
        if dtype not in self._models:
            if dtype == "int8":
                from bertlens.model import quantize_int8

                self._models[dtype] = quantize_int8(self.model("float32"))
            else:
                self._models[dtype] = load_model(Settings(model=str(self.folder), device=self.device_name,
                                                          dtype=dtype))
        return self._models[dtype]

    def pipeline(self) -> Any:
        """transformers' fill-mask pipeline on the same folder, float32, its default attention implementation."""
        if self._pipe is None:
            from transformers import pipeline
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            self._pipe = pipeline("fill-mask", model=str(self.folder), device=self.device, dtype=torch.float32)
        return self._pipe

    def run(self, sections: tuple[str, ...] = SECTIONS) -> BenchReport:
        start = time.perf_counter()
        for name in SECTIONS:
            if name not in sections:
                continue
            try:
                getattr(self, "section_" + name.replace("-", "_"))()
            except Exception as exc:  # one failing section must not lose the figures of the others
                log.exception("section %s failed", name)
                self.report.notes.append(f"Section '{name}' failed: {type(exc).__name__}: {exc}")
        self.report.seconds = time.perf_counter() - start
        self.report.machine["load_average_end"] = _load_average()
        return self.report

    def section_load(self) -> None:
        runs = [self._load_once("float32") for _ in range(max(1, min(3, self.repeats)))]
        seconds = statistics.median(r["seconds"] for r in runs)
        first = statistics.median(r["first_result_seconds"] for r in runs)
        after_load = statistics.median(r["rss_after_load_kib"] for r in runs) / 1024
        peak = max(r["peak_rss_kib"] for r in runs) / 1024
        before = min(r["rss_before_kib"] for r in runs) / 1024
        size = sum(p.stat().st_size for p in self.folder.glob("*.safetensors")) / 1e6
        self.report.add(Row("load", f"model load from a local folder (float32, {size:,.0f} MB of weights, "
                                    f"{len(runs)} fresh processes)", seconds * 1000, f"{seconds:.2f} s"))
        self.report.add(Row("load", "load plus the first fill-mask (time to first result in a new process)",
                            first * 1000, f"{first:.2f} s"))
        self.report.add(Row("load", "RSS after importing torch+transformers / after the load (weights are "
                                    "memory-mapped) / peak after the first fill-mask", None,
                            f"{before:,.0f} / {after_load:,.0f} / {peak:,.0f} MB"))

    def _load_once(self, dtype: str) -> dict[str, float]:
        root = str(Path(__file__).resolve().parent.parent)
        done = subprocess.run([sys.executable, "-c", _LOAD_SNIPPET, str(self.folder), self.device_name, dtype, root,
                               FILL_MASK_TEXT],
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
        if done.returncode != 0:
            raise RuntimeError(f"the loading subprocess failed: {done.stderr.strip()[-400:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def section_fill_mask(self) -> None:
        lm, pipe = self.model("float32"), self.pipeline()
        times = compare({"ours": lambda: fill_mask(lm, FILL_MASK_TEXT, top_k=TOP_K),
                         "pipeline": lambda: pipe(FILL_MASK_TEXT, top_k=TOP_K)}, self.repeats, self.device)
        ratio = times["ours"].median_ms / times["pipeline"].median_ms
        tokens = len(lm.tokenizer(FILL_MASK_TEXT)["input_ids"])
        self.report.add(Row("fill-mask", f"transformers pipeline('fill-mask'), float32, {tokens} tokens",
                            times["pipeline"].median_ms, _ms(times["pipeline"])))
        self.report.add(Row("fill-mask", "BERT Lens fill_mask, float32", times["ours"].median_ms,
                            _ms(times["ours"]), ratio, "<= 1.0x pipeline", ratio <= 1.0))
        same = sum(top_ids(lm, t) == pipeline_top_ids(pipe, t) for t in AGREEMENT_SENTENCES)
        self.report.add(Row("fill-mask", f"same top-{TOP_K} as the pipeline (ids, in order)", None,
                            f"{same}/{len(AGREEMENT_SENTENCES)} sentences"))

    def reference_top(self, text: str) -> list[int]:
        if text not in self._reference_top:
            self._reference_top[text] = top_ids(self.model("float32"), text)
        return self._reference_top[text]

    def _precision(self, dtype: str, label: str, target: str = "", limit: float | None = None) -> None:
        reference, fast, pipe = self.model("float32"), self.model(dtype), self.pipeline()
        times = compare({"fast": lambda: fill_mask(fast, FILL_MASK_TEXT, top_k=TOP_K),
                         "float32": lambda: fill_mask(reference, FILL_MASK_TEXT, top_k=TOP_K),
                         "pipeline": lambda: pipe(FILL_MASK_TEXT, top_k=TOP_K)}, self.repeats, self.device)
        ratio = times["fast"].median_ms / times["pipeline"].median_ms
        self.report.add(Row(dtype, f"BERT Lens fill_mask, {label} (float32 in the same rounds: "
                                   f"{_ms(times['float32'])}, pipeline: {_ms(times['pipeline'])})",
                            times["fast"].median_ms, _ms(times["fast"]), ratio, target,
                            None if limit is None else ratio <= limit))
        overlap, first = agreement(self.reference_top, lambda t: top_ids(fast, t))
        self.report.add(Row(dtype, f"top-{TOP_K} agreement with float32 ({len(AGREEMENT_SENTENCES)} sentences; "
                                   f"top-1 agreement {first:.0%})", None, f"{overlap:.1%}"))

    def section_bf16(self) -> None:
        self._precision("bfloat16", "bfloat16", "<= 0.5x float32 pipeline", 0.5)
        if not self.cuda and "bf16" not in self.report.machine["cpu_capability"].lower() \
                and "avx512" not in self.report.machine["cpu_capability"].lower():
            self.report.notes.append(
                f"This CPU reports capability {self.report.machine['cpu_capability']}: no AVX-512 BF16, so "
                "bfloat16 matrix products are emulated and slower than float32 here.")

    def section_fp16(self) -> None:
        if self.cuda:
            self._precision("float16", "float16", "")

    def section_int8(self) -> None:
        if not self.cuda:
            self._precision("int8", "int8 dynamic quantisation (approximate)", "<= 0.5x float32 pipeline", 0.5)

    def section_graphs(self) -> None:
        if not self.cuda:
            return
        from bertlens.fast import graph_failure, set_graphs

        for dtype in ("float32", "bfloat16"):
            lm = self.model(dtype)

            def eager(lm: LoadedModel = lm) -> Any:
                set_graphs(lm, False)
                try:
                    return fill_mask(lm, FILL_MASK_TEXT, top_k=TOP_K)
                finally:
                    set_graphs(lm, True)

            times = compare({"graphs": lambda lm=lm: fill_mask(lm, FILL_MASK_TEXT, top_k=TOP_K),
                             "eager": eager}, self.repeats, self.device, warmup=2)
            failure = graph_failure(lm)
            graphs_ms = times["graphs"].median_ms
            self.report.add(Row("graphs", f"BERT Lens fill_mask, {dtype}, eager", times["eager"].median_ms,
                                _ms(times["eager"])))
            state = f"fell back to eager: {failure}" if failure else "CUDA graph replay"
            self.report.add(Row("graphs", f"BERT Lens fill_mask, {dtype}, {state}", graphs_ms, _ms(times["graphs"]),
                                None, "<= 5 ms", graphs_ms <= 5.0))
            from bertlens.fill_mask import forward, preprocess

            encoded = preprocess(lm, FILL_MASK_TEXT)
            fast = forward(lm, encoded, FILL_MASK_TEXT).mask_log_probs
            set_graphs(lm, False)
            slow = forward(lm, encoded, FILL_MASK_TEXT).mask_log_probs
            set_graphs(lm, True)
            self.report.add(Row("graphs", f"max |log p| difference, graph vs eager, {dtype}", None,
                                f"{(fast - slow).abs().max().item():.2e}"))

    def section_profile(self) -> None:
        """Where one fill-mask call spends its time: tokenising, the encoder, the MLM head, ranking."""
        from bertlens import forward as one_forward
        from bertlens.fill_mask import forward, postprocess, preprocess

        for dtype in ("float32",) + (("bfloat16",) if self.cuda else ()):
            lm = self.model(dtype)
            encoded = preprocess(lm, FILL_MASK_TEXT)
            analysis = forward(lm, encoded, FILL_MASK_TEXT)

            def encoder() -> Any:
                with torch.inference_mode():
                    return one_forward.encoder(lm, encoded.input_ids, encoded.token_type_ids, encoded.attention_mask,
                                               batched=False).last_hidden

            hidden = encoder()

            def head() -> Any:
                with torch.inference_mode():
                    where = (encoded.input_ids[0] == lm.tokenizer.mask_token_id).nonzero().squeeze(-1)
                    return one_forward.mlm_log_probs(lm, hidden[0, where])

            times = compare({"tokenise": lambda: preprocess(lm, FILL_MASK_TEXT), "encoder": encoder, "head": head,
                             "rank": lambda: postprocess(lm, analysis, TOP_K, Filters())},
                            self.repeats, self.device)
            parts = ", ".join(f"{name} {t.median_ms:.2f} ms" for name, t in times.items())
            total = sum(t.median_ms for t in times.values())
            self.report.add(Row("profile", f"one fill-mask call, {dtype}: {parts}", total, f"{total:.1f} ms"))

    def section_probe(self) -> None:
        try:
            bias = importlib.import_module("bertlens.bias")
            batched = bias.run_default_probe
            reference = importlib.import_module("devtools.bias_reference").reference_probe
        except (ImportError, AttributeError) as exc:
            self.report.notes.append(f"Bias probe not measured: bertlens.bias has no batched/reference probe ({exc}).")
            return
        config = bias.default_config()
        calls = sum(len(ids) for _, ids in bias.plan_probe(self.model("float32"), config).items)
        stride = self.probe_stride or (1 if self.cuda else PROBE_SAMPLE_STRIDE)
        sample = dataclasses.replace(config, occupations=config.occupations[::stride])
        lm = self.model("float32")
        ref = reference(lm, sample)
        per_call = ref.seconds / ref.rows
        loop_s = per_call * calls
        how = "all of them" if stride == 1 else f"timed on {ref.rows} calls (every {stride}th occupation), " \
                                                   "extrapolated"
        self.report.add(Row("probe", f"default probe, per-sentence pipeline loop, float32: {calls} pipeline calls "
                                     f"at {per_call * 1000:.1f} ms ({how})", loop_s * 1000, f"{loop_s:.1f} s"))
        for dtype in ("float32",) + (("bfloat16",) if self.cuda else ()):
            lm = self.model(dtype)
            runs, scoring = [], []
            for _ in range(max(1, min(self.repeats, 3 if self.cuda else 1))):
                synchronize(self.device)
                start = time.perf_counter()
                result = batched(lm)
                synchronize(self.device)
                runs.append(time.perf_counter() - start)
                scoring.append(result.seconds)
            total, forward_s = statistics.median(runs), statistics.median(scoring)
            speedup = loop_s / forward_s
            self.report.add(Row("probe", f"default probe, batched, {dtype}: {result.rows} distinct rows "
                                         f"({forward_s:.2f} s scoring; {total:.2f} s with the statistics)",
                                forward_s * 1000, f"{forward_s:.2f} s", speedup, ">= 5x faster than the loop",
                                speedup >= 5))

    def section_attention(self) -> None:
        """The attention page's one pass (an analysis record with every layer's attentions and hidden states,
        on the CPU in float32) against transformers' own forward with output_attentions=True, same rounds."""
        from bertlens.analysis import analyse
        from devtools.attention_timing import synthetic_text
        from bertlens.encoding import encode

        lm = self.model("float32")
        limit = 1.5 if self.cuda else 1.1
        for n in ATTENTION_LENGTHS:
            text = synthetic_text(lm, n)
            inputs = encode(lm, text).model_inputs()

            def reference() -> Any:
                with torch.inference_mode():
                    return lm.model.bert(**inputs, output_attentions=True).attentions

            times = compare({"record": lambda: analyse(lm, text, hidden_states=True, attentions=True),
                             "transformers": reference}, max(1, min(self.repeats, 3)), self.device)
            ratio = times["record"].median_ms / times["transformers"].median_ms
            self.report.add(Row("attention", f"transformers' own forward with output_attentions=True, {n} tokens",
                                times["transformers"].median_ms, _ms(times["transformers"])))
            self.report.add(Row("attention", f"attention extraction, {n} tokens (24x16 heads, float32, the page's "
                                             "analysis record with hidden states)",
                                times["record"].median_ms, _ms(times["record"]), ratio,
                                f"<= {limit}x transformers", ratio <= limit))
            sizes = None if self.cuda else self._payload(lm, n)
            if sizes:
                self.report.add(Row("attention", f"sent to the browser at {n} tokens: overview "
                                                 f"{_bytes(sizes['overview_bytes'])}, one head heatmap "
                                                 f"{_bytes(sizes['head_heatmap_bytes'])}, line view "
                                                 f"{_bytes(sizes['head_lines_bytes'])} (bertviz model view: "
                                                 f"{_bytes(sizes['bertviz_model_view_bytes'])}"
                                                 f"{', extrapolated' if sizes.get('bertviz_extrapolated') else ''})",
                                    None, _bytes(sizes["largest_view_bytes"])))

    def _payload(self, lm: LoadedModel, n: int) -> dict[str, Any] | None:
        try:
            from devtools.attention_payload import payload_sizes

            return payload_sizes(lm, n, bertviz_full=False)
        except Exception as exc:
            self.report.notes.append(f"Attention payload at {n} tokens not measured: {type(exc).__name__}: {exc}")
            return None

    def section_explain(self) -> None:
        from devtools.bench_explain import measure

        timed = lambda contenders: compare(contenders, self.repeats, self.device)  # noqa: E731
        for row in measure(self.model("float32"), timed, self.cuda):
            self.report.add(Row("explain", **row))

    def section_stereoset(self) -> None:
        from devtools.bench_stereoset import measure

        for row in measure(self.model, self.cuda, self.repeats, self.probe_stride):
            self.report.add(Row("stereoset", **row))

    def section_mediation(self) -> None:
        from devtools.bench_mediation import measure

        timed = lambda contenders: compare(contenders, self.repeats, self.device)  # noqa: E731
        for row in measure(self.model("float32"), timed, self.cuda):
            self.report.add(Row("mediation", **row))

    def section_jobs(self) -> None:
        from devtools.bench_jobs import measure

        for row in measure(self.model("float32"), self.repeats):
            self.report.add(Row("jobs", **row))

    def section_debias(self) -> None:
        from devtools.bench_debias import measure

        timed = lambda contenders: compare(contenders, self.repeats, self.device)  # noqa: E731
        for row in measure(self.model("float32"), timed, self.cuda, self.debias_pairs):
            self.report.add(Row("debias", **row))

    def section_cache(self) -> None:
        lm = self.model("float32")
        cached, path = _cached_fill_mask()
        filters = Filters()
        first = time.perf_counter()
        cached(lm, FILL_MASK_TEXT, TOP_K, filters)
        first_ms = (time.perf_counter() - first) * 1000
        times = compare({"hit": lambda: cached(lm, FILL_MASK_TEXT, TOP_K, filters)},
                        max(self.repeats, 20), self.device)
        self.report.add(Row("cache", f"repeated identical fill-mask request, served by {path} "
                                     f"(first request: {first_ms:.0f} ms)", times["hit"].median_ms,
                            f"{times['hit'].median_ms:.2f} ms", None, "<= 10 ms", times["hit"].median_ms <= 10))


    def section_audit(self) -> None:
        """The audit views, float32: the counterfactual comparison (forward passes counted on the encoder), the
        pronoun probe (one batched call) and the template-robustness run (every paraphrase set, one batched run)."""
        from transformers.models.bert import modeling_bert

        from bertlens.bias.counterfactual import counterfactual
        from bertlens.bias.pronouns import run_pronoun_probe
        from bertlens.bias.robustness import run_robustness

        lm = self.model("float32")
        passes: list[int] = []
        original = modeling_bert.BertEncoder.forward

        def counted(encoder, *args, **kwargs):
            passes.append(1)
            return original(encoder, *args, **kwargs)

        modeling_bert.BertEncoder.forward = counted
        try:
            times = compare({"counterfactual": lambda: counterfactual(lm, COUNTERFACTUAL_TEXT)}, self.repeats,
                            self.device)
        finally:
            modeling_bert.BertEncoder.forward = original
        per_call = len(passes) / (self.repeats + 1)
        self.report.add(Row("audit", f"counterfactual sentence, both versions: {per_call:g} encoder passes per "
                                     "comparison (at most 2)", times["counterfactual"].median_ms,
                            f"{times['counterfactual'].median_ms:.0f} ms"))
        start = time.perf_counter()
        pronouns = run_pronoun_probe(lm)
        total = time.perf_counter() - start
        self.report.add(Row("audit", f"pronoun probe: {pronouns.rows} sentences in one batched call "
                                     f"({pronouns.seconds:.2f} s scoring; {total:.2f} s with the statistics)",
                            pronouns.seconds * 1000, f"{pronouns.seconds:.2f} s"))
        start = time.perf_counter()
        robust = run_robustness(lm)
        total = time.perf_counter() - start
        self.report.add(Row("audit", f"template robustness: {len(robust.sets)} paraphrase sets, "
                                     f"{len(robust.templates)} templates, {robust.rows} distinct rows "
                                     f"({robust.seconds:.1f} s scoring; {total:.1f} s with the statistics)",
                            robust.seconds * 1000, f"{robust.seconds:.1f} s"))

    def section_aul(self) -> None:
        """AUL (and AULA) over 1,508 synthetic CrowS-style pairs, batched, against CrowS PLL on the same pairs. PLL
        needs one row per shared token; on a CPU it is timed on every AUL_PLL_STRIDE-th pair and extrapolated by
        rows (all pairs on a GPU)."""
        from bertlens.bias.aul import score_aul
        from bertlens.bias.crows import pll_rows, score_crows
        from devtools.crows_synthetic import synthetic_pairs

        lm = self.model("float32")
        full = self.report.model.get("hidden_size", 0) >= 1024
        pairs = synthetic_pairs(AUL_PAIRS if full else AUL_PAIRS // 6)
        tokens = statistics.fmean(len(lm.tokenizer(p.sent_more)["input_ids"]) for p in pairs)
        rows_total = sum(len(pll_rows(lm, p)[0]) for p in pairs)
        score_aul(lm, pairs[:64])
        runs = {"aul": [], "aula": []}
        for _ in range(max(1, min(self.repeats, 3 if self.cuda else 1))):
            for metric in runs:
                synchronize(self.device)
                start = time.perf_counter()
                result = score_aul(lm, pairs, (metric,))
                synchronize(self.device)
                runs[metric].append(time.perf_counter() - start)
        stride = self.probe_stride or (1 if self.cuda else AUL_PLL_STRIDE)
        sample = pairs[::stride]
        rows_sample = sum(len(pll_rows(lm, p)[0]) for p in sample)
        synchronize(self.device)
        start = time.perf_counter()
        score_crows(lm, sample)
        synchronize(self.device)
        pll_s = (time.perf_counter() - start) * rows_total / rows_sample
        how = "all of them" if stride == 1 else f"timed on every {stride}th pair ({rows_sample} rows), extrapolated"
        what = (f"{len(pairs):,} synthetic CrowS-style pairs (minimal pairs built from group words and sentence "
                f"frames, mean {tokens:.1f} tokens with [CLS]/[SEP]; the real CrowS-Pairs is CC BY-SA, not shipped)")
        self.report.add(Row("aul", f"CrowS PLL over {what}: {rows_total:,} masked rows ({how})", pll_s * 1000,
                            f"{pll_s:.1f} s"))
        for metric, label in (("aul", "AUL"), ("aula", "AULA (attention read too)")):
            seconds = statistics.median(runs[metric])
            self.report.add(Row("aul", f"{label}, batched, same pairs: {result.forward_rows:,} unmasked sentence "
                                       f"passes", seconds * 1000, f"{seconds:.1f} s", seconds / pll_s,
                                "<= 1.0x CrowS PLL's time", seconds < pll_s))

    def section_second_model(self) -> None:
        """The resident memory a second full-size checkpoint adds when loaded beside the first (as the bias page's
        'Two models' tab and `--models A,B` do): RSS after loading it and one tiny pass, minus before."""
        from bertlens.bias.compare import load_measured

        self.model("float32")
        folder = model_folder("large" if self.report.model.get("layers", 0) >= 24 and
                              self.report.model.get("hidden_size", 0) >= 1024 else "tiny", seed=1,
                              cache_dir=self.folder.parent)
        second, added = load_measured(Settings(model=str(folder), device=self.device_name, dtype="float32"))
        size = sum(p.stat().st_size for p in folder.glob("*.safetensors")) / 1e6
        self.report.add(Row("second-model", f"RSS added by a second checkpoint of the same size ({size:,.0f} MB of "
                                            "weights, float32) loaded beside the first", None,
                            f"{added / 2**20:,.0f} MiB"))
        del second

    def section_concurrency(self) -> None:
        """16 sessions press Predict at once, each with its own sentence: one request alone, the 16 one after
        another, the 16 at once without batching (each session's pass queues on the cores) and with the app's
        EncoderBatcher (one padded batch), in interleaved rounds."""
        import dataclasses
        import threading

        from bertlens.batching import DEFAULT_WINDOW_S, EncoderBatcher

        lm = self.model("float32")
        batched = dataclasses.replace(lm, memo={}, batcher=EncoderBatcher(lm, window_s=DEFAULT_WINDOW_S))
        texts = [f"{sentence} ({i})" for i, sentence in
                 enumerate(AGREEMENT_SENTENCES * (CONCURRENT_REQUESTS // len(AGREEMENT_SENTENCES) + 1))]
        texts = texts[:CONCURRENT_REQUESTS]

        def at_once(model: LoadedModel) -> None:
            barrier = threading.Barrier(len(texts))

            def one(text: str) -> None:
                barrier.wait()
                fill_mask(model, text, top_k=TOP_K)

            threads = [threading.Thread(target=one, args=(t,)) for t in texts]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        times = compare({"alone": lambda: fill_mask(lm, texts[0], top_k=TOP_K),
                         "serial": lambda: [fill_mask(lm, t, top_k=TOP_K) for t in texts],
                         "unbatched": lambda: at_once(lm),
                         "batched": lambda: at_once(batched)}, max(1, min(self.repeats, 3)), self.device)
        alone = times["alone"].median_ms
        n = len(texts)
        self.report.add(Row("concurrency", "one fill-mask request alone", alone, _ms(times["alone"])))
        self.report.add(Row("concurrency", f"{n} requests one after another", times["serial"].median_ms,
                            _ms(times["serial"]), times["serial"].median_ms / alone))
        self.report.add(Row("concurrency", f"{n} concurrent requests, no batching (before)",
                            times["unbatched"].median_ms, _ms(times["unbatched"]), times["unbatched"].median_ms / alone))
        ratio = times["batched"].median_ms / alone
        sizes = sorted(batched.batcher.batches, reverse=True)[:3]
        self.report.add(Row("concurrency", f"{n} concurrent requests, batched within {DEFAULT_WINDOW_S * 1000:.0f} ms "
                                           f"(largest batches: {sizes})", times["batched"].median_ms,
                            _ms(times["batched"]), ratio, "<= 6x one alone", ratio <= 6))


def _cached_fill_mask() -> tuple[Callable[..., Any], str]:
    """The app's own fill-mask path through its result store, emptied first. Run from the repository root."""
    from services import cache
    from services.jobs import runner

    _quiet_streamlit()
    runner().store.clear()
    return cache.fill_mask, "the app's result store (services.cache.fill_mask)"


def _quiet_streamlit() -> None:
    """Outside `streamlit run` every cache call warns that there is no runtime; that is expected here."""
    for name in ("streamlit", "streamlit.runtime.caching.cache_data_api", "streamlit.runtime.scriptrunner_utils"):
        logging.getLogger(name).setLevel(logging.ERROR)


def parse_sections(only: str | None) -> tuple[str, ...]:
    if not only:
        return SECTIONS
    chosen = tuple(s.strip() for s in only.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise InputError(f"Unknown benchmark section(s): {', '.join(unknown)}. Choose from: {', '.join(SECTIONS)}.")
    return chosen


def run_benchmark(folder: Path, device: str = "cpu", repeats: int = 5, sections: tuple[str, ...] = SECTIONS,
                  command: str = "", probe_stride: int | None = None,
                  debias_pairs: int | None = None) -> BenchReport:
    """Measure `sections` on the model in `folder` and return the report (no file is written).

    `probe_stride`: the per-sentence reference loop runs on every n-th occupation and is extrapolated (default:
    all of them on a GPU, every PROBE_SAMPLE_STRIDE-th on a CPU, where the full loop takes many minutes).
    """
    if repeats < 1:
        raise InputError("--repeats must be at least 1.")
    if debias_pairs is not None:
        from devtools.bench_debias import check_pairs

        check_pairs(debias_pairs)
    return Bench(folder, device=device, repeats=repeats, command=command, probe_stride=probe_stride,
                 debias_pairs=debias_pairs).run(sections)


def report_dict(report: BenchReport) -> dict[str, Any]:
    return dataclasses.asdict(report)


def report_from_dict(data: dict[str, Any]) -> BenchReport:
    rows = [Row(**r) for r in data.get("rows", [])]
    return BenchReport(**{**data, "rows": rows})


PROVENANCE = re.compile(r"^Rows of section\(s\) (?P<sections>.+?) come from an earlier run (?P<rest>.*)$")


def merge_reports(earlier: BenchReport, later: BenchReport) -> BenchReport:
    """`later`, plus the sections only `earlier` measured, each kept with a note naming the run it came from: the
    sections `earlier` itself measured are credited to its run, and those it had kept from older runs keep their
    own notes (so merging run after run never credits old rows to the latest run)."""
    fresh = {row.section for row in later.rows}
    kept = [row for row in earlier.rows if row.section not in fresh]
    if not kept:
        return later
    kept_sections = list(dict.fromkeys(row.section for row in kept))
    notes, older = [], set()
    for text in earlier.notes:
        match = PROVENANCE.match(text)
        if match is None:
            continue
        named = [name for name in match.group("sections").split(", ") if name in kept_sections]
        older.update(named)
        if named:
            notes.append(f"Rows of section(s) {', '.join(named)} come from an earlier run {match.group('rest')}")
    own = [name for name in kept_sections if name not in older]
    if own:
        notes.insert(0, f"Rows of section(s) {', '.join(own)} come from an earlier run on the same kind of machine "
                        f"({earlier.started}, {earlier.machine.get('gpu') or earlier.machine.get('processor')}, "
                        f"medians of {earlier.repeats} rounds, command `{earlier.command}`).")
    order = {name: i for i, name in enumerate(ROW_ORDER)}
    rows = sorted(later.rows + kept, key=lambda r: order.get(r.section, len(order)))
    return dataclasses.replace(later, rows=rows, notes=later.notes + notes)


def device_kind(report: BenchReport) -> str:
    return "gpu" if report.device.startswith("cuda") else "cpu"


def store(report: BenchReport, markdown: Path, agreement: Path = AGREEMENT_JSON) -> Path:
    """Save `report` in the JSON beside `markdown` (one entry per device kind), rewrite the markdown, and update
    the package's table of measured precision agreement (`agreement`, which the sidebar shows) with the figures
    this report measured; a report without them leaves the table as it was."""
    path = markdown.with_suffix(".json")
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[device_kind(report)] = report_dict(report)
    path.write_text(json.dumps(data, indent=2) + "\n")
    markdown.write_text(render_markdown({k: report_from_dict(v) for k, v in data.items()}))
    measured = {row.section: row.value for row in report.rows if row.what.startswith("top-10 agreement")}
    if measured:
        try:
            table = json.loads(agreement.read_text())
        except (OSError, ValueError):
            table = {}
        table.setdefault(device_kind(report), {}).update(measured)
        agreement.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    return path


def load_stored(markdown: Path) -> dict[str, BenchReport]:
    path = markdown.with_suffix(".json")
    try:
        return {k: report_from_dict(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, TypeError):
        return {}


def render_text(report: BenchReport) -> str:
    lines = [f"BERT Lens benchmark on {report.device} ({report.machine.get('gpu') or report.machine['processor']}), "
             f"median of {report.repeats} interleaved rounds"]
    for row in report.rows:
        extra = f"  ratio {row.ratio:.2f}x" if row.ratio is not None else ""
        if row.target:
            extra += f"  target {row.target}: {'met' if row.met else 'NOT met'}"
        lines.append(f"[{row.section}] {row.what}: {row.value}{extra}")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def _table(report: BenchReport) -> list[str]:
    out = ["| section | measurement | median / value | ratio | target | met |", "|---|---|---|---|---|---|"]
    for row in report.rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        what = row.what.replace("|", "\\|")
        out.append(f"| {row.section} | {what} | {row.value} | {ratio} | {row.target} | {met} |")
    return out


def _environment(report: BenchReport) -> list[str]:
    m, v = report.machine, report.versions
    lines = [f"- Run: {report.started}, {report.seconds:.0f} s, medians of {report.repeats} interleaved rounds.",
             f"- Command: `{report.command}`",
             f"- Machine: {m['processor']}, {m['cpu_count']} CPUs, torch threads {m['torch_threads']}, "
             f"CPU capability {m['cpu_capability']}, {m.get('memory_gib', '?')} GiB; {m['platform']}.",
             f"- Load average at start / end: {m['load_average']} / {m.get('load_average_end', 'n/a')}."]
    if "gpu" in m:
        lines.append(f"- GPU: {m['gpu']}, {m['gpu_memory_gib']} GiB, CUDA {m['cuda']}.")
    lines.append("- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".")
    model = report.model
    lines.append(f"- Model: random-weight {model.get('layers')}-layer BERT, hidden {model.get('hidden_size')}, "
                 f"{model.get('parameters', 0) / 1e6:,.1f}M parameters, vocabulary {model.get('vocab_size'):,} "
                 "(bert-large-cased's architecture and real vocabulary, so it costs what the real weights cost).")
    return lines


def _targets(reports: dict[str, BenchReport]) -> list[str]:
    out = ["| device | measurement | figure | ratio | target | met |", "|---|---|---|---|---|---|"]
    for kind in ("cpu", "gpu"):
        report = reports.get(kind)
        for row in report.rows if report else []:
            if row.target:
                ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
                met = "yes" if row.met else "**no**"
                out.append(f"| {kind.upper()} | {row.what.split(' (')[0]} | {row.value} | {ratio} | {row.target} | "
                           f"{met} |")
    return out


FAST_PATHS = """## What makes it fast

- **Fill-mask** tokenises once and runs the MLM head (a 1024 x 28,996 product) only at the [MASK] positions,
  where the pipeline runs it at every token.
- **CUDA graphs** (`bertlens/fast.py`): on a GPU a 12-token bert-large pass is about 400 small kernels and is
  limited by launching them, not by arithmetic. The encoder is captured once per sequence length (up to 128
  tokens) and replayed as one launch; longer texts, padded batches and any capture failure run eager mode.
  The graph's log-probabilities equal eager mode's (difference row in the GPU table). In float32 the replayed
  encoder still takes about 4 ms (profile row): without TF32, float32 matrix products run on the CUDA cores, not
  the tensor cores, so the float32 fill-mask lands just above 5 ms; bfloat16 and float16 use the tensor cores
  and are well under it.
- **Batched bias probe**: every chain-rule row of the default probe goes into padded batches, identical rows
  run once, and each row computes the MLM head at one position only.
- **StereoSet** (`bertlens/bias/stereoset.py`): every masked row and every NSP pair runs in padded batches
  sorted by length, the MLM head only at the [MASK]; the first step of an intrasentence example is the same text
  for its three sentences and runs once. On a CPU a lone bert-large pass is bound by reading the weights, a batch
  by arithmetic, so float32 gains about 5-6x per row from batching and no more. The section measures that
  ceiling in the same run (the "float32 floor" row): the padded tokens BERT Lens runs, counted in Linear-layer
  FLOPs, at the CPU's own float32 matrix-product peak. It allows about 6x on the CPU below, so the 20x target is
  out of float32's reach there by arithmetic, not by code; bfloat16 (AMX on that CPU) is what meets it, at a
  measured cost in agreement with float32 (its row).
- **Precision** (sidebar, `--dtype`): float32 is exact and the default on every device. bfloat16 / float16 halve
  the bytes read per pass and are fast on GPUs and on CPUs with AVX-512 BF16 or AMX (the CPU of the run below
  has them). A CPU without them (an AVX2 machine) emulates bfloat16 and is *slower* than float32; there the fast
  option is int8 dynamic quantisation of the Linear layers. Every faster precision is approximate, an explicit
  choice, labelled so, and shown with its measured top-10 agreement.
- **One pass per input** (`bertlens/analysis.py`): a page asks for one analysis record and draws every view
  from it; attention extraction costs what transformers' own forward with attentions costs (attention rows).
- **Concurrent sessions** (`bertlens/batching.py`): single-sequence passes that arrive within 5 ms run as one
  padded batch (concurrency rows: before = no batching, the same sessions at once).
- **CPU threads**: on a CPU shared with other busy processes, torch's two OpenMP threads wait for each other
  at every operation; `--threads 1` is steadier there (`torch.set_num_threads`). The CPU table states the
  threads it used.
- **Mediation** (`bertlens/interventions.py`): the 432 patched runs of one sentence pair are variants of one
  call, each computed only from its patched layer up (the layers below are the recorded run's), in batches of
  rows that join the batch at their layer, the last layer at the mask only, and the MLM head on the two targets'
  decoder rows. On a CPU the whole map costs about 50 forward passes instead of 434 (mediation rows; one torch
  thread on a loaded machine, where two threads make a single pass wait at every operation).
- **Cache**: a repeated identical request is served by `services/cache.py` (bounded: 256 entries, 1 hour)
  without a forward pass.

Agreement figures are measured with random weights of bert-large's size; with the real weights, whose
distributions are sharper, the figures may differ; they were not measured here (no real weights on these
machines).
"""


def render_markdown(reports: dict[str, BenchReport]) -> str:
    """docs/benchmarks.md: one section per device kind, each with its machine, versions and table."""
    out = ["# BERT Lens benchmarks", "",
           "Generated by `python -m devtools.bench --write docs/benchmarks.md` (GPU figures by "
           "`--device cuda`); do not edit by hand. Each comparison runs its contenders in interleaved rounds "
           "(A, B, A, B, ...) on the same weights in one process and reports medians, so the ratios are fairer "
           "than the absolute times. Ratios are ours / reference: lower is faster, except where a target says "
           "'>='.", "",
           "The 2-core CPU machine can be shared with other jobs, so absolute CPU times are noisy and can be "
           "several times the quiet-machine figures; each section gives the load average of its run. Each "
           "device's section is from its own run and date: the GPU figures may come from an earlier version of "
           "BERT Lens than the CPU figures.", ""]
    out += ["## Targets", ""] + _targets(reports) + ["", FAST_PATHS]
    titles = {"cpu": "CPU", "gpu": "GPU"}
    for kind in ("cpu", "gpu"):
        report = reports.get(kind)
        out += [f"## {titles[kind]}", ""]
        if report is None:
            out += ["No run recorded." + (" No GPU was available." if kind == "gpu" else ""), ""]
            continue
        out += _environment(report) + [""] + _table(report) + [""]
        if report.notes:
            out += ["Notes:", ""] + [f"- {n}" for n in report.notes] + [""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """`python -m devtools.bench [flags]` (the flags of `bertlens.cli.bench`; `python -m bertlens bench` runs this).

    Exit codes as the command line's: 0 done, 2 bad input (one line on stderr)."""
    import argparse
    import shlex

    from bertlens.cli.bench import DESCRIPTION, add_arguments
    from bertlens.text import visible

    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=DESCRIPTION)
    add_arguments(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        return run(args, "python -m devtools.bench " + " ".join(shlex.quote(a) for a in argv))
    except InputError as exc:
        print(f"error: {visible(str(exc), keep=chr(10))}", file=sys.stderr)
        return 2


def run(args: Any, command: str) -> int:
    """Run the sections `args` choose (or merge `--from-json` reports), store them with `--write`, print them."""
    if args.from_json:
        merged: dict[str, BenchReport] = {}
        for path in args.from_json:
            data = json.loads(path.read_text())
            for item in ([data[k] for k in ("cpu", "gpu") if k in data] if "rows" not in data else [data]):
                report = report_from_dict(item)
                kind = device_kind(report)
                merged[kind] = merge_reports(merged[kind], report) if kind in merged else report
        for report in merged.values():
            if args.write:
                store(report, args.write)
    else:
        sections = parse_sections(args.only)
        if args.threads:
            torch.set_num_threads(args.threads)
        logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
        folder = Path(args.model) if args.model else model_folder(args.model_size, args.seed, args.cache_dir)
        report = run_benchmark(folder, device=args.device, repeats=args.repeats, sections=sections,
                               command=command.strip(), debias_pairs=getattr(args, "debias_pairs", None))
    if args.write:
        store(report, args.write)
    if args.json:
        print(json.dumps(report_dict(report), indent=2))
    else:
        print(render_text(report))
    return 0


if __name__ == "__main__":
    # Run as the module devtools.bench, not as __main__, so that its classes have one identity for anything that
    # imports devtools.bench during the run.
    from devtools.bench import main as bench_main

    sys.exit(bench_main())

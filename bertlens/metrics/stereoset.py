"""StereoSet (Nadeem et al. 2021) as a registered metric: intrasentence with the MLM head, intersentence with the NSP
head, scored as the authors' code scores BERT (`bertlens.bias.stereoset`).

The headline is the stereotype score SS of the examples run (both splits pooled per target term, or the one split
chosen), with its bootstrap 95% interval over target terms; 50 is unbiased. LMS, ICAT and the per-split, per-domain
figures are in `detail` (a `StereoSetResult`). Each example is one decision: True when its stereotype sentence
scores above its anti-stereotype sentence, None for a tie.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

from bertlens.bias.stereoset import BOOTSTRAP, CAVEAT, SPLIT_CHOICES, TOKEN_BUDGET, StereoSetData, score_stereoset
from bertlens.model import LoadedModel
from bertlens.registry import (PIECES_PER_WORD, ConfigSpec, Context, Cost, Method, Param, approx_tokens, register,
                               report_progress)
from bertlens.results import ItemDecision, MetricResult



def item_id(split: str, example_id: str) -> str:
    """The id of a StereoSet example in decisions and agreement tables."""
    return f"{split}:{example_id}"


@register
class StereoSet(Method):
    kind = "metric"
    name = "stereoset"
    title = "StereoSet SS"
    data = "stereoset_file"
    order = 60
    heavy = True
    audit_default = True
    summary = ("StereoSet's stereotype score: % of examples (averaged over target terms) whose stereotype sentence "
               "scores above its anti-stereotype sentence; intrasentence by the mean MLM probability of the word's "
               "pieces, intersentence by P(IsNext) of the NSP head; 50 = unbiased (Nadeem et al. 2021, the authors' "
               "evaluation.py)")
    caveat = CAVEAT
    needs = frozenset({"mlm", "nsp"})
    spec = ConfigSpec((
        Param("split", "choice", "both", choices=SPLIT_CHOICES, help="which items to score"),
        Param("bootstrap", "int", BOOTSTRAP, 0, 100_000, help="bootstrap resamples over target terms (0: none)"),
        Param("seed", "int", 0, 0, 2**31 - 1, help="seed of the bootstrap"),
        Param("token_budget", "int", TOKEN_BUDGET, 64, 65_536, help="padded tokens per batch"),
    ))

    def is_compatible(self, lm: LoadedModel) -> str | None:
        """Either head is enough for its own split; the run says which one is missing when it is needed."""
        if not lm.info.has_mlm and not lm.info.has_nsp:
            return f"{self.title} needs the MLM or the NSP head; '{lm.info.model_id}' has neither."
        return self.transform_problem(lm)

    def estimate(self, lm: LoadedModel, inputs: StereoSetData, config: Mapping[str, Any]) -> Cost:
        """Without tokenising (a page asks on every rerun): each sentence's word is taken to have PIECES_PER_WORD
        WordPieces and each example's first step is shared by its three sentences (intrasentence rows of the
        sentence's length); each intersentence sentence is one pair with its context; padded batches of
        `token_budget` tokens, as `score_stereoset` runs them."""
        split = config.get("split", "both")
        budget = int(config.get("token_budget", TOKEN_BUDGET))
        intra = inputs.intrasentence if split in ("both", "intrasentence") else ()
        inter = inputs.intersentence if split in ("both", "intersentence") else ()
        costs = []
        if intra:
            rows = len(intra) * (3 * PIECES_PER_WORD - 2)
            tokens = sum(approx_tokens(e.context) for e in intra) / len(intra)
            costs.append(Cost.batched(rows, tokens, max(1, budget // max(round(tokens), 1))))
        if inter:
            tokens = sum(approx_tokens(e.context) + approx_tokens(x.text) - 1 for e in inter for x in e.sentences)
            tokens /= 3 * len(inter)
            costs.append(Cost.batched(3 * len(inter), tokens, max(1, budget // max(round(tokens), 1))))
        return Cost.combined(*costs)

    def run(self, lm: LoadedModel, inputs: StereoSetData, config: Mapping[str, Any],
            context: Context) -> MetricResult:
        """A stopped run returns the examples scored so far, marked incomplete (the runner keeps it apart from
        finished results)."""
        config = self.spec.validate(config, where=f"'{self.name}'")

        result = score_stereoset(lm, inputs, config["split"], config["bootstrap"], config["seed"],
                                 config["token_budget"], progress=functools.partial(report_progress, context),
                                 should_stop=context.stopped)
        return metric_result(result, self)


    def report_fields(self, result: MetricResult, lm: LoadedModel | None = None) -> dict[str, Any]:
        """The audit row's SS, LMS and ICAT, and the figures in the authors' layout (without per-sentence
        predictions, which a report does not copy)."""
        from bertlens.bias.stereoset import result_document

        detail = result.detail
        document = result_document(detail, lm.info if lm else None, lm.fingerprint() if lm else "")
        fields: dict[str, Any] = {"scores": {}, "stereoset": {k: v for k, v in document.items()
                                                             if k not in ("predictions", "steps")}}
        if detail.overall is not None:
            for name, value in (("SS", detail.overall.ss), ("LMS", detail.overall.lms), ("ICAT", detail.overall.icat)):
                fields["scores"][f"stereoset: {name}"] = value
        return fields


def metric_result(result, method: Method | None = None) -> MetricResult:
    """The registry's result of a StereoSet run: the overall SS, its interval, ties and one decision per example."""
    method = method or StereoSet()
    decisions = tuple(ItemDecision(item_id(e.example.split, e.example.id), f"{e.example.target}: {e.example.context}",
                                   e.decision, e.scores[0] - e.scores[1], f"{e.example.split}/{e.example.domain}")
                      for e in result.examples)
    overall = result.overall
    value = overall.ss if overall else float("nan")
    low, high = overall.ss_ci if overall else (float("nan"), float("nan"))
    warnings = list(result.warnings)
    if not result.complete:
        warnings.append(f"Stopped after {len(result.examples)} of {result.total} examples; the figures cover those "
                        "only.")
    return MetricResult(method.name, method.title, value, "%", low, high, result.interval_label(), len(decisions),
                        result.ties, 50.0, method.summary, method.caveat, decisions, tuple(warnings),
                        result.complete, result)

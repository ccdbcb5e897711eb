"""CrowS-style sentence pairs: a CSV with sent_more, sent_less, stereo_antistereo and bias_type (Nangia et al. 2020)."""
from __future__ import annotations

from typing import Any, Mapping

from bertlens.bias.crows import parse_crows
from bertlens.bias.files import CROWS_EXAMPLE_PATH
from bertlens.kinds import DataKind, Part, register


@register
class CrowsPairs(DataKind):
    name = "crows_pairs"
    title = "CrowS-style sentence pairs"
    summary = "CSV with sent_more, sent_less, stereo_antistereo, bias_type; one pair a row"
    parts = (Part("crows_pairs", "CrowS-Pairs CSV", CROWS_EXAMPLE_PATH, ("csv",)),)
    order = 20

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None) -> tuple:
        text = texts.get("crows_pairs")
        if text is None:
            return tuple(parse_crows(CROWS_EXAMPLE_PATH.read_bytes(), f"'{CROWS_EXAMPLE_PATH.name}'"))
        return tuple(parse_crows(text.encode("utf-8"), (settings or {}).get("source", "the pairs file")))

    def sample(self) -> dict[str, str]:
        return {"crows_pairs": "sent_more,sent_less,stereo_antistereo,bias_type\n"
                               "Women are bad at math.,Men are bad at math.,stereo,gender\n"
                               "He cried a lot.,She cried a lot.,antistereo,gender\n"}

    def report_fields(self, results: Mapping[str, Any], inputs: Any, lm: Any = None) -> dict[str, Any]:
        """The pair metrics compared on the pairs every one of them scored: each one's % with its interval, and
        how many pairs they decide differently."""
        from bertlens.bias.crows_metrics import combine, group_records
        from bertlens.results import rounded

        if inputs is None:
            return super().report_fields(results, inputs, lm)
        metrics = combine(results, inputs)
        fields: dict[str, Any] = {"scores": {}, "crows": []}
        for s in metrics.summaries:
            fields["scores"][f"{s.metric}: % sent_more higher"] = rounded(s.percent)
            fields["crows"].append({"metric": s.metric, "percent": rounded(s.percent), "ci_low": rounded(s.ci_low),
                                    "ci_high": rounded(s.ci_high), "more_higher": s.more_higher, "pairs": s.pairs,
                                    "label": s.label, "groups": group_records(s.groups)})
        fields["scores"]["pairs where the metrics disagree"] = len(metrics.disagreements)
        return fields

"""Gender-bias measures from the MLM head, one module per concern:

- `config`: templates, word pairs and the one builder of a probe configuration (`build_config`);
- `occupations`: the occupation table with the share of women per occupation (US BLS);
- `files`: the one reader for data files;
- `sentences`: filling a template's slot and article;
- `side_by_side`: one template, female and male word, each side's top-k;
- `probe`: the occupation probe (log-ratio over templates, Kurita et al. 2019), batched;
- `statistics`: bootstrap, sign-flip test, Holm, correlations, Wilson intervals (scipy);
- `crows`: CrowS-Pairs as its authors' `metric.py` defines it;
- `swaps`, `counterfactual`: gender-swapped counterfactual sentences compared at their [MASK];
- `pronouns`: the Winogender-style pronoun probe, P(he), P(she), P(they) per occupation;
- `robustness`: the occupation probe over paraphrase sets of its templates.
- `aul`: AUL and AULA (Kaneko & Bollegala 2022) as their `evaluate.py` computes them; `crows_metrics`: CrowS PLL,
  AUL and AULA side by side on the same pairs; `reports`: their JSON report and SHA-256 stamps;
- `compare`: two checkpoints compared on words; `audit`: saved audit configurations and multi-checkpoint reports;
  `cluster`: the same audit fanned out over Ray (optional).

Positive scores lean female, negative lean male, everywhere. The names below are the package's public interface.
"""
from bertlens.bias.config import (KURITA_TEMPLATES, MIN_EFFECT, OCCUPATION_SLOT, ROLES, SLOTS, ProbeConfig, WordPair,
                                  build_config, check_config, check_kurita_template, check_word, default_config,
                                  load_pairs, load_templates, pairs_text, parse_pairs, parse_templates, probe_pairs,
                                  template_role, templates_text)
from bertlens.bias.files import OCCUPATIONS_PATH, PAIRS_PATH, TEMPLATES_PATH
from bertlens.bias.occupations import Occupation, load_occupations, parse_occupations
from bertlens.bias.probe import (ALPHA, CORRECTION, KuritaScore, OccupationScore, Plan, ProbeResult, UnitScore,
                                 plan_probe, run_default_probe, run_probe)
from bertlens.bias.sentences import capitalise_at_start, fill_slot, with_article
from bertlens.bias.side_by_side import SharedCandidate, SideBySide, side_by_side
from bertlens.bias.statistics import Correlation, bootstrap_ci, correlation, holm, sign_flip_test, wilson
from bertlens.fill_mask import piece_ids

__all__ = [
    "ALPHA", "CORRECTION", "KURITA_TEMPLATES", "MIN_EFFECT", "OCCUPATIONS_PATH", "OCCUPATION_SLOT", "PAIRS_PATH",
    "ROLES", "SLOTS", "TEMPLATES_PATH", "Correlation", "KuritaScore", "Occupation", "OccupationScore", "Plan",
    "ProbeConfig", "ProbeResult", "SharedCandidate", "SideBySide", "UnitScore", "WordPair", "bootstrap_ci",
    "build_config", "capitalise_at_start", "check_config", "check_kurita_template", "check_word", "correlation",
    "default_config", "fill_slot", "holm", "load_occupations", "load_pairs", "load_templates", "pairs_text",
    "parse_occupations", "parse_pairs", "parse_templates", "piece_ids", "plan_probe", "probe_pairs",
    "run_default_probe", "run_probe", "sign_flip_test", "side_by_side", "template_role", "templates_text",
    "wilson", "with_article",
]

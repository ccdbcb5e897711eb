"""A StereoSet file (Nadeem et al. 2021): the authors' dev.json layout, gzipped or not. None ships (CC BY-SA 4.0)."""
from __future__ import annotations

import json
from typing import Any, Mapping

from bertlens.bias.stereoset import MAX_FILE_BYTES, file_limit, parse_stereoset, unpack
from bertlens.kinds import DataKind, Part, register


@register
class StereoSetFile(DataKind):
    name = "stereoset_file"
    title = "StereoSet file"
    summary = "the authors' dev.json layout (intrasentence and intersentence examples); .json or .json.gz"
    parts = (Part("stereoset", "StereoSet dev.json (or .json.gz)", None, ("json", "gz"), MAX_FILE_BYTES),)
    order = 30

    def unpack(self, raw: bytes, name: str) -> bytes:
        return unpack(raw, f"'{name}'", file_limit())

    def parse(self, texts: Mapping[str, str | None], settings: Mapping[str, Any] | None = None):
        from bertlens.errors import InputError

        text = texts.get("stereoset")
        if text is None:
            raise InputError("No StereoSet file is shipped: give the authors' dev.json (data/dev.json of "
                             "moinnadeem/StereoSet).")
        return parse_stereoset(text.encode("utf-8"), (settings or {}).get("source", "the StereoSet file"))

    def sample(self) -> dict[str, str]:
        def sentences(*labels):
            return [{"id": f"s{i}", "sentence": f"The {word} one was here.", "gold_label": label}
                    for i, (word, label) in enumerate(zip(("kind", "rude", "blue"), labels))]

        intra = {"id": "i1", "target": "nurse", "bias_type": "gender", "context": "The nurse was BLANK.",
                 "sentences": [{"id": "a", "sentence": "The nurse was caring.", "gold_label": "stereotype"},
                               {"id": "b", "sentence": "The nurse was rude.", "gold_label": "anti-stereotype"},
                               {"id": "c", "sentence": "The nurse was blue.", "gold_label": "unrelated"}]}
        inter = {"id": "e1", "target": "nurse", "bias_type": "gender", "context": "The nurse came in.",
                 "sentences": sentences("stereotype", "anti-stereotype", "unrelated")}
        return {"stereoset": json.dumps({"version": "1.0", "data": {"intrasentence": [intra],
                                                                      "intersentence": [inter]}})}

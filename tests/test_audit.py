"""Saved audits: configuration round trip, same report apart from the date, SHA-256 of inputs and configuration,
failed rows, the spread across checkpoints, and the same audit fanned out over a local Ray cluster."""
from __future__ import annotations

import hashlib
import json
import statistics

import pytest

from bertlens.bias import audit
from bertlens.bias.files import PAIRS_PATH
from bertlens.cli import main
from bertlens.errors import InputError
from devtools.random_model import build_random_model

TEMPLATES = "{person} worked as a [MASK].\n{person} is a [MASK].\n"
OCCUPATIONS = ("occupation,article,pct_women,year,source\nnurse,a,87.9,2023,BLS\nengineer,an,16.0,2023,BLS\n"
               "plumber,a,2.0,2023,BLS\n")
CROWS = ("sent_more,sent_less,stereo_antistereo,bias_type\nWomen are bad at maths.,Men are bad at maths.,stereo,"
         "gender\nThe poor man stole it.,The rich man stole it.,antistereo,socioeconomic\n")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    good = [str(build_random_model(root / f"seed{seed}", seed=seed)) for seed in (1, 2, 3)]
    broken = root / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    return good, str(broken)


def write_config(folder, models, **extra):
    (folder / "templates.txt").write_text(TEMPLATES)
    data = {"bertlens_audit": 1, "models": models, "metrics": ["probe", "crows", "aul", "aula"],
            "templates": {"path": "templates.txt"}, "occupations": {"text": OCCUPATIONS},
            "crows_pairs": {"text": CROWS}, "bootstrap": 100, "permutations": 100, "seed": 7, **extra}
    path = folder / "audit.json"
    path.write_text(json.dumps(data))
    return path


def without_date(report):
    return {k: v for k, v in report.items() if k != "date"}


def test_saved_configuration_round_trips_and_hashes_each_input(tmp_path, checkpoints):
    path = write_config(tmp_path, checkpoints[0][:1])
    config = audit.load_config(path)
    again = audit.parse_config(audit.config_json(config))
    assert again == config and again.sha256() == config.sha256()
    hashes = {i.name: i.sha256 for i in config.inputs()}
    assert hashes["templates"] == hashlib.sha256((tmp_path / "templates.txt").read_bytes()).hexdigest()
    assert hashes["occupations"] == hashlib.sha256(OCCUPATIONS.encode()).hexdigest()
    assert hashes["pairs"] == hashlib.sha256(PAIRS_PATH.read_bytes()).hexdigest()
    changed = audit.parse_config(audit.config_json(config).replace('"seed": 7', '"seed": 8'))
    assert changed.sha256() != config.sha256()


def test_two_runs_give_the_same_report_apart_from_the_date(tmp_path, checkpoints, capsys):
    path = write_config(tmp_path, checkpoints[0][:1])
    out = [tmp_path / "one.json", tmp_path / "two.json"]
    for target in out:
        assert main(["audit", str(path), "--out", str(target)]) == 0
    capsys.readouterr()
    first, second = (json.loads(p.read_text()) for p in out)
    assert without_date(first) == without_date(second)
    assert first["configuration_sha256"] == audit.load_config(path).sha256()
    row = first["checkpoints"][0]
    assert row["status"] == "ok" and row["random_weights"] is True
    assert {c["metric"] for c in row["crows"]} == {"crows", "aul", "aula"}
    assert [o["occupation"] for o in row["occupations"]] == ["nurse", "engineer", "plumber"]


def test_broken_checkpoint_is_a_failed_row_and_spread_is_over_the_rest(tmp_path, checkpoints):
    good, broken = checkpoints
    config = audit.load_config(write_config(tmp_path, good[:2] + [broken, str(tmp_path / "missing")]))
    report = audit.run_audit(config)
    status = [r["status"] for r in report["checkpoints"]]
    assert status == ["ok", "ok", "failed", "failed"] and report["completed"] == 2
    assert "missing" in report["checkpoints"][3]["reason"]
    rows = report["checkpoints"][:2]
    for item in report["spread"]:
        values = [r["scores"][item["score"]] for r in rows]
        assert item["mean"] == pytest.approx(statistics.fmean(values))
        assert item["sd"] == pytest.approx(statistics.stdev(values))
        assert item["range"] == pytest.approx(max(values) - min(values))


def test_bad_configurations_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not valid JSON"):
        audit.parse_config("{")
    with pytest.raises(InputError, match="not a BERT Lens audit"):
        audit.parse_config('{"models": ["x"]}')
    with pytest.raises(InputError, match="unknown field"):
        audit.parse_config('{"bertlens_audit": 1, "models": ["x"], "colour": 1}')
    with pytest.raises(InputError, match="names no model"):
        audit.parse_config('{"bertlens_audit": 1, "models": []}')
    with pytest.raises(InputError, match="template"):
        audit.parse_config('{"bertlens_audit": 1, "models": ["x"], "templates": {"text": "no slot"}}')


def ray_addresses() -> set[str]:
    """Every local and remote IP of the sockets held by this process and the processes it started (Ray's)."""
    import psutil

    pids = {psutil.Process().pid} | {p.pid for p in psutil.Process().children(recursive=True)}
    ips = set()
    for c in psutil.net_connections(kind="inet"):
        if c.pid in pids:
            ips.update(a.ip for a in (c.laddr, c.raddr) if a)
    return ips


def test_local_ray_cluster_gives_the_sequential_report(tmp_path, checkpoints):
    ray = pytest.importorskip("ray")
    from bertlens.bias import cluster

    good, broken = checkpoints
    config = audit.load_config(write_config(tmp_path, good + [broken]))
    sequential = audit.run_audit(config, date="d")
    try:
        cluster.start(None, num_cpus=2)
        fanned = audit.run_audit(config, cluster.ray_runner(), cluster.where(None), date="d")
        assert ray.is_initialized()
        assert main(["audit", str(tmp_path / "audit.json"), "--ray", "--out", str(tmp_path / "ray.json")]) == 0
        nodes = [n["NodeManagerAddress"] for n in ray.nodes()]
        addresses = ray_addresses()
    finally:
        ray.shutdown()
    assert nodes == ["127.0.0.1"]
    assert addresses and addresses <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, addresses
    assert [r["status"] for r in fanned["checkpoints"]] == ["ok", "ok", "ok", "failed"]
    from_cli = json.loads((tmp_path / "ray.json").read_text())
    assert from_cli["ran_on"].startswith("a local Ray cluster") and from_cli["completed"] == 3
    assert fanned["checkpoints"][3]["reason"] == sequential["checkpoints"][3]["reason"]
    rounded = lambda report: json.loads(json.dumps({**report, "ran_on": ""}),  # noqa: E731
                                        parse_float=lambda s: round(float(s), 6))
    assert rounded(fanned) == rounded(sequential)


def test_models_file_and_missing_ray_message(tmp_path, checkpoints, capsys, monkeypatch):
    good, broken = checkpoints
    path = write_config(tmp_path, ["unused"], metrics=["aul"])
    listing = tmp_path / "models.txt"
    listing.write_text(f"# two seeds\n{good[0]}\n{broken}\n")
    assert main(["audit", str(path), "--models-file", str(listing), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in report["checkpoints"]] == [good[0], broken]
    assert [r["status"] for r in report["checkpoints"]] == ["ok", "failed"]
    assert report["configuration"]["models"] == [good[0], broken]
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    assert main(["audit", str(path), "--ray"]) == 2
    assert "pip install" in capsys.readouterr().err


def test_exports_record_the_sha256_of_inputs_and_configuration(tmp_path, capsys, tiny_model_dir):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(CROWS)
    assert main(["crows", str(pairs), "--json", "--model", str(tiny_model_dir), "--device", "cpu"]) == 0
    meta = json.loads(capsys.readouterr().out)["meta"]
    digest = hashlib.sha256(pairs.read_bytes()).hexdigest()
    assert meta["input_sha256"] == [f"crows_pairs (pairs.csv): {digest}"]
    assert str(tmp_path) not in json.dumps(meta["input_sha256"]), "inputs are named without absolute paths"
    assert len(meta["configuration_sha256"]) == 64
    templates = tmp_path / "templates.txt"
    templates.write_text(TEMPLATES)
    occupations = tmp_path / "occupations.csv"
    occupations.write_text(OCCUPATIONS)
    out = tmp_path / "probe.csv"
    assert main(["probe", "--templates", str(templates), "--occupations", str(occupations), "--bootstrap", "100",
                 "--model", str(tiny_model_dir), "--device", "cpu", "--out", str(out)]) == 0
    from bertlens.export import read_csv_report

    meta, _ = read_csv_report(out.read_text())
    lines = meta["input_sha256"]
    assert f"templates ({templates.name}): {hashlib.sha256(templates.read_bytes()).hexdigest()}" in lines
    assert f"occupations ({occupations.name}): {hashlib.sha256(occupations.read_bytes()).hexdigest()}" in lines
    assert any(line.startswith("pairs (shipped: word_pairs.csv): ") for line in lines)

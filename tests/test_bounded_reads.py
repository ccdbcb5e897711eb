"""Bounded reads: every file the command line, an audit or a page reads is opened, checked with fstat, refused
unless it is a regular file, and read up to its limit plus one byte. Configuration paths stay inside the
configuration's folder. CSV fields have a stated size limit. None of these ends in a hang, a MemoryError or a
traceback."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from bertlens import bias
from bertlens.bias import audit
from bertlens.bias.crows import parse_crows
from bertlens.bias.files import MAX_FIELD_CHARS, MAX_FILE_BYTES, csv_rows, file_limit, read_bytes, read_text
from bertlens.bias.occupations import parse_occupations
from bertlens.bias.swaps import parse_swap_pairs
from bertlens.cli import main
from bertlens.errors import InputError

BIG_FIELD = "x" * 200_000  # over csv's own 128 KB field limit


def within(seconds: float, call):
    """`call()` in a thread; its result or exception, or a failure when it takes longer (a hang)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.parametrize("path, says", [("/dev/zero", "a device"), ("/dev/urandom", "a device"),
                                        ("/", "a folder"), ("/no/such/file", "No such file")])
def test_special_files_are_refused_before_reading(path, says):
    with pytest.raises(InputError, match=says):
        within(10, lambda: read_bytes(path))


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    try:
        with pytest.raises(InputError, match="pipe"):
            within(10, lambda: read_text(fifo))
    finally:
        try:  # let a reader blocked in open() go, should there be one
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def test_a_file_whose_size_lies_is_cut_at_the_limit_plus_one():
    """/proc files are regular files whose fstat size is 0: the read itself must stop at the limit."""
    with pytest.raises(InputError, match="over the limit"):
        read_bytes("/proc/self/maps", limit=64)
    assert len(read_bytes("/proc/self/maps", limit=10_000_000)) > 64


def test_the_upload_limit_holds_unless_the_command_line_raises_it(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    with pytest.raises(InputError, match="limit is 5 MB"):
        read_bytes(big)
    with file_limit(MAX_FILE_BYTES * 2):
        assert len(read_bytes(big)) == MAX_FILE_BYTES + 1
    with pytest.raises(InputError):
        read_bytes(big)


def write_config(folder: Path, **inputs) -> Path:
    path = folder / "audit.json"
    path.write_text(json.dumps({"bertlens_audit": 1, "models": ["m"], "metrics": ["crows"], **inputs}))
    return path


@pytest.mark.parametrize("given", ["/dev/zero", "/etc/passwd", "../outside.csv", "sub/../../outside.csv", "~/x.csv",
                                   "link.csv"])
def test_configuration_paths_stay_in_the_configuration_folder(tmp_path, given):
    folder = tmp_path / "config"
    folder.mkdir()
    (tmp_path / "outside.csv").write_text("secret")
    (folder / "link.csv").symlink_to(tmp_path / "outside.csv")
    path = write_config(folder, crows_pairs={"path": given})
    with pytest.raises(InputError, match="configuration's folder"):
        within(10, lambda: audit.load_config(path))


def test_a_path_inside_the_folder_is_read_and_reported_relative(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pairs.csv").write_text(
        "sent_more,sent_less,stereo_antistereo,bias_type\nShe cooks.,He cooks.,stereo,gender\n")
    config = audit.load_config(write_config(tmp_path, crows_pairs={"path": "data/pairs.csv"}))
    assert config.sources["crows_pairs"] == "data/pairs.csv" and str(tmp_path) not in json.dumps(config.sources)


def test_an_uploaded_configuration_names_no_file():
    with pytest.raises(InputError, match="inline"):
        audit.parse_config(json.dumps({"bertlens_audit": 1, "models": ["m"], "templates": {"path": "t.txt"}}))


@pytest.mark.parametrize("parse", [
    lambda: bias.parse_pairs(f"male,female\nhe,{BIG_FIELD}\n"),
    lambda: parse_occupations(f"occupation,article\nnurse,{BIG_FIELD}\n"),
    lambda: parse_crows(f"sent_more,sent_less,stereo_antistereo,bias_type\n\"{BIG_FIELD}\",b,stereo,x\n".encode()),
    lambda: parse_swap_pairs(f"king,{BIG_FIELD}\n"),
    lambda: csv_rows("a," + "y" * (MAX_FIELD_CHARS + 1), "the file"),
])
def test_a_csv_field_over_the_stated_limit_is_one_message(parse):
    with pytest.raises(InputError, match=f"longer than {MAX_FIELD_CHARS:,} characters"):
        parse()


@pytest.mark.parametrize("argv, says", [
    (["audit", "CONFIG", "--models-file", "/dev/zero"], "a device"),
    (["audit", "/dev/zero"], "a device"),
    (["probe", "--occupations", "BIG", "--json"], "longer than"),
    (["crows", "/dev/zero"], "a device"),
    (["audit", "CONFIG", "--max-file-mb", "0"], "max-file-mb"),
])
def test_the_command_line_exits_2_with_one_line(tmp_path, capsys, argv, says):
    config = write_config(tmp_path)
    big = tmp_path / "big.csv"
    big.write_text(f"occupation,article\nnurse,{BIG_FIELD}\n")
    argv = [str(config) if a == "CONFIG" else str(big) if a == "BIG" else a for a in argv]
    assert within(60, lambda: main(argv)) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2, err

"""depthinit.provenance: versions, hardware, git commit and data digests, as plain values."""

import hashlib
import json
import shutil
import subprocess

import pytest
import torch

from depthinit import provenance


def test_package_versions_reports_installed_and_missing():
    versions = provenance.package_versions(["torch", "no-such-distribution-xyz"])
    assert versions == {"torch": torch.__version__, "no-such-distribution-xyz": None}
    assert list(provenance.package_versions()) == list(provenance.BOOK_PACKAGES)


def test_hardware_is_plain_and_consistent():
    hw = provenance.hardware()
    json.dumps(hw)  # plain values only
    assert hw["logical_cores"] >= 1 and 1 <= hw["usable_cores"] <= hw["logical_cores"]
    assert hw["ram_gib"] is None or hw["ram_gib"] > 0
    assert hw["torch_threads"] == torch.get_num_threads()
    assert isinstance(hw["gpus"], list) and isinstance(hw["cpu"], str) and hw["cpu"]


def test_git_commit_outside_a_checkout(tmp_path):
    assert provenance.git_commit(tmp_path) == {"commit": None, "dirty": None}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_and_dirty_flag(tmp_path):
    def git(*args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "HEAD")
    assert provenance.git_commit(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "untracked.txt").write_text("ignored by the dirty flag")
    assert provenance.git_commit(tmp_path)["dirty"] is False
    (tmp_path / "a.txt").write_text("two")
    assert provenance.git_commit(tmp_path) == {"commit": head, "dirty": True}


def test_data_provenance_digests_and_flags_wrong_files(tmp_path):
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    names = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    for i, name in enumerate(names):
        (mnist / name).write_bytes(b"not mnist %d" % i)
    records = provenance.data_provenance(tmp_path)
    json.dumps(records)
    by_file = {r["file"]: r for r in records if r["dataset"] == "mnist"}
    assert sorted(by_file) == sorted(f"mnist/{n}" for n in names)
    for i, name in enumerate(names):
        r = by_file[f"mnist/{name}"]
        assert r["sha256"] == hashlib.sha256(b"not mnist %d" % i).hexdigest()
        assert r["bytes"] == len(b"not mnist %d" % i) and r["kind"] == "idx"
        assert r["verified"] is False  # known name, wrong bytes
    (cifar,) = [r for r in records if r["dataset"] == "cifar10"]
    assert cifar["kind"] == "missing" and cifar["file"] is None


def test_data_provenance_unknown_file_name_is_not_verified(tmp_path):
    (tmp_path / "cifar10.zip").write_bytes(b"zip-ish")
    (record,) = provenance.data_provenance(tmp_path, names=["cifar10"])
    assert record["file"] == "cifar10.zip" and record["verified"] is None
    assert record["sha256"] == hashlib.sha256(b"zip-ish").hexdigest()


def test_data_provenance_of_the_offline_copies(data_root):
    records = provenance.data_provenance(data_root)
    assert {r["dataset"] for r in records} == {"mnist", "cifar10"}
    assert all(r["verified"] is True for r in records), records
    zip_record = next(r for r in records if r["file"] == "cifar10-jpeg.zip")
    assert zip_record["sha256"] == "0287a3668d9e0d204fc6ffa0e85a171724de09b8aec55d93153b270368489df4"

"""``repro fetch`` records as trusted only bytes it verified as one whole file from one source.

Hostile and broken servers on 127.0.0.1 (tests/loopback.py): two fetches at once, a file that
changed under a resume (no validator, a weak one, a changed one, Range ignored), a body shorter
than the archive, a truncated mirror, redirects to another host, stalls and trickles (tiny
limits, so each runs in about a second); then what a fetched set is held to: ``verify`` of every
file the lock lists, a whole download of an earlier run, mirrors and trust on first use, the
offline switch; and the robustness of what fetch reads back: hand-edited locks, archive bombs,
leftover staging folders.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import tarfile
import threading
import time
import zipfile

import huggingface_hub.constants as hfc
import numpy as np
import pytest
from fetch_sets import left_behind, make_card, one_line, png, set_files, sha, tar_of, zip_of
from loopback import Server, guard_loopback

from repro.cli import main
from repro.data import staging
from repro.data.build import read_built
from repro.data.fetch import fetch
from repro.data.fetch_lock import VERIFIED_TOFU, lock_path, read_lock
from repro.download import Limits, RefusedRedirect, download, downloaded, limits, transfer
from repro.errors import ChecksumError, DataError, DownloadError, MissingDataError, ReproError
from repro.paths import cache_dir, fetched_dir

# limits small enough that a stall or a trickle ends a test in about a second
FAST = Limits(deadline_s=5.0, min_rate=2000.0, window_s=0.3, connect_s=2.0)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Loopback servers only; downloads allowed; no retry (a cut is a failure here)."""
    guard_loopback(monkeypatch)
    monkeypatch.setattr(transfer, "RETRIES", 0)
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)


@pytest.fixture
def server():
    with Server() as srv:
        yield srv


def blob(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def get(server: Server, path: str, folder, **kw):
    return download([server.base + path], folder, max_bytes=1 << 24, limits=FAST, **kw)


# -- 1. one fetch of a set at a time ------------------------------------------------------------
def test_two_fetches_of_one_set_at_once_take_turns(server, card_dir, capsys):
    files = set_files(n=3, side=96)
    body = zip_of(files)
    server.files["/t.zip"] = body
    server.pace["/t.zip"] = (len(body) // 8 + 1, 0.04)  # ~0.3 s: the second starts meanwhile
    make_card(card_dir, server.base + "/t.zip")
    results, errors = [], []

    def run() -> None:
        try:
            results.append(fetch("Test2K", progress=False))
        except Exception as exc:  # noqa: BLE001  # any failure of either fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    threads[0].start()
    time.sleep(0.05)
    threads[1].start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.verified for r in results) == ["present", VERIFIED_TOFU]
    assert len(server.gets("/t.zip")) == 1  # the second waited, then found the set
    assert "another fetch of it is running" in capsys.readouterr().err
    assert read_lock("Test2K").files == {rel: sha(data) for rel, data in files.items()}
    assert main(["verify", "Test2K"]) == 0


def test_two_downloads_of_one_url_at_once_take_turns(server, tmp_path):
    body = blob(200_000, 1)
    server.files["/f.bin"] = body
    server.pace["/f.bin"] = (25_000, 0.03)
    seen = []

    def run() -> None:
        with downloaded([server.base + "/f.bin"], tmp_path, max_bytes=1 << 20, limits=FAST) as got:
            seen.append(sha(got.path.read_bytes()))
            time.sleep(0.05)  # the other waits while this one holds the file

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [sha(body), sha(body)]
    assert sorted(os.listdir(tmp_path)) == []  # each file removed after its block, locks too


# -- 1. a resume only where the server proves the file unchanged -------------------------------
RESUME_CASES = {
    # name: (server settings, does the file change between the two tries, are bytes kept)
    "no-validator": ({"etags": None}, True, False),
    "weak-etag": ({"etags": 'W/"v1"'}, True, False),
    "strong-etag-changed": ({}, True, True),
    "if-range-ignored": ({"no_if_range": True}, True, True),
    "range-ignored": ({"no_range": True}, False, True),
    "range-misreported": ({"bad_range": True}, False, True),
}


@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_a_resume_never_splices_two_versions_of_a_file(server, tmp_path, case):
    settings, changes, kept = RESUME_CASES[case]
    old, new = blob(1_200_000, 2), blob(1_200_000, 3)  # over a 512 kB read: bytes stay
    server.files["/f.bin"] = old
    server.cut.add("/f.bin")
    if "etags" in settings:
        server.etags["/f.bin"] = settings["etags"]
    if settings.get("no_if_range"):
        server.no_if_range.add("/f.bin")
    if settings.get("no_range"):
        server.no_range.add("/f.bin")
    if settings.get("bad_range"):
        server.bad_range.add("/f.bin")
    with pytest.raises(DownloadError, match="closed after 600000 of 1200000 bytes") as info:
        get(server, "/f.bin", tmp_path)
    # without a strong ETag nothing could ever prove the bytes unchanged: none are kept
    assert ("600000 bytes kept" in one_line(info)) == kept
    assert (tmp_path / ".partial").exists() == kept
    served = new if changes else old
    server.files["/f.bin"] = served
    got = get(server, "/f.bin", tmp_path)
    assert got.sha256 == sha(served) and got.path.read_bytes() == served
    assert not (tmp_path / ".partial").exists()


def test_a_resume_continues_where_the_server_proves_the_file_unchanged(server, tmp_path):
    body = blob(1_200_000, 4)
    server.files["/f.bin"] = body
    server.cut.add("/f.bin")
    with pytest.raises(DownloadError, match=r"\(600000 bytes kept: the next try resumes\)"):
        get(server, "/f.bin", tmp_path)
    got = get(server, "/f.bin", tmp_path)
    last = server.requests[-1]
    assert (last["Range"], last["If-Range"]) == ("bytes=600000-", server.etag_of("/f.bin"))
    assert got.sha256 == sha(body) and got.path.read_bytes() == body


def test_without_resume_a_failed_download_leaves_nothing(server, tmp_path):
    server.files["/f.bin"] = blob(1_200_000, 11)
    server.cut.add("/f.bin")
    with pytest.raises(DownloadError, match="closed after 600000 of 1200000 bytes") as info:
        get(server, "/f.bin", tmp_path, resume=False)  # weights ask so: nothing may stay
    assert "kept" not in one_line(info)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# -- 1. the whole archive, and the whole set, before anything is locked --------------------------
def test_errors_name_the_archive_as_its_url_does_never_an_internal_file(server, card_dir):
    server.files["/Test2K.zip"] = zip_of(set_files())[:-100]  # corrupt
    make_card(card_dir, server.base + "/Test2K.zip")
    with pytest.raises(DataError) as info:
        fetch("Test2K")
    msg = one_line(info)
    assert "cannot unpack Test2K.zip (" in msg
    assert str(cache_dir()) not in msg and not re.search(r"[0-9a-f]{16}", msg)


def test_a_body_shorter_than_announced_is_refused_in_one_clean_line(server, card_dir):
    body = zip_of(set_files(n=5, side=96))
    server.files["/t.zip"] = body
    server.cut.add("/t.zip")
    make_card(card_dir, server.base + "/t.zip", images=5)
    with pytest.raises(MissingDataError) as info:
        fetch("Test2K")
    msg = one_line(info)
    assert f"the connection closed after {len(body) // 2} of {len(body)} bytes" in msg
    for internal in (".part", "--continue", "received 0 bytes", str(cache_dir()), "Traceback"):
        assert internal not in msg
    assert not lock_path("Test2K").exists() and not (fetched_dir() / "Test2K").exists()


def _four_of_five(kind: str) -> bytes:
    files = set_files(n=5)
    if kind == "image-missing":  # a mirror's truncated copy: the fifth image is not there
        return tar_of({k: v for k, v in files.items() if "0004" not in k})
    if kind == "lr-missing":  # every HR, one LR short
        return tar_of({k: v for k, v in files.items() if k != "LR/X4/0002.png"})
    whole = tar_of(files)  # cut at a member boundary: a tar reader sees a shorter archive
    return whole[: whole.index(b"Test2K/HR/X4/0004.png")]


@pytest.mark.parametrize("kind", ["image-missing", "lr-missing", "cut-at-a-member"])
@pytest.mark.parametrize("length", ["announced", "not-announced"])
def test_a_short_archive_is_an_error_not_a_partial_set(server, card_dir, kind, length):
    server.files["/t.tar"] = _four_of_five(kind)
    if length == "not-announced":  # the body ends when the connection does: no cut is seen
        server.no_length.add("/t.tar")
    make_card(card_dir, server.base + "/t.tar", images=5)
    with pytest.raises(DataError) as info:
        fetch("Test2K")
    msg = one_line(info)
    assert ("lacks LR/X4/0002.png" if kind == "lr-missing" else "holds 4 images at x4") in msg
    assert "nothing was kept" in msg
    assert left_behind() == []  # no lock, no set, no download
    whole = set_files(n=5)
    server.files["/t.tar"] = tar_of(whole)  # the complete archive is then taken, not refused
    assert fetch("Test2K").files == 10
    assert read_lock("Test2K").files == {rel: sha(data) for rel, data in whole.items()}


# -- 1. redirects stay on the card's hosts ----------------------------------------------------
def _redirect(location: str):
    def page(handler, query):
        port = handler.server.server_address[1]
        handler.reply(302, {"Location": location.format(port=port)}, b"")

    return page


def test_a_redirect_to_another_host_is_refused_and_never_followed(server, tmp_path):
    server.files["/f.bin"] = blob(1000, 5)
    server.pages["/r"] = _redirect("http://localhost:{port}/f.bin")  # same server, other name
    with pytest.raises(RefusedRedirect) as info:
        get(server, "/r", tmp_path)
    assert info.value.hosts == ("localhost",) and "another host, localhost" in one_line(info)
    assert [(m, p) for m, p, _ in server.log] == [("GET", "/r")]  # no HEAD, no GET of the target
    assert get(server, "/r", tmp_path, hosts=["localhost"]).sha256 == sha(blob(1000, 5))


def test_a_redirect_on_the_same_host_is_followed_and_other_schemes_are_not(server, tmp_path):
    server.files["/f.bin"] = blob(1000, 6)
    server.pages["/same"] = _redirect("/f.bin")
    assert get(server, "/same", tmp_path).sha256 == sha(blob(1000, 6))
    server.pages["/ftp"] = _redirect("ftp://127.0.0.1/f.bin")
    with pytest.raises(DownloadError, match="refused a redirect from http to ftp"):
        get(server, "/ftp", tmp_path)


def test_a_card_lists_the_hosts_its_archive_may_redirect_to(server, card_dir):
    server.files["/t.zip"] = zip_of(set_files())
    server.pages["/r.zip"] = _redirect("http://localhost:{port}/t.zip")
    make_card(card_dir, server.base + "/r.zip")
    with pytest.raises(MissingDataError) as info:
        fetch("Test2K")
    assert "list it in source.archive.hosts of datasets/Test2K.yaml" in one_line(info)
    assert server.gets("/t.zip") == []
    make_card(card_dir, server.base + "/r.zip", hosts=["localhost"])
    assert fetch("Test2K").files == 6


# -- 1. a deadline and a minimum rate ---------------------------------------------------------
def test_a_server_that_stalls_after_its_headers_is_given_up_on_as_stalled(server, tmp_path):
    server.files["/f.bin"] = blob(10_000, 7)
    server.stall["/f.bin"] = 30
    with pytest.raises(DownloadError) as info:
        get(server, "/f.bin", tmp_path)
    msg = one_line(info)
    assert "stalled: nothing arrived for 0.3 s after 0 of 10000 bytes" in msg
    assert "cannot connect" not in msg


def test_a_server_that_never_answers_is_given_up_on_as_stalled(server, tmp_path):
    server.pages["/f.bin"] = lambda handler, query: handler.server.stopping.wait(30)
    with pytest.raises(DownloadError, match="stalled: no answer from 127.0.0.1 for 0.3 s") as info:
        get(server, "/f.bin", tmp_path)
    assert "cannot connect" not in one_line(info)


def test_a_trickle_under_the_minimum_rate_ends(server, tmp_path):
    server.files["/f.bin"] = blob(100_000, 8)
    server.pace["/f.bin"] = (64, 0.1)  # 640 bytes/s, under FAST's 2000
    with pytest.raises(DownloadError, match=r"too slow: \d+ bytes/s .* minimum rate of 2000"):
        get(server, "/f.bin", tmp_path)


def test_a_transfer_past_its_deadline_ends(server, tmp_path):
    server.files["/f.bin"] = blob(400_000, 9)
    server.pace["/f.bin"] = (8192, 0.05)  # ~160 kB/s: fast enough, but 2.5 s in all
    limits = Limits(deadline_s=0.5, min_rate=2000.0, window_s=0.3)
    with pytest.raises(DownloadError, match=r"not done within the 0.5 s deadline \(\d+ of 400000"):
        download([server.base + "/f.bin"], tmp_path, max_bytes=1 << 20, limits=limits)


def test_the_limits_are_set_by_environment_variables(server, card_dir, monkeypatch):
    body = zip_of(set_files())
    server.files["/t.zip"] = body
    server.pace["/t.zip"] = (64, 0.05)
    make_card(card_dir, server.base + "/t.zip")
    monkeypatch.setattr(limits, "RATE_WINDOW_S", 0.3)
    monkeypatch.setenv("REPRO_DOWNLOAD_MIN_RATE", "5000")
    with pytest.raises(MissingDataError, match="minimum rate of 5000 bytes/s"):
        fetch("Test2K")
    monkeypatch.setenv("REPRO_DOWNLOAD_MIN_RATE", "100")
    monkeypatch.setenv("REPRO_DOWNLOAD_DEADLINE", "0.4")
    with pytest.raises(MissingDataError, match="not done within the 0.4 s deadline"):
        fetch("Test2K")
    monkeypatch.setenv("REPRO_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(ReproError, match="REPRO_DOWNLOAD_DEADLINE='soon' is not seconds > 0"):
        fetch("Test2K")


# -- 2. verify: every file the lock lists -------------------------------------------------------
@pytest.mark.parametrize("change", ["missing", "changed", "extra", "none"])
def test_verify_checks_every_file_the_lock_lists(server, card_dir, capsys, change):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    fetch("Test2K")
    folder = fetched_dir() / "Test2K"
    if change == "missing":  # the whole image: the loader no longer lists it
        (folder / "HR/X4/0001.png").unlink()
        (folder / "LR/X4/0001.png").unlink()
    elif change == "changed":
        (folder / "LR/X4/0002.png").write_bytes(png(8, 8, 42))
    elif change == "extra":
        (folder / "HR/X4/0009.png").write_bytes(png(32, 32, 9))
        (folder / "LR/X4/0009.png").write_bytes(png(8, 8, 9))
    capsys.readouterr()
    code = main(["verify", "Test2K"])
    out, err = capsys.readouterr()
    if change == "none":
        assert code == 0 and "all good" in out
        return
    assert code == 2 and "all good" not in out and err.startswith("error: ")
    expected = {
        "missing": "2 missing (HR/X4/0001.png, LR/X4/0001.png)",
        "changed": "1 changed (LR/X4/0002.png)",
        "extra": "2 extra (HR/X4/0009.png, LR/X4/0009.png)",
    }[change]
    assert expected in err and "run repro fetch Test2K again" in err


# -- 2. held to the first record: cached downloads, mirrors, reruns ----------------------------
def test_an_earlier_whole_download_is_reused_only_when_its_sha256_is_right(server, tmp_path):
    body = blob(5000, 10)
    server.files["/f.bin"] = body
    first = get(server, "/f.bin", tmp_path)  # download() leaves the file to its caller
    first.path.write_bytes(b"not the published file")  # what an earlier run left, altered
    again = get(server, "/f.bin", tmp_path, sha256=sha(body))
    assert again.path.read_bytes() == body and len(server.gets("/f.bin")) == 2
    reused = get(server, "/f.bin", tmp_path, sha256=sha(body))  # right: no second transfer
    assert reused.sha256 == sha(body) and len(server.gets("/f.bin")) == 2


def test_a_card_sha256_holds_a_leftover_download_too(server, card_dir, tmp_path):
    body, other = zip_of(set_files()), zip_of(set_files(seed=7))
    server.files["/t.zip"] = other
    leftover = download([server.base + "/t.zip"], cache_dir() / "downloads", max_bytes=1 << 20)
    assert leftover.path.read_bytes() == other  # an earlier run's whole download of the URL
    server.files["/t.zip"] = body
    make_card(card_dir, server.base + "/t.zip", sha256=sha(body))
    got = fetch("Test2K")
    assert got.archive_sha256 == sha(body) and got.verified == "card"
    assert len(server.gets("/t.zip")) == 2  # the leftover was refused and fetched again


def test_a_mirror_and_a_leftover_download_are_held_to_the_first_record(server, card_dir):
    files = set_files()
    server.files["/t.zip"] = zip_of(files)
    make_card(card_dir, server.base + "/t.zip", mirrors=[server.base + "/mirror.zip"])
    fetch("Test2K")
    first = lock_path("Test2K").read_bytes()
    shutil.rmtree(fetched_dir() / "Test2K")
    del server.files["/t.zip"]  # the link dies; the mirror serves other files
    changed = {**files, "HR/X4/0001.png": png(32, 32, 77)}
    server.files["/mirror.zip"] = zip_of(changed)
    with pytest.raises(ChecksumError, match="HR/X4/0001.png") as info:
        fetch("Test2K")
    assert "changed since the first fetch" in one_line(info)
    assert lock_path("Test2K").read_bytes() == first and not (fetched_dir() / "Test2K").exists()
    # a whole download of the URL left by an earlier run: held to the same record
    server.files["/t.zip"] = zip_of(changed)
    download([server.base + "/t.zip"], cache_dir() / "downloads", max_bytes=1 << 20)
    server.files["/t.zip"] = zip_of(files)
    with pytest.raises(ChecksumError, match="HR/X4/0001.png"):
        fetch("Test2K")
    assert lock_path("Test2K").read_bytes() == first
    # the mirror with the same files, packed anew: accepted, and the first record stands
    del server.files["/t.zip"]
    server.files["/mirror.zip"] = zip_of(files, compression=zipfile.ZIP_DEFLATED)
    got = fetch("Test2K")
    assert got.source == server.base + "/mirror.zip" and "re-packed" in got.note
    lock = read_lock("Test2K")
    before = json.loads(first)
    assert (lock.source, lock.archive_sha256, lock.recorded, lock.files) == (
        before["source"], before["archive_sha256"], before["recorded"], before["files"]
    )  # fmt: skip


def test_offline_means_no_download_at_all(server, card_dir, monkeypatch):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", True)
    with pytest.raises(MissingDataError) as info:
        fetch("Test2K")
    assert "HF_HUB_OFFLINE=1 is set, so nothing is downloaded" in one_line(info)
    assert server.log == [] and left_behind() == []


# -- 4. what fetch reads back: locks and build records of any shape ----------------------------
def _good_lock() -> dict:
    return json.loads(lock_path("Test2K").read_text())


HOSTILE_LOCKS = {
    "recorded-null": lambda good: {**good, "recorded": None},
    "deeply-nested": lambda good: "[" * 100_000 + "]" * 100_000,
    "a-list": lambda good: [good],
    "files-not-sha256": lambda good: {**good, "files": {"HR/X4/0000.png": "abc"}},
    "file-outside-the-set": lambda good: {**good, "files": {"../../etc/passwd": "0" * 64}},
    "files-a-list": lambda good: {**good, "files": list(good["files"])},
    "folders-a-string": lambda good: {**good, "folders": good["folders"][0]},
    "archive-sha256-a-number": lambda good: {**good, "archive_sha256": 12},
    "verified-unknown": lambda good: {**good, "verified": "trust-me"},
    "another-dataset": lambda good: {**good, "dataset": "Set5"},
    "unknown-field": lambda good: {**good, "trusted": True},
    "field-missing": lambda good: {k: v for k, v in good.items() if k != "source"},
    "version-2": lambda good: {**good, "version": 2},
    "not-json": lambda good: "{'dataset': 'Test2K'",
    "empty": lambda good: "",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_LOCKS))
def test_a_hand_edited_lock_of_any_shape_is_a_one_line_error(server, card_dir, capsys, kind):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    fetch("Test2K")
    edited = HOSTILE_LOCKS[kind](_good_lock())
    text = edited if isinstance(edited, str) else json.dumps(edited)
    lock_path("Test2K").write_text(text)
    with pytest.raises(DataError) as info:
        read_lock("Test2K")
    msg = one_line(info)
    assert msg.startswith("cannot read the dataset lock <repro-cache>/fetched/Test2K.lock.json")
    assert msg.endswith("delete it and fetch Test2K again (repro fetch Test2K)")
    for command in (["verify", "Test2K"], ["fetch", "Test2K"]):
        capsys.readouterr()
        assert main(command) == 2
        assert capsys.readouterr().err.startswith("error: cannot read the dataset lock")


def test_a_build_record_nested_without_end_is_a_one_line_error(tmp_path):
    (tmp_path / ".built.json").write_text("{" + '"a":{' * 50_000 + "}" * 50_001)
    with pytest.raises(DataError, match="not a build record this version reads") as info:
        read_built(tmp_path)
    one_line(info)


# -- 4. archive bombs, links, leftovers ----------------------------------------------------------
def test_an_archive_that_expands_too_much_is_stopped_as_it_is_written(server, card_dir):
    files = {**set_files(), "HR/X4/zeros.raw": bytes(8 << 20)}  # ~8 MB from ~8 kB: 1000:1
    server.files["/t.zip"] = zip_of(files, compression=zipfile.ZIP_DEFLATED)
    make_card(card_dir, server.base + "/t.zip")
    with pytest.raises(DataError, match="more than 100 times their own") as info:
        fetch("Test2K")
    assert "archive bomb" in one_line(info) and left_behind() == []


def _tar_link_inside() -> bytes:
    link = tarfile.TarInfo("Test2K/HR/X4/0003.png")
    link.type, link.linkname = tarfile.SYMTYPE, "0000.png"  # points inside the set
    return tar_of(set_files(), extra=[link])


def _zip_link_inside() -> bytes:
    buf = io.BytesIO(zip_of(set_files()))
    with zipfile.ZipFile(buf, "a") as z:
        link = zipfile.ZipInfo("Test2K/HR/X4/0003.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "0000.png")
    return buf.getvalue()


@pytest.mark.parametrize("make", [_tar_link_inside, _zip_link_inside], ids=["tar", "zip"])
def test_a_link_inside_an_archive_is_refused_even_to_a_file_of_the_set(server, card_dir, make):
    server.files["/t.bin"] = make()
    make_card(card_dir, server.base + "/t.bin")
    with pytest.raises(DataError, match="'Test2K/HR/X4/0003.png', a link or special file"):
        fetch("Test2K")
    assert left_behind() == []


def test_staging_folders_of_killed_runs_are_removed_but_not_a_running_one(card_dir, server):
    card = make_card(card_dir, server.base + "/t.zip")
    target = fetched_dir() / "Test2K"
    hours_ago = time.time() - 7200
    with staging.scratch_folder(card, target) as live:  # a fetch at work right now
        (live / "a.png").write_bytes(b"x")
        os.utime(live, (hours_ago, hours_ago))
        old = target.parent / ".tmp-Test2K-old"  # a run of older code, hours ago: no owner
        (old / "HR").mkdir(parents=True)
        os.utime(old, (hours_ago, hours_ago))
        dead = target.parent / ".tmp-Test2K-dead"  # an owner file, but nobody holds it
        dead.mkdir()
        (target.parent / ".tmp-Test2K-dead.owner").touch()
        young = target.parent / ".tmp-Test2K-young"  # no owner file, but recent: maybe at work
        young.mkdir()
        other = target.parent / ".tmp-Test4K-old"  # another set's
        other.mkdir()
        os.utime(other, (hours_ago, hours_ago))
        assert staging.sweep_stale(target) == [dead, old]
        assert (live / "a.png").is_file() and young.is_dir() and other.is_dir()
    assert not live.exists()
    server.files["/t.zip"] = zip_of(set_files())
    (target.parent / ".tmp-Test2K-young.owner").touch()  # now its owner is gone: cleared
    fetch("Test2K")
    assert sorted(p.name for p in target.parent.iterdir()) == [
        ".tmp-Test4K-old", "Test2K", "Test2K.lock.json"
    ]  # fmt: skip

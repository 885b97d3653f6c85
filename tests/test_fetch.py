"""``repro fetch``: archives over HTTP and Google Drive, verified, unpacked safely, then loaded.

Every download comes from an HTTP server on 127.0.0.1 started here (tests/loopback.py); any
other address is refused, so nothing reaches the network. Google Drive is emulated on that
server: its hosts are rewritten to it at the requests level, so the real link parsing, the
redirects among Drive's hosts and gdown's confirmation-page parser run. The archives hold small
random PNGs whose sha256 are computed independently of the code under test (tests/fetch_sets.py).
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import huggingface_hub.constants as hfc
import numpy as np
import pytest
import requests
import urllib3
from fetch_sets import left_behind, make_card, one_line, png, set_files, sha, zip_of
from loopback import Server, guard_loopback
from PIL import Image

from repro.cli import main
from repro.data import archives
from repro.data import fetch as data_fetch
from repro.data.fetch import fetch
from repro.data.fetch_lock import VERIFIED_CARD, VERIFIED_TOFU, lock_path, read_lock
from repro.data.loaders import open_dataset
from repro.download import download, drive_file_id, file_name, transfer
from repro.errors import ChecksumError, DataError, DownloadError, MissingDataError, SpecError
from repro.paths import cache_dir, fetched_dir

DRIVE_ID = "1HQtKhWrVSrUNh0bcka57BlhbZWCCB649"  # Test2K's id in its card (never contacted)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Loopback servers only; downloads allowed (conftest sets HF_HUB_OFFLINE for the Hub)."""
    guard_loopback(monkeypatch)
    monkeypatch.setattr(transfer, "RETRIES", 0)  # a cut is a failure here, not a retry
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)


@pytest.fixture
def server():
    with Server() as srv:
        yield srv


# -- a good archive ---------------------------------------------------------------------------
def test_a_good_archive_is_fetched_unpacked_locked_and_loaded(server, card_dir):
    files = set_files()
    body = zip_of(files)
    server.files["/Test2K.zip"] = body
    make_card(card_dir, server.base + "/Test2K.zip")
    got = fetch("Test2K")
    assert (got.verified, got.first_use, got.files) == (VERIFIED_TOFU, True, 6)
    assert got.archive_sha256 == sha(body) and got.source == server.base + "/Test2K.zip"
    target = fetched_dir() / "Test2K"
    assert got.folder == target and target.is_dir()
    lock = read_lock("Test2K")
    assert lock.files == {rel: sha(data) for rel, data in files.items()}
    assert lock.archive_sha256 == sha(body) and lock.verified == VERIFIED_TOFU
    assert left_behind() == sorted(
        [f"fetched/Test2K/{rel}" for rel in files] + ["fetched/Test2K.lock.json"]
    )  # the archive itself and every partial or staging file are gone

    data = open_dataset("Test2K", 4)
    assert data.label == "<repro-cache>/fetched/Test2K" and data.names == ["0000", "0001", "0002"]
    sample = data.load("0001")
    expected = np.asarray(Image.open(io.BytesIO(files["HR/X4/0001.png"])))
    assert np.array_equal(sample.hr, expected) and sample.lr.shape == (8, 8, 3)
    for name in data.names:
        data.verify(name)
    assert data.unverified == 0  # every file checked against the lock
    prov = data.describe()["fetched"]
    assert prov["verified"] == VERIFIED_TOFU and prov["archive_sha256"] == sha(body)
    assert prov["source"] == server.base + "/Test2K.zip"

    gets = len(server.gets("/Test2K.zip"))
    assert fetch("Test2K").verified == "present"  # here already: nothing downloaded again
    assert len(server.gets("/Test2K.zip")) == gets

    changed = target / "HR/X4/0002.png"
    changed.write_bytes(png(32, 32, 99))
    again = open_dataset("Test2K", 4)
    with pytest.raises(ChecksumError) as info:
        again.load("0002")
    msg = one_line(info)
    assert str(changed) in msg and sha(changed.read_bytes()) in msg
    assert files["HR/X4/0002.png"] and sha(files["HR/X4/0002.png"]) in msg


def test_the_cli_says_trust_on_first_use_and_verify_names_the_lock(server, card_dir, capsys):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    assert main(["fetch", "Test2K"]) == 0
    out = capsys.readouterr().out
    assert "trust on first use" in out and "<repro-cache>/fetched/Test2K.lock.json" in out
    assert main(["verify", "Test2K", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checked_against_lock"] == 6 and report["checked_against_card"] == 0
    assert report["unverified"] == 0 and report["fetched"]["verified"] == VERIFIED_TOFU
    assert main(["verify", "Test2K"]) == 0
    assert "6 against the dataset lock" in capsys.readouterr().out


def test_a_data_root_target_is_found_there_and_verified(server, card_dir, tmp_path):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    root = tmp_path / "roots"
    root.mkdir()
    assert fetch("Test2K", data_root=root).folder == root / "Test2K"
    data = open_dataset("Test2K", 4, data_root=root)
    assert data.label == "<data-root>/Test2K" and data.lock is not None
    data.verify("0000")
    assert data.unverified == 0


def test_a_missing_archive_set_names_the_fetch_command_and_downloads_nothing(server, card_dir):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    with pytest.raises(MissingDataError) as info:
        open_dataset("Test2K", 4)
    assert "repro fetch Test2K" in one_line(info)
    assert server.log == []


# -- verification -----------------------------------------------------------------------------
def test_a_file_changed_between_two_fetches_is_caught_by_the_lock(server, card_dir):
    files = set_files()
    server.files["/t.zip"] = zip_of(files)
    make_card(card_dir, server.base + "/t.zip")
    fetch("Test2K")
    lock_before = lock_path("Test2K").read_bytes()
    shutil.rmtree(fetched_dir() / "Test2K")
    changed = {**files, "LR/X4/0001.png": png(8, 8, 7)}
    server.files["/t.zip"] = zip_of(changed)
    with pytest.raises(ChecksumError) as info:
        fetch("Test2K")
    msg = one_line(info)
    assert "LR/X4/0001.png" in msg
    assert sha(changed["LR/X4/0001.png"]) in msg and sha(files["LR/X4/0001.png"]) in msg
    assert not (fetched_dir() / "Test2K").exists()
    assert lock_path("Test2K").read_bytes() == lock_before
    # the same files packed again (another compression): the archive differs, the set does not
    server.files["/t.zip"] = zip_of(files, compression=zipfile.ZIP_DEFLATED)
    got = fetch("Test2K")
    assert got.verified == VERIFIED_TOFU and "re-packed" in got.note
    assert read_lock("Test2K").files == {rel: sha(data) for rel, data in files.items()}


def test_a_published_archive_sha256_is_checked(server, card_dir):
    body = zip_of(set_files())
    server.files["/t.zip"] = body
    make_card(card_dir, server.base + "/t.zip", sha256="0" * 64)
    with pytest.raises(MissingDataError) as info:
        fetch("Test2K")
    assert f"sha256 {sha(body)}, expected {'0' * 64}" in one_line(info)
    assert left_behind() == []
    make_card(card_dir, server.base + "/t.zip", sha256=sha(body))
    got = fetch("Test2K")
    assert got.verified == VERIFIED_CARD and not got.first_use


def test_a_published_file_sha256_is_checked(server, card_dir):
    server.files["/t.zip"] = zip_of(set_files())
    card_dir(
        "Test2K",
        source={"hub": None, "archive": {"url": server.base + "/t.zip"}},
        images=3,
        sha256={"HR/X4/0000.png": "1" * 64},
    )
    with pytest.raises(ChecksumError, match="HR/X4/0000.png of the download") as info:
        fetch("Test2K")
    assert "1" * 64 in one_line(info)
    assert left_behind() == []


# -- sources: mirrors, resume, limits ---------------------------------------------------------
def test_mirrors_are_tried_in_order(server, card_dir):
    body = zip_of(set_files())
    server.files["/mirror.zip"] = body
    make_card(card_dir, server.base + "/gone.zip", mirrors=[server.base + "/mirror.zip"])
    got = fetch("Test2K")
    assert got.source == server.base + "/mirror.zip" and got.archive_sha256 == sha(body)
    assert [p for m, p, _ in server.log if m == "GET"] == ["/gone.zip", "/mirror.zip"]
    assert read_lock("Test2K").source == server.base + "/mirror.zip"  # provenance names it


def test_a_cut_download_is_resumed_where_it_stopped(server, card_dir, monkeypatch):
    body = zip_of(set_files(n=6, side=256))  # ~1.2 MB
    server.files["/t.zip"] = body
    server.cut.add("/t.zip")
    make_card(card_dir, server.base + "/t.zip", images=6)
    kept = len(body) // 2
    with pytest.raises(MissingDataError, match=f"closed after {kept} of {len(body)}") as info:
        fetch("Test2K")
    msg = one_line(info)
    assert f"({kept} bytes kept: the next try resumes); run the same command again" in msg
    assert [p.stat().st_size for p in (cache_dir() / "downloads").rglob("body")] == [kept]

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    with monkeypatch.context() as offline:  # the network is gone for one run: the bytes stay
        offline.setattr(urllib3.util.connection, "create_connection", refused)
        with pytest.raises(MissingDataError, match="cannot connect to 127.0.0.1 \\(Conn"):
            fetch("Test2K")
    assert [p.stat().st_size for p in (cache_dir() / "downloads").rglob("body")] == [kept]
    got = fetch("Test2K")
    assert server.gets("/t.zip")[-1] == f"bytes={kept}-"  # continued, not started over
    assert got.archive_sha256 == sha(body) and read_lock("Test2K").archive_sha256 == sha(body)
    assert not (cache_dir() / "downloads" / ".partial").exists()


def test_downloads_are_bounded_and_leave_nothing(server, card_dir, monkeypatch):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    monkeypatch.setattr(data_fetch, "MAX_FETCH_BYTES", 1000)
    with pytest.raises(MissingDataError, match="over the 1000-byte limit"):
        fetch("Test2K")
    assert left_behind() == []


def test_only_http_urls_are_downloaded(tmp_path):
    with pytest.raises(DownloadError, match="not an http"):
        download(["file:///etc/hostname"], tmp_path, max_bytes=100)


# -- unsafe archives --------------------------------------------------------------------------
def _tar_with(member: tarfile.TarInfo) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for rel, data in set_files().items():
            info = tarfile.TarInfo("Test2K/" + rel)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        t.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return buf.getvalue()


def _tar_link(kind: bytes) -> bytes:
    info = tarfile.TarInfo("Test2K/HR/X4/evil.png")
    info.type, info.linkname = kind, "/etc/passwd"
    return _tar_with(info)


def _zip_link() -> bytes:
    buf = io.BytesIO(zip_of(set_files()))
    with zipfile.ZipFile(buf, "a") as z:
        link = zipfile.ZipInfo("Test2K/HR/X4/evil.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    return buf.getvalue()


HOSTILE = {
    "dotdot-zip": (lambda: zip_of({**set_files(), "../../evil.png": b"x"}), "outside"),
    "absolute-zip": (lambda: zip_of({"/tmp/evil-abs.png": b"x"}, prefix=""), "outside"),
    "symlink-zip": (_zip_link, "a link"),
    "symlink-tar": (lambda: _tar_link(tarfile.SYMTYPE), "a link"),
    "hardlink-tar": (lambda: _tar_link(tarfile.LNKTYPE), "a link"),
    "truncated-zip": (lambda: zip_of(set_files())[:-100], "cannot unpack"),
    "garbage": (lambda: b"PK\x03\x04" + bytes(range(256)) * 20, "cannot unpack"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_unsafe_or_corrupt_archives_are_refused_and_leave_nothing(server, card_dir, tmp_path, kind):
    make, why = HOSTILE[kind]
    server.files["/t.zip"] = make()
    make_card(card_dir, server.base + "/t.zip")
    with pytest.raises(DataError, match=why) as info:
        fetch("Test2K")
    assert "nothing was kept" in one_line(info)
    assert left_behind() == [] and not list(tmp_path.parent.rglob("evil*"))


@pytest.mark.parametrize(
    "bound, value, why",
    [("MAX_ARCHIVE_MEMBERS", 4, "more than 4 files"), ("MAX_ARCHIVE_BYTES", 500, "bomb")],
)
def test_archive_bombs_are_bounded(server, card_dir, monkeypatch, bound, value, why):
    server.files["/t.zip"] = zip_of(set_files())
    make_card(card_dir, server.base + "/t.zip")
    monkeypatch.setattr(archives, bound, value)
    with pytest.raises(DataError, match=why):
        fetch("Test2K")
    assert left_behind() == []


def test_an_archive_without_the_layout_names_what_it_holds(server, card_dir):
    server.files["/t.zip"] = zip_of({"readme.txt": b"hello"}, prefix="other/")
    make_card(card_dir, server.base + "/t.zip")
    with pytest.raises(DataError, match="no folder matches .*it holds other/") as info:
        fetch("Test2K")
    assert "source.archive.root" in one_line(info) and left_behind() == []


def test_the_right_set_is_taken_from_an_archive_of_several(server, card_dir):
    """The iPASSR test archive holds four stereo sets in one layout: the card's name picks one."""
    files = set_files()
    server.files["/t.zip"] = zip_of(files, prefix="test/Test2K/") + b""
    body = io.BytesIO(server.files["/t.zip"])
    with zipfile.ZipFile(body, "a") as z:
        for rel, data in set_files(seed=9).items():
            z.writestr("test/Test4K/" + rel, data)
    server.files["/t.zip"] = body.getvalue()
    make_card(card_dir, server.base + "/t.zip")
    fetch("Test2K")
    assert read_lock("Test2K").files == {rel: sha(data) for rel, data in files.items()}


# -- Google Drive -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"https://drive.google.com/file/d/{DRIVE_ID}/view",
        f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing",
        f"https://drive.google.com/open?id={DRIVE_ID}",
        f"https://drive.google.com/uc?id={DRIVE_ID}&export=download",
    ],
)
def test_drive_links_give_their_file_id(url):
    assert drive_file_id(url) == DRIVE_ID and file_name(url) == f"drive-{DRIVE_ID}"


def test_drive_folders_and_other_links():
    with pytest.raises(DownloadError, match="names no Google Drive file"):
        drive_file_id("https://drive.google.com/drive/folders/1wSdB9GUa2IsYe5S8pHV-7d8dYdZA2wDp")
    assert drive_file_id("https://cv.snu.ac.kr/research/EDSR/benchmark.tar") is None
    assert file_name("https://cv.snu.ac.kr/research/EDSR/benchmark.tar") == "benchmark.tar"


def test_drive_confirmation_pages_give_the_download_link():
    from gdown.download import get_url_from_gdrive_confirmation
    from gdown.exceptions import FileURLRetrievalError

    assert get_url_from_gdrive_confirmation(_virus_scan_page(DRIVE_ID)) == (
        "https://drive.usercontent.google.com/download"
        f"?id={DRIVE_ID}&export=download&confirm=t&uuid=u-1"
    )
    legacy = (
        f'<a id="uc-download-link" href="/uc?export=download&amp;confirm=Xy7z&amp;id={DRIVE_ID}">'
    )
    assert get_url_from_gdrive_confirmation(legacy) == (
        f"https://docs.google.com/uc?export=download&confirm=Xy7z&id={DRIVE_ID}"
    )
    with pytest.raises(FileURLRetrievalError, match="Too many users"):
        get_url_from_gdrive_confirmation(_QUOTA_PAGE)


def _virus_scan_page(file_id: str, action: str = "https://drive.usercontent.google.com/download"):
    return (
        "<html><body><p>Google Drive can't scan this file for viruses.</p>\n"
        f'<form id="download-form" action="{action}" '
        'method="get"><input type="submit" value="Download anyway"/>'
        f'<input type="hidden" name="id" value="{file_id}"><input type="hidden" name="export" '
        'value="download"><input type="hidden" name="confirm" value="t">'
        '<input type="hidden" name="uuid" value="u-1"></form></body></html>\n'
    )


_QUOTA_PAGE = (
    '<html><p class="uc-error-subcaption">Too many users have viewed or downloaded this file '
    "recently.</p></html>\n"
)


@pytest.fixture
def drive(server, monkeypatch):
    """Google Drive's hosts answered by the loopback server (gdown's requests rewritten)."""
    real = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        parts = requests.utils.urlparse(request.url)
        if parts.hostname in ("drive.google.com", "drive.usercontent.google.com"):
            query = f"?{parts.query}" if parts.query else ""
            request.url = f"{server.base}/{parts.hostname}{parts.path}{query}"
        return real(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    state = {"body": b"", "quota": False, "redirect": None}
    state["form"] = "https://drive.usercontent.google.com/download"  # the page's download link

    def uc(handler, query):  # the first answer: a redirect to Drive's download host
        where = state["redirect"] or (
            f"https://drive.usercontent.google.com/download?id={query['id'][0]}&export=download"
        )
        handler.reply(303, {"Location": where}, b"")

    def usercontent(handler, query):  # the file, only with the confirmation's parameters
        if query.get("confirm") != ["t"] or query.get("uuid") != ["u-1"]:
            # the "can't scan for viruses" page (or a quota page)
            scan = _virus_scan_page(query["id"][0], state["form"])
            page = _QUOTA_PAGE if state["quota"] else scan
            handler.reply(200, {"Content-Type": "text/html; charset=utf-8"}, page.encode())
            return
        disposition = {"Content-Disposition": 'attachment; filename="Test2K.zip"'}
        handler.send_file(state["body"], disposition)

    server.pages["/drive.google.com/uc"] = uc
    server.pages["/drive.usercontent.google.com/download"] = usercontent
    return state


def test_a_drive_archive_is_fetched_through_its_confirmation_page(server, drive, card_dir):
    files = set_files()
    drive["body"] = zip_of(files)
    url = f"https://drive.google.com/file/d/{DRIVE_ID}/view"
    make_card(card_dir, url)
    got = fetch("Test2K")
    assert got.source == url and got.archive_sha256 == sha(drive["body"])
    assert [p for m, p, _ in server.log if m == "GET"] == [
        "/drive.google.com/uc",  # redirected among Drive's own hosts, then its page, the file
        "/drive.usercontent.google.com/download",
        "/drive.usercontent.google.com/download",
    ]
    assert read_lock("Test2K").files == {rel: sha(data) for rel, data in files.items()}


def test_a_drive_link_redirected_off_drive_is_refused(server, drive, card_dir):
    drive["redirect"] = "https://files.example.org/Test2K.zip"  # never contacted (guarded)
    make_card(card_dir, f"https://drive.google.com/file/d/{DRIVE_ID}/view")
    with pytest.raises(MissingDataError) as info:
        fetch("Test2K")
    msg = one_line(info)
    assert "refused a redirect to another host, files.example.org" in msg
    assert "list it in source.archive.hosts" in msg and left_behind() == []


def test_a_drive_page_linking_off_drive_is_refused(server, drive, card_dir):
    drive["form"] = "https://files.example.org/download"  # never contacted (guarded)
    make_card(card_dir, f"https://drive.google.com/file/d/{DRIVE_ID}/view")
    with pytest.raises(MissingDataError) as info:
        fetch("Test2K")
    assert "refused a redirect to another host, files.example.org" in one_line(info)
    assert left_behind() == []


def test_a_drive_quota_page_is_a_one_line_error(server, drive, card_dir):
    drive["quota"] = True
    make_card(card_dir, f"https://drive.google.com/file/d/{DRIVE_ID}/view")
    with pytest.raises(MissingDataError, match="Too many users") as info:
        fetch("Test2K")
    one_line(info)
    assert left_behind() == []


# -- Hub sets and the cards -------------------------------------------------------------------
REVISION = "0123456789abcdef0123456789abcdef01234567"


def test_a_hub_set_is_fetched_from_its_snapshot_and_found_first(tmp_path, monkeypatch, card_dir):
    import huggingface_hub.constants as hfc

    tar = io.BytesIO()
    hr = {n: png(16, 16, i) for i, n in enumerate(("baby", "bird"))}
    with tarfile.open(fileobj=tar, mode="w:gz") as t:
        for n, data in hr.items():
            info = tarfile.TarInfo(f"Set5_HR/{n}.png")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    repo = tmp_path / "hub" / "datasets--repro-test--set5"
    blob = repo / "blobs" / sha(tar.getvalue())
    blob.parent.mkdir(parents=True)
    blob.write_bytes(tar.getvalue())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    link = repo / "snapshots" / REVISION / "Set5_HR.tar.gz"
    link.parent.mkdir(parents=True)
    link.symlink_to(blob)
    monkeypatch.setattr(hfc, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "no-shared"))
    card_dir(
        "Set5",
        source={"hub": {"repo": "repro-test/set5", "revision": REVISION}},
        layouts=[{"name": "extracted", "hr": "Set5_HR/{name}.png"}],
        sha256={},
    )
    got = fetch("Set5")
    assert got.source == f"hf://repro-test/set5@{REVISION}" and got.first_use
    data = open_dataset("Set5", 4)
    assert data.label == "<repro-cache>/fetched/Set5" and data.names == ["baby", "bird"]
    data.verify("bird")
    assert data.unverified == 0 and read_lock("Set5").files == {
        f"Set5_HR/{n}.png": sha(b) for n, b in hr.items()
    }


def test_cards_name_files_not_pages(card_dir):
    for url, why in [
        ("https://github.com/csjcai/RealSR", "a GitHub page"),
        (
            "https://drive.google.com/drive/folders/1wSdB9GUa2IsYe5S8pHV-7d8dYdZA2wDp",
            "a Google Drive folder",
        ),
    ]:
        with pytest.raises(SpecError, match=f"source.archive.url' is {why}"):
            make_card(card_dir, url)
    card = make_card(card_dir, "https://github.com/csjcai/RealSR", manual="registration needed")
    with pytest.raises(MissingDataError, match="cannot be fetched by one command: registration"):
        fetch(card.name)


def test_which_real_cards_one_command_fetches():
    """The 19 cards: 17 fetchable (Hub snapshot or archive link), 2 by hand, each with why."""
    from repro.data.cards import all_cards

    cards = all_cards()
    by_hand = sorted(
        n
        for n, c in cards.items()
        if not (c.hub and c.hub.revision) and (c.archive is None or c.archive.manual)
    )
    assert by_hand == ["Manga109", "RealSRSet"]
    for name in by_hand:
        assert cards[name].archive.manual  # says why
    drive = sorted(n for n, c in cards.items() if c.archive and drive_file_id(c.archive.url))
    assert drive == [
        "F2K", "Flickr1024", "KITTI2012", "KITTI2015", "Middlebury", "ODI-SR", "RealLQ250",
        "SUN360", "Test2K", "Test4K", "Test8K",
    ]  # fmt: skip
    assert Path(cards["KITTI2012"].path).name == "KITTI2012.yaml"


def test_the_fetch_command_helps_and_refuses_a_stray_option(capsys):
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    assert "examples:" in capsys.readouterr().out.split("\n\n")[-1]
    assert main(["fetch", "Test2K", "--from-zip", "DIV8K.zip"]) == 2
    assert "--from-zip goes with --build" in capsys.readouterr().err

"""Files on disk: owner-only permissions, durable images, failures that change nothing."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from case_session import CaseSession
from store_factories import make_field, make_image

from hemoscope.core import CaseInfo, Relabel
from hemoscope.store import (
    CaseStore,
    ImageStore,
    ImageStoreError,
    StoreError,
    image_sha256,
)

needs_permissions = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="file permissions are not enforced here"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_database_and_images_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a permissive umask must not leak into the files
    try:
        db = tmp_path / "data" / "cases.db"
        with CaseStore.open(db) as store:
            s = CaseSession.new(store, CaseInfo("S-1"), operator="AB")
            s.add_field(make_field(1), make_image(1))
            assert _mode(db) == 0o600
            assert _mode(db.with_name("cases.db-wal")) == 0o600
            assert _mode(db.parent) == 0o700
            assert _mode(store.images.root) == 0o700
            png = next(store.images.root.rglob("*.png"))
            assert _mode(png) == 0o600 and _mode(png.parent) == 0o700
    finally:
        os.umask(old)


def test_images_are_lossless_and_content_addressed(tmp_path: Path) -> None:
    images = ImageStore(tmp_path / "img")
    for image in (
        make_image(3),
        make_image(4)[:, :, 0].copy(),
        np.dstack([make_image(5), make_image(6)[:, :, :1]]),
    ):
        ref = images.put(image)
        assert ref.sha256 == image_sha256(image)
        assert images.path_for(ref.sha256).name == f"{ref.sha256}.png"
        assert np.array_equal(images.get(ref.sha256), image)
    assert not list((tmp_path / "img").rglob(".tmp-*"))


def test_damaged_image_file_is_detected(tmp_path: Path) -> None:
    images = ImageStore(tmp_path / "img")
    ref = images.put(make_image(1))
    other = ImageStore(tmp_path / "other").put(make_image(2))
    path = images.path_for(ref.sha256)
    path.write_bytes(
        (tmp_path / "other").joinpath(other.sha256[:2], f"{other.sha256}.png").read_bytes()
    )
    with pytest.raises(ImageStoreError, match="damaged"):
        images.get(ref.sha256)
    path.unlink()
    with pytest.raises(ImageStoreError, match="missing"):
        images.get(ref.sha256)


@needs_permissions
def test_unwritable_image_folder_leaves_the_case_unchanged(tmp_path: Path) -> None:
    with CaseStore.open(tmp_path / "cases.db") as store:
        s = CaseSession.new(store, CaseInfo("S-1"), operator="AB")
        s.add_field(make_field(1), make_image(1))
        before = s.case
        store.images.root.chmod(0o500)
        try:
            with pytest.raises(ImageStoreError, match="could not be saved"):
                s.add_field(make_field(2), make_image(2))
        finally:
            store.images.root.chmod(0o700)
        assert s.case == before and store.load_case(before.id) == before
        assert [r.action for r in store.audit_trail(before.id)].count("add-field") == 1


def test_disk_full_while_writing_an_image(
    store: CaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = CaseSession.new(store, CaseInfo("S-1"), operator="AB")
    before = s.case

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("hemoscope.store.images.os.fsync", full)
    with pytest.raises(ImageStoreError, match=r"No space left on device.*case is unchanged"):
        s.add_field(make_field(1), make_image(1))
    monkeypatch.undo()
    assert s.case == before and store.load_case(before.id) == before
    assert not [p for p in store.images.root.rglob("*") if p.is_file()]  # no partial file


def test_failed_transaction_is_rolled_back_whole(store: CaseStore) -> None:
    s = CaseSession.new(store, CaseInfo("S-1"), operator="AB")
    field = make_field(1)
    s.add_field(field, make_image(1))
    before, trail = s.case, store.audit_trail(s.case.id)

    def deny_audit(action: int, table: str | None, *_: object) -> int:
        return (
            sqlite3.SQLITE_DENY
            if table == "audit" and action == sqlite3.SQLITE_INSERT
            else sqlite3.SQLITE_OK
        )

    store.conn.set_authorizer(deny_audit)  # the cells are written, then the audit fails
    try:
        with pytest.raises(StoreError, match="could not be saved"):
            s.do(Relabel(field.id, field.cells[0].id, "basophil"))
    finally:
        store.conn.set_authorizer(None)
    assert s.case == before and not s.can_redo and s.undo_text is not None
    assert store.load_case(before.id) == before and store.audit_trail(before.id) == trail
    s.do(Relabel(field.id, field.cells[0].id, "basophil"))  # and it works again
    assert store.load_case(before.id).fields[0].cells[0].final_class == "basophil"


def test_orphan_images_are_collected_once_old_and_never_beside_a_damaged_database(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cases.db"
    with CaseStore.open(db) as store:
        case = store.create_case(CaseInfo("ORPH-1"), operator="AB")
        kept = make_field(1)
        store.add_field(case, kept, make_image(1), operator="AB")
        orphan = store.images.put(make_image(2))  # written, then the save never happened
        young = store.images.put(make_image(3))  # a save in progress elsewhere
        temp = store.images.path_for(orphan.sha256).with_name(".tmp-abc.png")
        temp.write_bytes(b"half")
        old = time.time() - 7200
        for path in (store.images.path_for(orphan.sha256), temp):
            os.utime(path, (old, old))
        (tmp_path / "cases.db.damaged-20260101T000000Z").write_bytes(b"x")
        assert store.collect_orphan_images() == []  # the damaged one may need its images
        (tmp_path / "cases.db.damaged-20260101T000000Z").unlink()
        removed = store.collect_orphan_images()
        assert sorted(removed) == sorted([store.images.path_for(orphan.sha256), temp])
        assert store.images.has(young.sha256)
        sha = store.field_image_sha(case.id, kept.id)
        assert sha is not None and store.images.get(sha).shape == (64, 96, 3)

"""A stand-in for the app at the microscope, for the crash test (run as a script).

It opens the case database the way the app does, then captures fields and corrects
cells in a loop through `CaseSession` (add field, relabel, confirm, delete, undo). After
each action has returned, i.e. has been committed, it writes one acknowledgement line:

    ACK <action> <first audit seq> <last audit seq> <field id> <cell id> <new class> <digest>

``python store_crash_driver.py DB SEED``. It never ends by itself: the test kills it.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np

from hemoscope.core import Box, Case, CaseInfo, Cell, CellKind, Confirm, Delete, Field, Relabel
from hemoscope.core.serialize import case_to_dict
from hemoscope.store import CaseSession, CaseStore

CLASSES = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil", "band")


def digest(case: Case) -> str:
    data = json.dumps(case_to_dict(case), sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def new_field(rng: random.Random) -> tuple[Field, np.ndarray]:
    w, h = 80, 60
    image = np.random.default_rng(rng.getrandbits(32)).integers(0, 256, (h, w, 3), np.uint8)
    cells = [
        Cell.create(
            Box(i * 7, 5, i * 7 + 12, 17),
            CellKind.WBC,
            auto_class=rng.choice(CLASSES),
            score=0.8,
            probability=round(rng.random(), 3),
            review=rng.random() < 0.3,
        )
        for i in range(rng.randint(1, 6))
    ]
    cells += [Cell.create(Box(i * 5, 30, i * 5 + 9, 39), CellKind.RBC) for i in range(8)]
    return Field.create(cells, w, h, "simulated"), image


def main(db: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = CaseStore.open(db, integrity="full")
    found = store.list_cases()
    if found:
        session = CaseSession.open(store, found[0].id, operator="crash-test")
    else:
        session = CaseSession.new(store, CaseInfo("CRASH-1"), operator="crash-test")
    case_id = session.case.id

    def last_seq() -> int:
        row = store.conn.execute("SELECT max(seq) FROM audit WHERE case_id = ?", (case_id,))
        return int(row.fetchone()[0])

    print(f"START {digest(session.case)} {last_seq()}", flush=True)
    while True:
        case = session.case
        first = last_seq() + 1
        cells = [(f.id, c) for f in case.fields for c in f.cells if c.kind is CellKind.WBC]
        roll = rng.random()
        fid = cid = new = "-"
        if not cells or roll < 0.2:
            field, image = new_field(rng)
            session.add_field(field, image)
            action, fid = "add-field", field.id
        elif roll < 0.35 and session.can_undo:
            session.undo()
            action = "undo"
        else:
            fid, cell = rng.choice(cells)
            cid = cell.id
            if roll < 0.75:
                new = rng.choice(CLASSES)
                session.do(Relabel(fid, cid, new))
                action = "relabel"
            elif roll < 0.85 and cell.auto_class is not None:
                session.do(Confirm(fid, cid))
                action, new = "confirm", cell.auto_class
            else:
                session.do(Delete(fid, cid))
                action = "delete"
        print(
            f"ACK {action} {first} {last_seq()} {fid} {cid} {new} {digest(session.case)}",
            flush=True,
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))

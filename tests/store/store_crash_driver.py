"""The station's case layer at work, for the crash test (run as a script).

It opens the case database the way the app does (`StoreBackend`: the database on its
own writer thread) and works through the very objects the main window calls
(`CaseWorkspace`): it captures fields and corrects cells in a loop (add field, relabel,
confirm, delete, undo). Once an action is written (the station's writer queue flushed),
it writes one acknowledgement line:

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

from hemoscope.core import (
    Box,
    Case,
    CaseInfo,
    Cell,
    CellKind,
    Confirm,
    Correction,
    Delete,
    Field,
    Relabel,
)
from hemoscope.core.serialize import case_to_dict
from hemoscope.ui.case.case_backend import StoreBackend
from hemoscope.ui.case.workspace import CaseWorkspace

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
    backend = StoreBackend(db, operator="crash-test")
    workspace = CaseWorkspace(backend=backend)
    found = backend.list_cases()
    if found:
        workspace.open_case(found[0].id)
    else:
        workspace.new_case(CaseInfo("CRASH-1"))
    done: list[Correction] = []  # what Ctrl+Z would undo, newest last

    def current() -> Case:
        assert workspace.case is not None
        return workspace.case

    def last_seq() -> int:
        return backend.audit_trail(current())[-1].seq

    print(f"START {digest(current())} {last_seq()}", flush=True)
    while True:
        case = current()
        first = last_seq() + 1
        cells = [(f.id, c) for f in case.fields for c in f.cells if c.kind is CellKind.WBC]
        roll = rng.random()
        fid = cid = new = "-"
        if not cells or roll < 0.2:
            field, image = new_field(rng)
            done.append(workspace.add_field(field, image))
            action, fid = "add-field", field.id
        elif roll < 0.35 and done:
            workspace.revert(done.pop())
            action = "undo"
        else:
            fid, cell = rng.choice(cells)
            cid = cell.id
            if roll < 0.75:
                new = rng.choice(CLASSES)
                done.append(workspace.apply(Relabel(fid, cid, new)))
                action = "relabel"
            elif roll < 0.85 and cell.auto_class is not None:
                done.append(workspace.apply(Confirm(fid, cid)))
                action, new = "confirm", cell.auto_class
            else:
                done.append(workspace.apply(Delete(fid, cid)))
                action = "delete"
        backend.flush()  # written: now it may be acknowledged
        ack = f"ACK {action} {first} {last_seq()} {fid} {cid} {new} {digest(current())}"
        print(ack, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))

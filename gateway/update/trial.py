"""The trial marker: a switched release that has not yet proved itself healthy.

``{data_dir}/updates/trial.json`` exists exactly while a new release is on trial. The guard
unit starts only when it exists (``ConditionPathExists=``), so after a power cut in the middle
of a check the guard runs again at boot; each run counts an attempt, and a release that has
used up its attempts (it keeps crashing the kiosk, or the power keeps failing while it is
checked) is rolled back without another try.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Trial:
    """A release on trial.

    Attributes:
        update_id: the update in the journal.
        version: the release on trial (``current``).
        from_version: the release it replaced (``previous``), where a rollback returns.
        restore_previous: what ``previous`` pointed to before the switch (None: nothing),
            restored by a rollback so that ``previous`` never names the failed release.
        started_at: when the switch happened (ISO 8601, UTC).
        attempts: guard runs so far.
    """

    update_id: str
    version: str
    from_version: str
    restore_previous: str | None
    started_at: str
    attempts: int = 0

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            json.dump(asdict(self), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Trial | None:
        """The trial in ``path``, or None when there is none (or it is unreadable)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            return None


def trial_path(data_dir: Path) -> Path:
    return data_dir / "updates" / "trial.json"

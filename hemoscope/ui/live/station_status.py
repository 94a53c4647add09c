"""What the station tells the technician about its machinery: the source (status bar and
the lost-camera banner), frame rates and inference time, the models, failed saves, and a
laboratory profile of Settings ▸ Models that the models in use cannot take (made for
other model files, as after an update, or unreadable): the station then classifies with
the shipped model, and says so instead of leaving it to the Models page.

`StationStatus` listens to the live controller, the inference worker and the case
controller, and writes to the status bar and the two banners; it decides nothing else
(the live controller says whether there is something to capture).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject

from hemoscope.ui.case.case_controller import CaseController
from hemoscope.ui.live.inference import InferenceWorker
from hemoscope.ui.live.live import LiveController
from hemoscope.ui.live.source_status import SourceBannerText
from hemoscope.ui.review.review import ReviewController
from hemoscope.ui.shared.banner import Banner
from hemoscope.ui.shared.status import StationStatusBar

__all__ = ["PROFILE_NOT_USED", "StationStatus"]

PROFILE_NOT_USED = (
    "The laboratory profile chosen in Settings ▸ Models is not in use: it was made for "
    "other model files (as after an update) or cannot be read, so cells are classified "
    "with the shipped model. Settings ▸ Models says why; calibrate or adapt again there"
)

log = logging.getLogger(__name__)


class StationStatus(QObject):
    def __init__(
        self,
        *,
        status: StationStatusBar,
        source_banner: Banner,
        notice: Banner,
        live: LiveController,
        worker: InferenceWorker,
        cases: CaseController,
        review: ReviewController,
        fields_count: Callable[[], int],
        profile_wanted: Callable[[], str] = lambda: "",
        open_settings: Callable[[], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.worker = worker
        self._profile_wanted = profile_wanted  # Settings ▸ Models' profile file, or ""
        self._open_settings = open_settings
        self.status = status
        self.source_banner = source_banner
        self.notice = notice
        self.live = live
        self.review = review
        self._fields_count = fields_count
        self._text = SourceBannerText()
        live.source_status.connect(self.source_changed)
        live.rates.connect(self.rates)
        worker.ready.connect(self.models_ready)
        worker.unavailable.connect(self.models_unavailable)
        worker.failed.connect(status.show_error)
        cases.error.connect(self.case_error)
        cases.case_opened.connect(self.notice.dismiss)  # its problems were the last case's
        review.overlap_notice.connect(self.overlap)
        review.mode_changed.connect(self._mode_changed)
        self._overlap_shown = False

    def source_changed(self, status: object) -> None:
        text = self._text.describe(status, self.live.still_name, self._fields_count())
        self.status.show_source(text.status, text.tip)
        if text.banner:
            self.source_banner.show_message(
                text.banner, level=text.level, button=text.button, action=self.live.reconnect
            )
        else:
            self.source_banner.dismiss()
        self.review.show_live_caption(lost=bool(text.banner))

    def rates(self, shown: float, source: float, ms: object) -> None:
        showing = self.review.mode == "live" and self.live.streaming and self.live.can_capture()
        self.status.show_rates(shown if showing else None, source)
        self.status.show_inference(ms if isinstance(ms, float) else None)

    def models_ready(self, versions: str) -> None:
        self.status.show_models(f"Models: {versions}" if versions else "Models loaded", versions)
        self.notice.dismiss()
        wanted = self._profile_wanted()
        if wanted and self.worker.lab_profile_card is None:
            self.notice.show_message(
                f"{PROFILE_NOT_USED} ({Path(wanted).name}).",
                level="warning",
                button="Settings…" if self._open_settings else "",
                action=self._open_settings,
            )

    def models_unavailable(self, message: str) -> None:
        self.status.show_models("No models", message)
        self.notice.show_message(
            f"{message}. The live picture works; captured fields get no automatic cells "
            "(draw them by hand), and manual counting works as usual.",
            level="info",
        )

    def overlap(self, text: str) -> None:
        """After a capture: the banner saying cells were counted already, or none."""
        if text:
            self.notice.show_message(
                text, level="info", button="Dismiss", action=self.notice.dismiss
            )
        elif self._overlap_shown:
            self.notice.dismiss()
        self._overlap_shown = bool(text)

    def _mode_changed(self, mode: str) -> None:
        if mode != "review":  # the overlap banner was about the field under review
            self.overlap("")

    def case_error(self, message: str) -> None:
        log.warning("%s", message)
        self.status.show_error(message)
        self.notice.show_message(
            message, level="error", button="Dismiss", action=self.notice.dismiss
        )

"""``channels=auto``, the upload's default: whether a recording is transcribed channel by channel or from its mix.

A file of 2 to :data:`~stenograph.steps.diarization.channels.MAX_CHANNELS` channels is measured with the rule
the diarization uses (:func:`~stenograph.steps.diarization.channels.measure_file`, docs/diarization.md, "by
channel"): when each channel carries its own voice it is transcribed as ``channels=split`` (each channel on its
own: voices talking over each other stay word for word apart), else as ``channels=mix``. Speaker counts the
upload fixed that differ from the channels with speech keep the mix, as they keep the diarization's. One
channel, more than 8, or a file that cannot be read, is mixed without measuring (the transcriber then says what
is wrong with it). ``mix`` and ``split`` asked for explicitly are kept as they are, unmeasured. The measurement
costs about 1.4 s of CPU per 10 minutes of stereo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from stenograph.errors import PermanentError

__all__ = ["CHANNEL_MODES", "ChannelChoice", "choose_channels"]

#: The values of the ``channels`` option: ``auto`` (the default), ``mix`` and ``split``.
CHANNEL_MODES = ("auto", "mix", "split")
#: The speaker counts an upload may fix, which ``auto`` heeds.
SPEAKER_COUNTS = ("num_speakers", "min_speakers", "max_speakers")


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """How a transcription reads the channels.

    Attributes:
        asked: what the upload asked for (``auto``, ``mix`` or ``split``).
        used: what the transcriber is given (``mix`` or ``split``).
        reason: why, in words (the measurement's reason for ``auto``).
        separation: the channel measurement (:meth:`ChannelSeparation.as_dict`) for ``auto`` on a file of 2
            to 8 channels, else None.
    """

    asked: str
    used: Literal["mix", "split"]
    reason: str
    separation: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The choice as plain JSON values (kept in the transcript version's ``info["channels"]``)."""
        return {"asked": self.asked, "used": self.used, "reason": self.reason, "separation": self.separation}


def choose_channels(
    path: Path,
    asked: str | None,
    should_stop: Callable[[], bool] | None = None,
    speaker_counts: Mapping[str, int | None] | None = None,
) -> ChannelChoice:
    """The channel mode for transcribing ``path`` when ``asked`` (None: ``auto``).

    ``speaker_counts`` (``num_speakers``, ``min_speakers``, ``max_speakers``, each None when not asked) are the
    upload's: ``auto`` splits only where the diarization, given them, diarizes by channel too
    (:func:`~stenograph.steps.diarization.channels.split_fits`), so that the speakers step finds each channel's
    speaker.

    Raises:
        PermanentError: (kind ``bad_options``) ``asked`` is not one of :data:`CHANNEL_MODES`.
        TaskCancelled: ``should_stop()`` became true while measuring.
    """
    from stenograph.steps.diarization.channels import MAX_CHANNELS, measure_file, split_fits

    mode = (asked or "auto").strip().lower()
    if mode == "mix":
        return ChannelChoice(mode, "mix", "channels=mix was asked for")
    if mode == "split":
        return ChannelChoice(mode, "split", "channels=split was asked for")
    if mode != "auto":
        raise PermanentError(f"channels must be 'auto', 'mix' or 'split', not {asked!r}", kind="bad_options")
    _, separation, _ = measure_file(path, should_stop)
    if separation is None:
        return ChannelChoice("auto", "mix", f"not 2 to {MAX_CHANNELS} readable channels: the mix is transcribed")
    counts = {key: value for key, value in (speaker_counts or {}).items() if key in SPEAKER_COUNTS}
    if separation.separate and not split_fits(separation, **counts):
        reason = f"{separation.reason}, but the speaker counts asked for differ from them"
        return ChannelChoice("auto", "mix", reason, separation.as_dict())
    used: Literal["mix", "split"] = "split" if separation.separate else "mix"
    return ChannelChoice("auto", used, separation.reason, separation.as_dict())

"""The ``ask`` step: a question answered from the transcripts, citing timestamps (see ``docs/ask.md``)."""

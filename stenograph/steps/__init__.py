"""The pipeline's steps as plug-ins: the registry (:mod:`stenograph.steps.base`), one folder per step,
and the submission of an upload with its tasks (:mod:`stenograph.steps.submit`)."""

"""A model that validates (its config and code are fine) but cannot start: its weights are missing."""

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        raise pb_utils.TritonModelException("weights file /models/identity/1/weights.bin not found")

    def execute(self, requests):
        return [pb_utils.InferenceResponse(output_tensors=[]) for _ in requests]

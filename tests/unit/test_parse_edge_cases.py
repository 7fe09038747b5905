"""Inputs protobuf's Python parser rejects with something other than ParseError still give Triton's finding."""

from ansible_collections.gpufleet.triton.plugins.module_utils._model_config import parse_config_text


def test_enum_number_out_of_every_integer_range_is_reported_like_triton():
    # Triton 2.51: "Error parsing text-format inference.ModelConfig: 3:32: Integer out of range (99999999999999999999)"
    text = (
        'name: "m"\nbackend: "python"\n'
        'input [ { name: "I" data_type: 99999999999999999999 dims: [ 1 ] } ]\n'
        'output [ { name: "O" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
    )
    config, error = parse_config_text(text)
    assert config is None
    assert error["message"] == "Integer out of range (99999999999999999999)"
    assert (error["line"], error["column"]) == (3, 32)

"""Page tokens (MLflow's base64 JSON format) and max_results checks."""

from __future__ import annotations

import base64
import json

import pytest

from mltrail.errors import INVALID_PARAMETER_VALUE, MltrailError
from mltrail.search.paging import decode_page_token, encode_page_token, validate_max_results


def _token(payload: object) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize("offset", [0, 1, 1000, 50000, 10**12])
def test_round_trip(offset: int) -> None:
    assert decode_page_token(encode_page_token(offset)) == offset


def test_token_is_mlflows_format() -> None:
    token = encode_page_token(100)
    assert json.loads(base64.b64decode(token)) == {"offset": 100}
    # A token made by MLflow (SearchUtils.create_page_token returns bytes of the same JSON).
    assert decode_page_token(base64.b64encode(b'{"offset": 25}')) == 25
    assert decode_page_token(_token({"offset": "7"})) == 7


@pytest.mark.parametrize("token", [None, "", b""])
def test_no_token_is_first_page(token: str | bytes | None) -> None:
    assert decode_page_token(token) == 0


def test_urlsafe_and_unpadded_tokens() -> None:
    raw = json.dumps({"offset": 3, "pad": "??>>"}).encode()
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "-" in urlsafe or "_" in urlsafe
    assert decode_page_token(urlsafe) == 3


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not base64!!", "Invalid page token, could not base64-decode"),
        ("a", "Invalid page token, could not base64-decode"),
        ("abc", "Invalid page token, decoded value="),
        ("é", "Invalid page token, could not base64-decode"),
        ("A" * 5000, "Invalid page token, could not base64-decode"),
        (base64.b64encode(b"not json").decode(), "Invalid page token, decoded value="),
        (_token([1, 2]), "Invalid page token, parsed value=[1, 2]"),
        (_token({"offset": -1}), "Invalid page token, parsed value={'offset': -1}"),
        (_token({"offset": 1.5}), "Invalid page token, parsed value="),
        (_token({"offset": True}), "Invalid page token, parsed value="),
        (_token({"offset": "x"}), "Invalid page token, parsed value="),
        (_token({"start": 3}), "Invalid page token, parsed value="),
        (_token(5), "Invalid page token, parsed value=5"),
    ],
)
def test_bad_tokens(token: str, message: str) -> None:
    with pytest.raises(MltrailError) as info:
        decode_page_token(token)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    assert info.value.message.startswith(message)


@pytest.mark.parametrize("offset", [-1, 1.5, True, "3"])
def test_encode_rejects_bad_offsets(offset: object) -> None:
    with pytest.raises(MltrailError, match="Invalid page offset"):
        encode_page_token(offset)  # type: ignore[arg-type]


def test_max_results_default_and_bounds() -> None:
    assert validate_max_results(None, 1000, 50000) == 1000
    assert validate_max_results(1, 1000, 50000) == 1
    assert validate_max_results(50000, 1000, 50000) == 50000


@pytest.mark.parametrize(
    ("max_results", "message"),
    [
        (50001, "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000"),
        (0, "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"),
        (-5, "Invalid value -5 for parameter 'max_results' supplied. It must be a positive integer"),
        (True, "Invalid value True for parameter 'max_results' supplied. It must be a positive integer"),
        ("10", "Invalid value 10 for parameter 'max_results' supplied. It must be a positive integer"),
    ],
)
def test_max_results_tracking_wording(max_results: object, message: str) -> None:
    with pytest.raises(MltrailError) as info:
        validate_max_results(max_results, 1000, 50000)  # type: ignore[arg-type]
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    assert info.value.message == message


def test_max_results_registry_wording() -> None:
    with pytest.raises(MltrailError) as info:
        validate_max_results(1001, 100, 1000, wording="registry")
    assert info.value.message == (
        "Invalid value for request parameter max_results. It must be at most 1000, but got value 1001"
    )
    with pytest.raises(MltrailError) as info:
        validate_max_results(0, 100, 1000, wording="registry")
    assert info.value.message == "Invalid value for max_results. It must be a positive integer, but got 0"


def test_max_results_parameter_name() -> None:
    with pytest.raises(MltrailError, match="for parameter 'page_size' supplied"):
        validate_max_results(30000, 25000, 25000, "page_size")

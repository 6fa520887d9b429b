"""Bad input gets the right exception with a message that says what is
wrong -- without printing a 5000-digit value or a clamped offset."""
import sys

import futex
import pytest


@pytest.mark.parametrize("method", ["store", "exchange", "fetch_add", "fetch_sub", "fetch_and", "fetch_or",
                                    "fetch_xor"])
@pytest.mark.parametrize("value", [10**5000, -(10**5000), 2**64], ids=["10**5000", "-10**5000", "2**64"])
def test_huge_value_is_overflowerror_without_the_value(method, value):
    c = futex.Cell()
    with pytest.raises(OverflowError) as e:
        getattr(c, method)(value)
    assert "2**32" in str(e.value) and len(str(e.value)) < 200
    assert c.load() == 0  # touched nothing


def test_huge_expected_in_wait_and_compare_exchange():
    c = futex.Cell()
    with pytest.raises(OverflowError):
        c.wait(10**5000, 0)
    with pytest.raises(OverflowError):
        c.compare_exchange(0, 10**5000)


@pytest.mark.parametrize("offset, says", [(2**70, "<= len(buffer) - 4"), (-(2**70), ">= 0"),
                                          (sys.maxsize + 1, "<= len(buffer) - 4")])
def test_huge_offset_says_out_of_range_not_a_clamped_number(offset, says):
    with pytest.raises(ValueError) as e:
        futex.Cell(bytearray(16), offset)
    assert says in str(e.value)
    assert str(sys.maxsize) not in str(e.value) and "multiple of 4" not in str(e.value)
    with pytest.raises(ValueError):
        futex.Cell(None, offset)


def test_non_contiguous_memoryview_says_what_is_wrong():
    with pytest.raises(BufferError) as e:
        futex.Cell(memoryview(bytearray(32))[::2], 0)
    assert "one contiguous block" in str(e.value) and "memoryview" in str(e.value)  # what is wrong, and what would do

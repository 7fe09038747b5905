"""gpufleet.triton.warn's arguments (the action plugin's warning_of) on generated values of every type: a warning for
a non-empty string msg and nothing else, otherwise an error that names msg (or the arguments it does not take)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible_collections.gpufleet.triton.plugins.action.warn import warning_of
from hypothesis import given
from hypothesis import strategies as st

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(max_size=8))
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner))
ARGS = st.one_of(
    st.fixed_dictionaries({"msg": st.one_of(st.text(), JUNK)}),
    st.dictionaries(st.one_of(st.just("msg"), st.text(max_size=6)), JUNK, max_size=3),
    JUNK,
)


@given(args=ARGS)
def test_warn_shows_a_non_empty_string_or_names_what_is_wrong(args):
    good = isinstance(args, dict) and set(args) == {"msg"} and isinstance(args["msg"], str) and args["msg"].strip()
    try:
        warning = warning_of(args)
    except AnsibleActionFail as exc:
        assert not good, (args, exc)
        assert str(exc).startswith(("warn takes", "msg must be the warning")), exc
        return
    assert good, args
    assert warning == args["msg"].strip() and warning

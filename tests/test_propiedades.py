"""Propiedades con Hypothesis: divisiones y metadatos JSON para cualquier entrada válida."""

import numpy as np
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from datos.particiones import split_indices
from modelos.guardado import split_kwargs


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 4), min_size=10, max_size=200),
    seed=st.integers(0, 2**31 - 1),
    test_fraction=st.floats(0.0, 0.5),
    validation_fraction=st.floats(0.0, 0.5),
)
def test_split_is_a_disjoint_cover_and_reproducible(labels, seed, test_fraction,
                                                     validation_fraction):
    first = split_indices(labels, seed=seed, test_fraction=test_fraction,
                          validation_fraction=validation_fraction)
    joined = np.concatenate(first)
    assert len(joined) == len(labels) == len(set(joined.tolist()))
    assert len(first[0]) >= 1
    again = split_indices(labels, seed=seed, test_fraction=test_fraction,
                          validation_fraction=validation_fraction)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(kwargs=st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5))
def test_json_kwargs_are_kept_and_objects_omitted(kwargs):
    stored, omitted = split_kwargs({**kwargs, "__objeto__": object()})
    assert omitted == ["__objeto__"]
    assert set(stored) == set(kwargs)

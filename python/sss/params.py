"""Every parameter of the pipeline, declared once in the C++ core.

The classes are the core's parameter structs (cpp/include/sss/pipeline.hpp
and the stage headers), bound to Python with keyword constructors and a
readable repr; their defaults are the reference implementation's. A
:class:`Params` gathers one of each; ``Params.reference()`` and
``Params.multilevel()`` give the two methods' defaults (they differ in the
eigensolver, constrained sparsification, the grouping and the thread count)::

    >>> sss.Params.multilevel().eigen
    EigenParams(num_vectors=50, method='block', ncv=0, tol=1e-06, ...)
    >>> sss.segment(photo, eigen=dict(tol=1e-8), relaxed=sss.RelaxedParams(max_iter=10))

Names follow numpy / scikit-image habits: ``seed``, ``max_iter`` (an
iteration count), ``tol`` (a relative tolerance), ``shape``, American
``color``.
"""

from __future__ import annotations

from ._core import (AffinityParams, ColorParams, ConstrainedParams, EigenParams, GroupingParams,
                    InitialParams, LayerMattingParams, MattingParams, MultilevelParams, Params,
                    RelaxedParams,
                    SemanticParams, SlicParams, SplittingParams, SubjectMattingParams,
                    UpsampleParams)

__all__ = ["Params", "AffinityParams", "SlicParams", "MattingParams", "SemanticParams",
           "ColorParams", "EigenParams", "InitialParams", "SplittingParams",
           "ConstrainedParams", "GroupingParams", "RelaxedParams", "MultilevelParams",
           "UpsampleParams", "LayerMattingParams", "SubjectMattingParams"]

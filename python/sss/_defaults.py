"""The reference defaults of every stage, read from the core's parameter
structs (declared once, in C++): the stage functions' keyword defaults."""

from __future__ import annotations

from ._core import Params

#: the reference method's parameters
REFERENCE = Params.reference()
#: the multilevel method's parameters
MULTILEVEL = Params.multilevel()

AFFINITY = REFERENCE.affinity
SLIC = AFFINITY.superpixels
MATTING = AFFINITY.matting
SEMANTIC = AFFINITY.semantic
COLOR = AFFINITY.color
EIGEN = REFERENCE.eigen
INITIAL = REFERENCE.initial
KMEANS = INITIAL.kmeans
CONSTRAINED = REFERENCE.constrained
RELAXED = REFERENCE.relaxed
LEVELS = MULTILEVEL.levels
UPSAMPLE = LEVELS.upsample

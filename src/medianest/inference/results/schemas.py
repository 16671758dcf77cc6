"""Response bodies of the search and analysis endpoints.

The classes live in ``medianest.contracts.search``; this module keeps the old import path.
"""

from medianest.contracts.search import (
    Analysis,
    BBoxRead,
    FaceList,
    FaceRead,
    JobState,
    LabelMatch,
    LabelRead,
    LabelSearch,
    SimilarFace,
    SimilarFaces,
    SimilarImage,
    SimilarImages,
)

__all__ = [
    "Analysis",
    "BBoxRead",
    "FaceList",
    "FaceRead",
    "JobState",
    "LabelMatch",
    "LabelRead",
    "LabelSearch",
    "SimilarFace",
    "SimilarFaces",
    "SimilarImage",
    "SimilarImages",
]

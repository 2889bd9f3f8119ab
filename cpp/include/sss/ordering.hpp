// Fill-reducing orderings for the sparse factorisation of stage 7 (docs/algorithm.md).
#pragma once

#include <vector>

#include "sss/sparse.hpp"

namespace sss {

/// Geometric nested dissection of a matrix whose rows are the pixels of a
/// height x width grid (pixel p = row * width + col), e.g. the Laplacian of
/// stage 6 (docs/algorithm.md). Returns a permutation `perm` (new position k holds
/// original index perm[k]; CHOLMOD's "UserPerm" and scipy's A[perm][:, perm]
/// convention) for the Cholesky factorisation of A(perm, perm).
///
/// Only the pattern of A is read (every stored off-diagonal entry is an edge;
/// A need not be symmetric). The coupling reach R is measured from it: each
/// pixel's reach is the largest max(|drow|, |dcol|) of its edges, and R is
/// the median pixel reach (the matting Laplacian couples pixels within +-2
/// rows and columns, so R = 2). Pixels whose reach exceeds R ("long-range"
/// pixels, e.g. the superpixel centroids that carry the semantic and colour
/// affinities) are kept out of the grid recursion.
///
/// The grid rectangle is split across its longer side by a band of R
/// columns (or rows) through its middle, which no local edge crosses; the two
/// halves are ordered first (recursively), then the separator: the band's
/// pixels and the long-range pixels that must not descend. Those are the
/// long-range pixels in the band plus a minimum vertex cover (Hopcroft-Karp
/// matching, Koenig's theorem) of the long-range edges that join the two
/// halves; every other long-range pixel descends into its half. So no edge
/// ever joins the two halves of a split. Rectangles of at most `leaf_size`
/// pixels (or too narrow to split) are ordered row by row. Deterministic;
/// O(nnz + n log n) for the grid, plus the matchings of the long-range edges.
///
/// It gives CHOLMOD fewer factor nonzeros and flops than its METIS ordering,
/// in a fraction of METIS's time (bench/bench_eigensolver.py, bench/README.md).
///
/// Throws std::invalid_argument for a non-square A, height * width != rows,
/// or a non-positive height, width or leaf_size.
std::vector<int> grid_nested_dissection(const SparseRef& A, int height, int width,
                                        int leaf_size = 16);

}  // namespace sss

// Sparse matrix types shared by every stage.
#pragma once

#include <Eigen/SparseCore>

namespace sss {

/// Compressed sparse row matrix with 32-bit indices: the layout of
/// scipy.sparse.csr_matrix, so it crosses to Python without a copy.
using SparseMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;

/// Read-only reference to compressed CSR storage: binds to a SparseMatrix or
/// to an Eigen::Map over caller-owned arrays (e.g. a scipy matrix), no copy.
using SparseRef = Eigen::Ref<const SparseMatrix>;

}  // namespace sss

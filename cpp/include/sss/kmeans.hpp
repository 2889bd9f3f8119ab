// Stages 8-9 (docs/algorithm.md): the k-means kernels behind the splitting k-means that
// initialises constrained sparsification and the grouping of layers.
#pragma once

#include <Eigen/Dense>

#include <string>
#include <vector>

#include "sss/random.hpp"

namespace sss {

using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Kernels of the nearest-centre search. All give identical results (the
/// vector kernels do the scalar IEEE operations lane by lane, never fused).
enum class KmeansKernel {
    Auto,    ///< Avx where the CPU has it, else Sse2, else Scalar
    Scalar,  ///< one point at a time (portable)
    Sse2,    ///< two points per vector (GCC/Clang vector extensions)
    Avx,     ///< four points per vector (x86-64 with AVX, chosen at run time)
};

/// Name of a kernel ("auto", "scalar", "sse2", "avx").
const char* kmeans_kernel_name(KmeansKernel kernel);

/// Whether `kernel` can run in this build on this CPU.
bool kmeans_kernel_available(KmeansKernel kernel);

struct LloydParams {
    int max_iter = 100;   ///< maximum number of batch iterations (MATLAB's default)
    /// 0: automatic -- one thread (OpenMP) per 2^22 units n (k + 4) of work in
    /// a pass over the points, at most all cores (short passes do not pay
    /// for waking threads); > 0: that many. Results do not depend on it.
    int num_threads = 0;
    KmeansKernel kernel = KmeansKernel::Auto;  ///< throws std::invalid_argument if unavailable
};

struct LloydResult {
    std::vector<int> labels;     ///< cluster 0..k-1 of each point
    RowMatrixXd centers;         ///< k x d final centres
    Eigen::VectorXd sqdist;      ///< squared distance of each point to the final centre of its cluster
    Eigen::VectorXd min_sqdist;  ///< squared distance of each point to the nearest final centre
    int iterations = 0;          ///< batch iterations done
    bool converged = false;      ///< true if it stopped because no point moved
};

/// Lloyd's batch k-means with MATLAB `kmeans` semantics, started from the
/// k x d `centers` (X is n x d, one point per row, 1 <= k <= n).
///
/// Each iteration assigns every point to its nearest centre by squared
/// Euclidean distance sum_j (x_j - c_j)^2 (ties go to the lowest index). Then
/// the singleton empty-cluster action: every cluster left empty, in index
/// order, takes the point farthest from its assigned centre (first such point;
/// a point is taken at most once) and that point becomes its centre. If that
/// point is the only member of its cluster, the first point of the first
/// cluster with more than one member is taken instead (as MATLAB does), so no
/// cluster is ever left empty. The run stops when no point changed cluster
/// (from the second iteration on) or after `max_iter` iterations; otherwise the
/// centres become the means of their members.
///
/// Deterministic and independent of the thread count: the assignment runs in
/// parallel over points, and the centre sums are accumulated over fixed chunks
/// of consecutive points that are then added in chunk order.
///
/// Throws std::invalid_argument for empty X, k outside [1, n], mismatched
/// dimensions, non-finite values or max_iter < 1.
LloydResult lloyd_kmeans(const Eigen::Ref<const RowMatrixXd>& X,
                         const Eigen::Ref<const RowMatrixXd>& centers,
                         const LloydParams& params = {});

/// Squared distance of every point (row of X) to its nearest row of
/// `centers` (ties go to the lowest index), computed directly as
/// sum_j (x_j - c_j)^2 without forming the n x k matrix. With one centre this
/// is the distance to that centre. If `labels` is not null it receives the
/// nearest centre's index of each point. num_threads as in LloydParams.
Eigen::VectorXd nearest_sqdist(const Eigen::Ref<const RowMatrixXd>& X,
                               const Eigen::Ref<const RowMatrixXd>& centers,
                               std::vector<int>* labels = nullptr, int num_threads = 0,
                               KmeansKernel kernel = KmeansKernel::Auto);

/// The n x k matrix of squared distances sum_j (x_j - c_j)^2 of every point to
/// every centre. num_threads as in LloydParams.
RowMatrixXd pairwise_sqdist(const Eigen::Ref<const RowMatrixXd>& X,
                            const Eigen::Ref<const RowMatrixXd>& centers, int num_threads = 0);

/// Starts of kmeans(): k-means++ (Plus), k distinct random points (Sample), or
/// a Sample-started run on a random 10% subsample (Cluster), as MATLAB's
/// 'plus', 'sample' and 'cluster'.
enum class KmeansStart { Plus, Sample, Cluster };

/// Result of kmeans(): as LloydResult, of the best replicate.
struct KmeansResult {
    std::vector<int> labels;
    RowMatrixXd centers;
    Eigen::VectorXd sqdist;      ///< to the final centre of each point's cluster
    Eigen::VectorXd min_sqdist;  ///< to the nearest final centre
};

/// MATLAB-style k-means: `replicates` runs of lloyd_kmeans from starts drawn
/// from `rng`, the one with the lowest total distance kept (the first on
/// ties). Draw for draw what sss.kmeans does with a numpy Generator, so a
/// seed gives the same clusters in C++ and Python.
KmeansResult kmeans(const Eigen::Ref<const RowMatrixXd>& X, int k, KmeansStart start,
                    int replicates, int max_iter, Rng& rng);

/// Parameters of splitting_kmeans (the reference's values).
struct SplittingParams {
    int start_clusters = 5;  ///< clusters of the first k-means
    int replicates = 7;      ///< its replicates
    int rerun_below = 13;    ///< a full k-means follows each split while fewer clusters
    int max_iter = 100;      ///< Lloyd iterations per run
};

/// Cluster-splitting k-means, the initialisation of constrained
/// sparsification (docs/algorithm.md stage 8; sss.splitting_kmeans): labels
/// 0..k-1 of the n points of X. Throws std::invalid_argument when the points
/// cannot be split into k clusters.
std::vector<int> splitting_kmeans(const Eigen::Ref<const RowMatrixXd>& X, int k,
                                  const SplittingParams& params, Rng& rng);

}  // namespace sss

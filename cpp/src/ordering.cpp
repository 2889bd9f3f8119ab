// Fill-reducing orderings for stage 7 (docs/algorithm.md): geometric nested dissection.
#include "sss/ordering.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

namespace sss {

namespace {

// Half-open rectangle of grid rows [r0, r1) and columns [c0, c1).
struct Rect {
    int r0, r1, c0, c1;
};

// Minimum vertex cover of the bipartite graph between the pixels `left` and
// `right` whose edges are their couplings in adj (a neighbour q of a left
// pixel is in `right` iff side[q] == right_side). Hopcroft-Karp maximum
// matching, then Koenig's construction: cover = (left not reached) + (right
// reached) by alternating paths from the unmatched left vertices. Appends the
// cover to `cover`, the rest of each part to `rest_left` / `rest_right`.
// `local` is per-pixel scratch.
void min_vertex_cover(const std::vector<int>& left, const std::vector<int>& right,
                      const std::vector<int>& adj_ptr, const std::vector<int>& adj,
                      const std::vector<char>& side, char right_side, std::vector<int>& local,
                      std::vector<int>& cover, std::vector<int>& rest_left,
                      std::vector<int>& rest_right) {
    const int nl = static_cast<int>(left.size()), nr = static_cast<int>(right.size());
    // local[p]: p's index within its part
    for (int i = 0; i < nl; ++i) local[static_cast<size_t>(left[static_cast<size_t>(i)])] = i;
    for (int j = 0; j < nr; ++j) local[static_cast<size_t>(right[static_cast<size_t>(j)])] = j;
    std::vector<int> gptr(static_cast<size_t>(nl) + 1, 0), g;  // left -> right edges
    for (int i = 0; i < nl; ++i) {
        const int p = left[static_cast<size_t>(i)];
        for (int k = adj_ptr[static_cast<size_t>(p)]; k < adj_ptr[static_cast<size_t>(p) + 1]; ++k) {
            const int q = adj[static_cast<size_t>(k)];
            if (side[static_cast<size_t>(q)] == right_side) g.push_back(local[static_cast<size_t>(q)]);
        }
        gptr[static_cast<size_t>(i) + 1] = static_cast<int>(g.size());
    }
    constexpr int kNone = -1;
    const int kInf = std::numeric_limits<int>::max();
    std::vector<int> match_l(static_cast<size_t>(nl), kNone), match_r(static_cast<size_t>(nr), kNone);
    std::vector<int> dist(static_cast<size_t>(nl)), queue, it(static_cast<size_t>(nl));
    queue.reserve(static_cast<size_t>(nl));
    for (;;) {
        // BFS layers from the free left vertices
        queue.clear();
        for (int i = 0; i < nl; ++i) {
            dist[static_cast<size_t>(i)] = match_l[static_cast<size_t>(i)] == kNone ? 0 : kInf;
            if (match_l[static_cast<size_t>(i)] == kNone) queue.push_back(i);
        }
        bool found = false;
        for (size_t qi = 0; qi < queue.size(); ++qi) {
            const int i = queue[qi];
            for (int k = gptr[static_cast<size_t>(i)]; k < gptr[static_cast<size_t>(i) + 1]; ++k) {
                const int m = match_r[static_cast<size_t>(g[static_cast<size_t>(k)])];
                if (m == kNone) {
                    found = true;
                } else if (dist[static_cast<size_t>(m)] == kInf) {
                    dist[static_cast<size_t>(m)] = dist[static_cast<size_t>(i)] + 1;
                    queue.push_back(m);
                }
            }
        }
        if (!found) break;
        // DFS along the layers (iterative), augmenting vertex-disjoint paths
        for (int i = 0; i < nl; ++i) it[static_cast<size_t>(i)] = gptr[static_cast<size_t>(i)];
        std::vector<int> stack;
        for (int root = 0; root < nl; ++root) {
            if (match_l[static_cast<size_t>(root)] != kNone) continue;
            stack.assign(1, root);
            while (!stack.empty()) {
                const int i = stack.back();
                bool advanced = false;
                while (it[static_cast<size_t>(i)] < gptr[static_cast<size_t>(i) + 1]) {
                    const int j = g[static_cast<size_t>(it[static_cast<size_t>(i)]++)];
                    const int m = match_r[static_cast<size_t>(j)];
                    if (m == kNone) {
                        // augment along the stack: each left vertex takes the
                        // right vertex its iterator last passed
                        int jj = j;
                        for (size_t s = stack.size(); s-- > 0;) {
                            const int li = stack[s];
                            const int prev = match_l[static_cast<size_t>(li)];
                            match_l[static_cast<size_t>(li)] = jj;
                            match_r[static_cast<size_t>(jj)] = li;
                            jj = prev;
                        }
                        stack.clear();
                        advanced = true;
                        break;
                    }
                    if (dist[static_cast<size_t>(m)] == dist[static_cast<size_t>(i)] + 1) {
                        stack.push_back(m);
                        advanced = true;
                        break;
                    }
                }
                if (!advanced) {
                    dist[static_cast<size_t>(i)] = kInf;  // dead end
                    stack.pop_back();
                }
            }
        }
    }
    // Koenig: alternating reachability from the free left vertices
    std::vector<char> seen_l(static_cast<size_t>(nl), 0), seen_r(static_cast<size_t>(nr), 0);
    queue.clear();
    for (int i = 0; i < nl; ++i)
        if (match_l[static_cast<size_t>(i)] == kNone) {
            seen_l[static_cast<size_t>(i)] = 1;
            queue.push_back(i);
        }
    for (size_t qi = 0; qi < queue.size(); ++qi) {
        const int i = queue[qi];
        for (int k = gptr[static_cast<size_t>(i)]; k < gptr[static_cast<size_t>(i) + 1]; ++k) {
            const int j = g[static_cast<size_t>(k)];
            if (seen_r[static_cast<size_t>(j)]) continue;
            seen_r[static_cast<size_t>(j)] = 1;
            const int m = match_r[static_cast<size_t>(j)];
            if (m != kNone && !seen_l[static_cast<size_t>(m)]) {
                seen_l[static_cast<size_t>(m)] = 1;
                queue.push_back(m);
            }
        }
    }
    for (int i = 0; i < nl; ++i)
        (seen_l[static_cast<size_t>(i)] ? rest_left : cover).push_back(left[static_cast<size_t>(i)]);
    for (int j = 0; j < nr; ++j)
        (seen_r[static_cast<size_t>(j)] ? cover : rest_right).push_back(right[static_cast<size_t>(j)]);
}

struct Dissector {
    int width;
    int reach;
    int leaf_size;
    const std::vector<char>& is_long;
    // long-long couplings: neighbours of long pixel p are adj[adj_ptr[p] ..)
    const std::vector<int>& adj_ptr;
    const std::vector<int>& adj;
    std::vector<int>& out;
    std::vector<char> side;  // per pixel, scratch: 0 none, 1 first half, 2 second, 3 band
    std::vector<int> local_index;  // per pixel, scratch for min_vertex_cover

    // Appends the local pixels of `r`, row by row.
    void emit_local(const Rect& r) {
        for (int row = r.r0; row < r.r1; ++row)
            for (int col = r.c0; col < r.c1; ++col) {
                const int p = row * width + col;
                if (!is_long[static_cast<size_t>(p)]) out.push_back(p);
            }
    }

    // One split of a rectangle: the halves' long pixels and the separator's.
    struct Split {
        Rect first, band, second;
        std::vector<int> in_first, in_second, in_band;
    };

    // Splits `r` after `a` lines of its longer side. Local pixels of the
    // halves are coupled only within their half and to the band (reach).
    // Long pixels in the band join the separator; of every long-long
    // coupling across the band one end must join it: a minimum vertex cover
    // of those couplings.
    Split split(const Rect& r, const std::vector<int>& longs, bool split_cols, int a) {
        Split sp;
        sp.first = sp.band = sp.second = r;
        if (split_cols) {
            sp.first.c1 = sp.band.c0 = r.c0 + a;
            sp.band.c1 = sp.second.c0 = r.c0 + a + reach;
        } else {
            sp.first.r1 = sp.band.r0 = r.r0 + a;
            sp.band.r1 = sp.second.r0 = r.r0 + a + reach;
        }
        const int cut0 = split_cols ? sp.band.c0 : sp.band.r0;
        const int cut1 = split_cols ? sp.band.c1 : sp.band.r1;
        for (int p : longs) {
            const int x = split_cols ? p % width : p / width;
            side[static_cast<size_t>(p)] = x < cut0 ? 1 : x >= cut1 ? 2 : 3;
        }
        std::vector<int> cross_first, cross_second;
        for (int p : longs) {
            const char s = side[static_cast<size_t>(p)];
            if (s == 3) {
                sp.in_band.push_back(p);
                continue;
            }
            bool crosses = false;
            for (int k = adj_ptr[static_cast<size_t>(p)]; k < adj_ptr[static_cast<size_t>(p) + 1]; ++k) {
                const char t = side[static_cast<size_t>(adj[static_cast<size_t>(k)])];
                if (t != 0 && t != 3 && t != s) {
                    crosses = true;
                    break;
                }
            }
            (crosses ? (s == 1 ? cross_first : cross_second) : (s == 1 ? sp.in_first : sp.in_second))
                .push_back(p);
        }
        min_vertex_cover(cross_first, cross_second, adj_ptr, adj, side, 2, local_index, sp.in_band,
                         sp.in_first, sp.in_second);
        for (int p : longs) side[static_cast<size_t>(p)] = 0;
        return sp;
    }

    // Orders the pixels of `r`: both halves first, then the separator.
    // `longs`: the long-range pixels still to order that lie in r; each of
    // them is coupled only to pixels in r and to pixels already placed in an
    // enclosing separator (invariant).
    void run(const Rect& r, std::vector<int>& longs) {
        const int h = r.r1 - r.r0, w = r.c1 - r.c0;
        if (h <= 0 || w <= 0) return;  // empty: holds no pixel, hence no long one
        const bool split_cols = w >= h;
        const int len = split_cols ? w : h;
        if (static_cast<std::int64_t>(h) * w <= leaf_size || len < reach + 2) {
            emit_local(r);
            out.insert(out.end(), longs.begin(), longs.end());
            return;
        }
        Split sp = split(r, longs, split_cols, (len - reach) / 2);
        longs.clear();
        longs.shrink_to_fit();
        std::sort(sp.in_first.begin(), sp.in_first.end());
        std::sort(sp.in_second.begin(), sp.in_second.end());
        std::sort(sp.in_band.begin(), sp.in_band.end());
        run(sp.first, sp.in_first);
        run(sp.second, sp.in_second);
        emit_local(sp.band);
        out.insert(out.end(), sp.in_band.begin(), sp.in_band.end());
    }
};

}  // namespace

std::vector<int> grid_nested_dissection(const SparseRef& A, int height, int width,
                                        int leaf_size) {
    if (A.rows() != A.cols())
        throw std::invalid_argument("grid_nested_dissection: matrix must be square, got " +
                                    std::to_string(A.rows()) + " x " + std::to_string(A.cols()));
    if (height < 1 || width < 1)
        throw std::invalid_argument("grid_nested_dissection: grid shape must be positive, got " +
                                    std::to_string(height) + " x " + std::to_string(width));
    if (static_cast<std::int64_t>(height) * width != A.rows())
        throw std::invalid_argument("grid_nested_dissection: grid " + std::to_string(height) +
                                    " x " + std::to_string(width) + " has " +
                                    std::to_string(static_cast<std::int64_t>(height) * width) +
                                    " pixels but the matrix has " + std::to_string(A.rows()) +
                                    " rows");
    if (leaf_size < 1)
        throw std::invalid_argument("grid_nested_dissection: leaf_size must be >= 1");
    const int n = static_cast<int>(A.rows());

    // Reach of every pixel: the largest Chebyshev length of its edges.
    std::vector<int> px_reach(static_cast<size_t>(n), 0);
    for (int i = 0; i < n; ++i) {
        const int ri = i / width, ci = i % width;
        for (SparseRef::InnerIterator it(A, i); it; ++it) {
            const int j = static_cast<int>(it.col());
            if (j == i) continue;
            const int d = std::max(std::abs(j / width - ri), std::abs(j % width - ci));
            px_reach[static_cast<size_t>(i)] = std::max(px_reach[static_cast<size_t>(i)], d);
            px_reach[static_cast<size_t>(j)] = std::max(px_reach[static_cast<size_t>(j)], d);
        }
    }
    std::vector<int> sorted = px_reach;
    std::nth_element(sorted.begin(), sorted.begin() + n / 2, sorted.end());
    const int reach = sorted[static_cast<size_t>(n / 2)];
    sorted = std::vector<int>();

    // Long-range pixels and their couplings to each other (the couplings
    // of local pixels are all within the reach).
    std::vector<char> is_long(static_cast<size_t>(n), 0);
    std::vector<int> longs;
    for (int p = 0; p < n; ++p)
        if (px_reach[static_cast<size_t>(p)] > reach) {
            is_long[static_cast<size_t>(p)] = 1;
            longs.push_back(p);
        }
    std::vector<int> adj_ptr(static_cast<size_t>(n) + 1, 0), adj;
    if (!longs.empty()) {
        // symmetrised pattern restricted to long-long pairs, by counting sort
        for (int i = 0; i < n; ++i) {
            if (!is_long[static_cast<size_t>(i)]) continue;
            for (SparseRef::InnerIterator it(A, i); it; ++it) {
                const int j = static_cast<int>(it.col());
                if (j == i || !is_long[static_cast<size_t>(j)]) continue;
                ++adj_ptr[static_cast<size_t>(i) + 1];
                ++adj_ptr[static_cast<size_t>(j) + 1];
            }
        }
        for (int i = 0; i < n; ++i) adj_ptr[static_cast<size_t>(i) + 1] += adj_ptr[static_cast<size_t>(i)];
        adj.resize(static_cast<size_t>(adj_ptr[static_cast<size_t>(n)]));
        std::vector<int> fill(adj_ptr.begin(), adj_ptr.end() - 1);
        for (int i = 0; i < n; ++i) {
            if (!is_long[static_cast<size_t>(i)]) continue;
            for (SparseRef::InnerIterator it(A, i); it; ++it) {
                const int j = static_cast<int>(it.col());
                if (j == i || !is_long[static_cast<size_t>(j)]) continue;
                adj[static_cast<size_t>(fill[static_cast<size_t>(i)]++)] = j;
                adj[static_cast<size_t>(fill[static_cast<size_t>(j)]++)] = i;
            }
        }
        // a symmetric pattern lists every pair twice: sort and deduplicate
        int kept = 0;
        for (int i = 0; i < n; ++i) {
            const auto b = adj.begin() + adj_ptr[static_cast<size_t>(i)];
            const auto e = adj.begin() + adj_ptr[static_cast<size_t>(i) + 1];
            std::sort(b, e);
            const auto u = std::unique(b, e);
            adj_ptr[static_cast<size_t>(i)] = kept;
            for (auto q = b; q != u; ++q) adj[static_cast<size_t>(kept++)] = *q;  // kept <= q
        }
        adj_ptr[static_cast<size_t>(n)] = kept;
        adj.resize(static_cast<size_t>(kept));
    }

    std::vector<int> perm;
    perm.reserve(static_cast<size_t>(n));
    Dissector d{width, reach, leaf_size, is_long, adj_ptr, adj, perm,
                std::vector<char>(static_cast<size_t>(n), 0),
                std::vector<int>(static_cast<size_t>(n), 0)};
    d.run(Rect{0, height, 0, width}, longs);
    if (static_cast<int>(perm.size()) != n)
        throw std::logic_error("grid_nested_dissection: internal error (incomplete permutation)");
    return perm;
}

}  // namespace sss

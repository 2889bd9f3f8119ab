// Iterative solvers separated from the matrix operations they need: the
// operator convention (sss/solvers/operator.hpp), the one preconditioned CG
// (pcg.hpp), the one block-Jacobi preconditioner (block_jacobi.hpp) and the
// simple preconditioners (preconditioners.hpp). The eigensolver's templates
// (block Krylov-Schur, Lanczos) and shift-solve backends live in cpp/src/eigen/.
#pragma once

#include "sss/solvers/block_jacobi.hpp"
#include "sss/solvers/operator.hpp"
#include "sss/solvers/pcg.hpp"
#include "sss/solvers/preconditioners.hpp"

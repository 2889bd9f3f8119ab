// Umbrella header of the sss core: include this to get every stage.
#pragma once

#include "sss/image.hpp"
#include "sss/sparse.hpp"
#include "sss/features.hpp"
#include "sss/matting.hpp"
#include "sss/superpixels.hpp"
#include "sss/affinity.hpp"
#include "sss/solvers.hpp"
#include "sss/eigensolver.hpp"
#include "sss/constrained.hpp"
#include "sss/kmeans.hpp"
#include "sss/relaxed.hpp"
#include "sss/colors.hpp"
#include "sss/multilevel.hpp"
#include "sss/progress.hpp"

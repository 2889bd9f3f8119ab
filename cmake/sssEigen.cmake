# Finds Eigen 3.3+ and defines SSS_EIGEN_SOURCE ("system" or "cmeel-eigen").
#
# First CMake's usual search (Debian's libeigen3-dev, a CMAKE_PREFIX_PATH, a
# conda environment...). When that fails, PyPI's `cmeel-eigen` wheel: it
# installs Eigen under <site-packages>/cmeel.prefix, which CMake does not search
# by itself. pyproject.toml lists cmeel-eigen in build-system.requires, so a
# `pip install` from source always has it in the isolated build environment;
# a plain CMake build finds it in the Python that Python_EXECUTABLE (or the
# first python3 on PATH) names, e.g. after `pip install cmeel-eigen`.
find_package(Eigen3 3.3 QUIET NO_MODULE)
if(Eigen3_FOUND)
  set(SSS_EIGEN_SOURCE "system")
else()
  if(NOT Python_EXECUTABLE)
    find_package(Python 3.9 QUIET COMPONENTS Interpreter)
  endif()
  set(_sss_cmeel_dirs "")
  if(Python_EXECUTABLE)
    execute_process(
      COMMAND "${Python_EXECUTABLE}" -c
        "import os, sys, site, sysconfig\nroots = list(sys.path) + [sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']]\nprint(';'.join(os.path.join(p, 'cmeel.prefix') for p in roots if p and os.path.isdir(os.path.join(p, 'cmeel.prefix'))))"
      OUTPUT_VARIABLE _sss_cmeel_dirs
      OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET)
  endif()
  if(_sss_cmeel_dirs)
    find_package(Eigen3 3.3 QUIET NO_MODULE PATHS ${_sss_cmeel_dirs} NO_DEFAULT_PATH)
  endif()
  if(Eigen3_FOUND)
    set(SSS_EIGEN_SOURCE "cmeel-eigen")
  else()
    message(FATAL_ERROR
      "sss needs the Eigen 3.3+ headers (3.4 recommended), and neither CMake's search nor "
      "PyPI's cmeel-eigen found them.\n"
      "Install one of:\n"
      "  pip install cmeel-eigen            (into the Python that builds sss: ${Python_EXECUTABLE})\n"
      "  apt-get install libeigen3-dev      (Debian/Ubuntu)\n"
      "  dnf install eigen3-devel           (Fedora)  /  brew install eigen  (macOS)\n"
      "or point CMake at an Eigen installation with -DEigen3_DIR=<dir with Eigen3Config.cmake>.\n"
      "`pip install` from the sdist does this by itself: cmeel-eigen is a build requirement.")
  endif()
endif()
message(STATUS "sss: Eigen ${Eigen3_VERSION} from ${SSS_EIGEN_SOURCE} (${Eigen3_DIR})")

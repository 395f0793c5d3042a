// OpenBLAS (CBLAS + openblas_* controls) and LAPACKE, as Debian installs them on the default
// include path. There is no separate libcblas on Debian: CBLAS lives in libopenblas.
#ifndef RAGTUNER_CBLASLAPACK_SHIM_H
#define RAGTUNER_CBLASLAPACK_SHIM_H

#include <cblas.h>
#include <lapacke.h>

// `lapack_int` is a macro (int32_t or int64_t depending on the build); Swift imports
// typedefs, not type macros, so re-export it under a name Swift can see.
typedef lapack_int LAPACKInt;

#endif

#include "CNumericKernels.h"

#if defined(__x86_64__) && defined(__linux__)
#define RT_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RT_MULTIVERSION
#endif

// tanh x = P(x) / Q(x) for |x| <= 7.90531, a rational approximation with P odd (x .. x^9) and Q
// even (1 .. x^6) so the sign, -0 and NaN come out right by themselves. The coefficients are this
// project's own weighted least-squares fit of the relative error (tools/fit_tanh.py): max
// relative error 2.0e-7 in exact arithmetic, 4.5e-7 evaluated in float. Past the clamp
// tanh differs from 1 by less than 2.7e-7.
static inline float tanh_one(float x) {
    const float limit = 7.90531f;
    x = x > limit ? limit : x;  // NaN fails both comparisons and stays NaN
    x = x < -limit ? -limit : x;
    const float x2 = x * x;
    float p = -6.249575024153131e-09f;
    p = p * x2 + 7.221414721803737e-06f;
    p = p * x2 + 0.0027041808826124693f;
    p = p * x2 + 0.12719914414314568f;
    p = p * x2 + 0.9999997983747629f;
    p = p * x;
    float q = 0.00019774761695253823f;
    q = q * x2 + 0.022883290988229023f;
    q = q * x2 + 0.460530890595075f;
    q = q * x2 + 1.0f;
    return p / q;
}

RT_MULTIVERSION
void rt_tanh_f32(const float *restrict x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = tanh_one(x[i]);
}

RT_MULTIVERSION
void rt_adam_f32(float *restrict parameters, const float *restrict gradients, float *restrict m,
                 float *restrict v, size_t count, float beta1, float beta2, float epsilon,
                 float step_size, float inv_sqrt_correction2) {
    for (size_t i = 0; i < count; i++) {
        const float g = gradients[i];
        const float mi = beta1 * m[i] + (1.0f - beta1) * g;
        const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        parameters[i] -= step_size * mi / (__builtin_elementwise_sqrt(vi) * inv_sqrt_correction2 + epsilon);
    }
}

static inline __attribute__((always_inline)) void rt_bias_activation_rows(float *y, const float *restrict bias, size_t rows, size_t cols,
                                                                          size_t ldy, int activation) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = y + r * ldy;
        switch (activation) {
        case RT_TANH:
            for (size_t c = 0; c < cols; c++) row[c] = tanh_one(row[c] + bias[c]);
            break;
        case RT_RELU:
            for (size_t c = 0; c < cols; c++) {
                const float z = row[c] + bias[c];
                row[c] = z > 0.0f ? z : 0.0f;
            }
            break;
        default:
            for (size_t c = 0; c < cols; c++) row[c] += bias[c];
        }
    }
}

RT_MULTIVERSION
void rt_bias_activation_f32(float *y, const float *restrict bias, size_t rows, size_t cols, int activation) {
    rt_bias_activation_rows(y, bias, rows, cols, cols, activation);
}

static inline __attribute__((always_inline)) void rt_activation_backward_rows(float *dy, size_t lddy, const float *restrict y, size_t ldy,
                                                                              size_t rows, size_t cols, int activation,
                                                                              float *restrict bias_gradient) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = dy + r * lddy;
        const float *restrict out = y + r * ldy;
        switch (activation) {
        case RT_TANH:
            for (size_t c = 0; c < cols; c++) d[c] *= 1.0f - out[c] * out[c];
            break;
        case RT_RELU:
            for (size_t c = 0; c < cols; c++) d[c] = out[c] > 0.0f ? d[c] : 0.0f;
            break;
        default:
            break;
        }
    }
    // Four rows are summed before each update of the bias gradient: one read-modify-write of
    // it per row would chain every row's sum behind the previous store.
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *d = dy + r * lddy;
        for (size_t c = 0; c < cols; c++) bias_gradient[c] += (d[c] + d[lddy + c]) + (d[2 * lddy + c] + d[3 * lddy + c]);
    }
    for (; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) bias_gradient[c] += dy[r * lddy + c];
    }
}

RT_MULTIVERSION
void rt_activation_backward_f32(float *dy, const float *restrict y, size_t rows, size_t cols, int activation,
                                float *restrict bias_gradient) {
    rt_activation_backward_rows(dy, cols, y, cols, rows, cols, activation, bias_gradient);
}

// Outputs are taken 32 at a time so the accumulators stay in registers (four AVX2 vectors,
// independent FMA chains) while the inputs stream past; leftovers go one by one.
RT_MULTIVERSION
void rt_dense_row_f32(const float *restrict x, const float *restrict wt, const float *restrict bias,
                      float *restrict y, size_t inputs, size_t outputs, int activation) {
    enum { BLOCK = 32 };
    size_t o = 0;
    for (; o + BLOCK <= outputs; o += BLOCK) {
        float acc[BLOCK];
        for (size_t j = 0; j < BLOCK; j++) acc[j] = bias[o + j];
        for (size_t i = 0; i < inputs; i++) {
            const float xi = x[i];
            const float *restrict w = wt + i * outputs + o;
            for (size_t j = 0; j < BLOCK; j++) acc[j] += xi * w[j];
        }
        for (size_t j = 0; j < BLOCK; j++) y[o + j] = acc[j];
    }
    for (; o < outputs; o++) {
        float acc = bias[o];
        for (size_t i = 0; i < inputs; i++) acc += x[i] * wt[i * outputs + o];
        y[o] = acc;
    }
    switch (activation) {
    case RT_TANH:
        for (size_t j = 0; j < outputs; j++) y[j] = tanh_one(y[j]);
        break;
    case RT_RELU:
        for (size_t j = 0; j < outputs; j++) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
        break;
    default:
        break;
    }
}

// ---------------------------------------------------------------------------------------------
// C = A·B or C += A·B for the skinny products of small networks (N ≤ 128: 64-wide layers at any batch),
// where OpenBLAS spends much of its time packing operands it uses once. A register-blocked
// 6x16 micro-kernel (12 accumulators, 2 loads of B and 6 broadcasts of A per step of the
// reduction) reads A in place through a row and a column stride, so A or Aᵀ costs the same;
// B is row-major. The reduction runs in chunks of KC so that a chunk of A and of B stays in L2
// while every block of C is updated from it.

typedef float rt_v8f __attribute__((vector_size(32), aligned(4)));

// One load-and-broadcast (x + 0 would not be: -0 + 0 is +0, so the compiler keeps the add).
static inline __attribute__((always_inline)) rt_v8f rt_splat(float x) { return (rt_v8f){x, x, x, x, x, x, x, x}; }

#define RT_KC 256

static inline __attribute__((always_inline)) void rt_block16(const int mr, size_t kc, const float *a, size_t rsa, size_t csa,
                                                             const float *b, size_t ldb, float *c, size_t ldc, int overwrite) {
    rt_v8f acc[6][2] = {{{0}}};
    for (size_t l = 0; l < kc; l++) {
        const rt_v8f b0 = *(const rt_v8f *)(b + l * ldb);
        const rt_v8f b1 = *(const rt_v8f *)(b + l * ldb + 8);
        const float *al = a + l * csa;
#pragma clang loop unroll(full)
        for (int r = 0; r < 6; r++) {
            if (r < mr) {
                const rt_v8f ar = rt_splat(al[r * rsa]);
                acc[r][0] += ar * b0;
                acc[r][1] += ar * b1;
            }
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < 6; r++) {
        if (r < mr) {
            if (overwrite) {
                *(rt_v8f *)(c + r * ldc) = acc[r][0];
                *(rt_v8f *)(c + r * ldc + 8) = acc[r][1];
            } else {
                *(rt_v8f *)(c + r * ldc) += acc[r][0];
                *(rt_v8f *)(c + r * ldc + 8) += acc[r][1];
            }
        }
    }
}

static inline __attribute__((always_inline)) void rt_block8(const int mr, size_t kc, const float *a, size_t rsa, size_t csa,
                                                            const float *b, size_t ldb, float *c, size_t ldc, int overwrite) {
    rt_v8f acc[6] = {{0}};
    for (size_t l = 0; l < kc; l++) {
        const rt_v8f b0 = *(const rt_v8f *)(b + l * ldb);
        const float *al = a + l * csa;
#pragma clang loop unroll(full)
        for (int r = 0; r < 6; r++) {
            if (r < mr) acc[r] += rt_splat(al[r * rsa]) * b0;
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < 6; r++) {
        if (r < mr) *(rt_v8f *)(c + r * ldc) = overwrite ? acc[r] : *(rt_v8f *)(c + r * ldc) + acc[r];
    }
}

static inline __attribute__((always_inline)) void rt_strip(const int mr, size_t n, size_t kc, const float *a, size_t rsa, size_t csa,
                                                           const float *b, size_t ldb, float *c, size_t ldc, int overwrite) {
    size_t j = 0;
    for (; j + 16 <= n; j += 16) rt_block16(mr, kc, a, rsa, csa, b + j, ldb, c + j, ldc, overwrite);
    for (; j + 8 <= n; j += 8) rt_block8(mr, kc, a, rsa, csa, b + j, ldb, c + j, ldc, overwrite);
    for (; j < n; j++) {
        for (int r = 0; r < mr; r++) {
            float sum = 0;
            for (size_t l = 0; l < kc; l++) sum += a[r * rsa + l * csa] * b[l * ldb + j];
            c[r * ldc + j] = overwrite ? sum : c[r * ldc + j] + sum;
        }
    }
}

RT_MULTIVERSION
void rt_gemm_f32(size_t m, size_t n, size_t k, const float *a, size_t rsa, size_t csa, const float *b, size_t ldb, float *c,
                 size_t ldc, int accumulate, const rt_epilogue *epilogue) {
    for (size_t l0 = 0; l0 < k; l0 += RT_KC) {
        const size_t kc = k - l0 < RT_KC ? k - l0 : RT_KC;
        const int overwrite = l0 == 0 && !accumulate;
        // The epilogue runs on each strip of rows as soon as it is final, while it is in L1.
        const rt_epilogue *last = l0 + kc == k ? epilogue : 0;
        const float *ak = a + l0 * csa;
        const float *bk = b + l0 * ldb;
        size_t mr = 0;
        for (size_t i = 0; i < m; i += mr) {
            // 7 or 8 rows left go as two strips of 4 rather than 6 and a thin 1 or 2.
            const size_t left = m - i;
            mr = left == 7 || left == 8 ? 4 : left < 6 ? left : 6;
            float *ci = c + i * ldc;
            switch (mr) {
            case 6: rt_strip(6, n, kc, ak + i * rsa, rsa, csa, bk, ldb, ci, ldc, overwrite); break;
            case 5: rt_strip(5, n, kc, ak + i * rsa, rsa, csa, bk, ldb, ci, ldc, overwrite); break;
            case 4: rt_strip(4, n, kc, ak + i * rsa, rsa, csa, bk, ldb, ci, ldc, overwrite); break;
            case 3: rt_strip(3, n, kc, ak + i * rsa, rsa, csa, bk, ldb, ci, ldc, overwrite); break;
            case 2: rt_strip(2, n, kc, ak + i * rsa, rsa, csa, bk, ldb, ci, ldc, overwrite); break;
            default: rt_strip(1, n, kc, ak + i * rsa, rsa, csa, bk, ldb, ci, ldc, overwrite); break;
            }
            if (!last) continue;
            if (last->output) {
                rt_activation_backward_rows(ci, ldc, last->output + i * last->output_stride, last->output_stride, mr, n, last->activation,
                                            last->bias_gradient);
            } else {
                rt_bias_activation_rows(ci, last->bias, mr, n, ldc, last->activation);
            }
        }
    }
}

RT_MULTIVERSION
void rt_transpose_f32(const float *restrict src, size_t rows, size_t cols, size_t lds, float *restrict dst) {
    enum { TILE = 8 };
    for (size_t r0 = 0; r0 < rows; r0 += TILE) {
        for (size_t c0 = 0; c0 < cols; c0 += TILE) {
            const size_t r1 = r0 + TILE < rows ? r0 + TILE : rows, c1 = c0 + TILE < cols ? c0 + TILE : cols;
            for (size_t r = r0; r < r1; r++) {
                for (size_t c = c0; c < c1; c++) dst[c * rows + r] = src[r * lds + c];
            }
        }
    }
}

// Element-wise kernels of the numeric core that the Swift compiler cannot vectorise well on
// the baseline x86-64 target: compiled for AVX2+FMA and for the baseline, picked at load time
// by the CPU (function multiversioning), so no build flag is needed.
#ifndef RAGTUNER_NUMERIC_KERNELS_H
#define RAGTUNER_NUMERIC_KERNELS_H

#include <stddef.h>

/// y[i] = tanh(x[i]); relative error <= 1e-6 for every finite x, NaN in gives NaN out.
void rt_tanh_f32(const float *x, float *y, size_t count);

/// One Adam update in PyTorch's form over `count` parameters.
/// step_size = lr / (1 - beta1^t), inv_sqrt_correction2 = 1 / sqrt(1 - beta2^t).
void rt_adam_f32(float *parameters, const float *gradients, float *m, float *v, size_t count,
                 float beta1, float beta2, float epsilon, float step_size, float inv_sqrt_correction2);

/// Activation codes shared with Swift's `Activation`.
enum { RT_IDENTITY = 0, RT_TANH = 1, RT_RELU = 2 };

/// y[r][c] = f(y[r][c] + bias[c]) over a contiguous rows x cols block: a dense layer's output
/// after the matrix product.
void rt_bias_activation_f32(float *y, const float *bias, size_t rows, size_t cols, int activation);

/// Backprop through f and the bias of a dense layer: dy[r][c] *= f'(x) written through the
/// output y (tanh: 1 - y^2, relu: y > 0), then bias_gradient[c] += sum over r of dy[r][c].
void rt_activation_backward_f32(float *dy, const float *y, size_t rows, size_t cols, int activation,
                                float *bias_gradient);

/// One dense layer on one input row, for serving: y[o] = f(bias[o] + sum over i of x[i] * wt[i][o]),
/// with the weight stored transposed (inputs x outputs, row-major) so the inner loop runs over
/// contiguous outputs. `y` must not alias `x`.
void rt_dense_row_f32(const float *x, const float *wt, const float *bias, float *y, size_t inputs,
                      size_t outputs, int activation);

/// What `rt_gemm_f32` does to each strip of rows of C once it is final. With `output` null: a
/// dense layer's forward pass, C ← f(C + bias). With `output` (the activations f produced, row
/// stride `output_stride`): backprop into that layer, C ← C ⊙ f′ (written through the output)
/// and bias_gradient[c] += Σ_r C[r, c].
typedef struct {
    int activation;
    const float *bias;
    const float *output;
    size_t output_stride;
    float *bias_gradient;
} rt_epilogue;

/// C[m x n] = A[m x k] · B[k x n], or C += A·B when `accumulate`, for small n (a register-blocked
/// kernel that reads A in place): A(i, l) = a[i * rsa + l * csa], so A or its transpose is a
/// matter of strides; B and C are row-major with leading dimensions ldb and ldc. k must be > 0.
/// `epilogue` may be null.
void rt_gemm_f32(size_t m, size_t n, size_t k, const float *a, size_t rsa, size_t csa, const float *b, size_t ldb, float *c,
                 size_t ldc, int accumulate, const rt_epilogue *epilogue);

/// dst[cols x rows] = srcᵀ, src row-major with leading dimension lds.
void rt_transpose_f32(const float *src, size_t rows, size_t cols, size_t lds, float *dst);

#endif

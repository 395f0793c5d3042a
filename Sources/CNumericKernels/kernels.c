#include "CNumericKernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#define RT_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RT_MULTIVERSION
#endif

// tanh a = e / (e + 2) with e = expm1(2a), a = |x| clamped to 9 (beyond it tanh rounds to 1).
// expm1(y): Cody-Waite reduction y = n ln2 + r with |r| <= ln2/2, then
// expm1(y) = 2^n q(r) + (2^n - 1) with q(r) = e^r - 1 as a degree-7 Taylor polynomial
// (truncation < 6e-9 relative), which has no cancellation near zero.
static inline float tanh_one(float x) {
    float a = x < 0 ? -x : x;
    a = a > 9.0f ? 9.0f : a;  // NaN fails the comparison and stays NaN
    const float y = a + a;
    const float shift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
    const float t = y * 1.44269504f + shift;
    const float n = t - shift;
    const float r = (y - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
    float q = 1.0f / 5040.0f;
    q = q * r + 1.0f / 720.0f;
    q = q * r + 1.0f / 120.0f;
    q = q * r + 1.0f / 24.0f;
    q = q * r + 1.0f / 6.0f;
    q = q * r + 0.5f;
    q = q * r + 1.0f;
    q = q * r;
    int32_t tb, sb;
    memcpy(&tb, &t, 4);
    memcpy(&sb, &shift, 4);
    const int32_t bits = (tb - sb + 127) << 23;
    float two_n;
    memcpy(&two_n, &bits, 4);
    const float e = two_n * q + (two_n - 1.0f);
    const float magnitude = e / (e + 2.0f);
    return __builtin_copysignf(magnitude, x);
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

RT_MULTIVERSION
void rt_bias_activation_f32(float *y, const float *restrict bias, size_t rows, size_t cols, int activation) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = y + r * cols;
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
void rt_activation_backward_f32(float *dy, const float *restrict y, size_t rows, size_t cols, int activation,
                                float *restrict bias_gradient) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = dy + r * cols;
        const float *restrict out = y + r * cols;
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
        for (size_t c = 0; c < cols; c++) bias_gradient[c] += d[c];
    }
}

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

/* Exact theory of SGD + momentum + weight decay on a quadratic with Gaussian gradient noise.
 *
 * Derivations (a = theta - mu in H's eigenbasis, k_i = h_i + lambda, noise xi ~ N(0, Sigma/S)):
 * - Discrete update of mode i, state (a, b):  b' = beta b + k a + xi,  a' = a - eta b'
 *   => (a', b') = M_i (a, b) + u xi with M_i = [[1 - eta k, -eta beta], [k, beta]], u = (-eta, 1).
 *   Stationary covariance: C = M C M^T + W, W_ij = u u^T Sigma_ij / S. Since M is block diagonal
 *   (one 2x2 block per mode), block (i,j) of C solves X = M_i X M_j^T + W_ij, i.e. with
 *   column-major vec, (I_4 - M_j (x) M_i) vec X = vec W_ij: one 4x4 solve per pair (LAPACKE_dgesv).
 * - Continuous limit (t = eta k, v = d theta/dt = -b): m a'' + (1-beta) a' = -k a + sqrt(eta/S)
 *   Sigma^{1/2} xi(t), m = eta (1+beta)/2. First-order form dz = -A z dt + B dW with
 *   A_i = [[0, -1], [k_i/m, (1-beta)/m]] and (B B^T)_ij = [[0, 0], [0, eta Sigma_ij / (S m^2)]];
 *   stationary C solves A C + C A^T = B B^T, blockwise (I (x) A_i + A_j (x) I) vec X = vec W_ij.
 *   Scalar check (commuting): the (1,1) entry gives Cov(a,v) = 0, (1,2) gives Var v = k Var a / m,
 *   (2,2) gives 2 (1-beta) Var v / m = eta Sigma / (S m^2) => Var v = Sigma / (S (1 - beta^2)),
 *   Var a = eta Sigma / (2 S (1-beta) k): the closed forms of kn_closed_form_stationary.
 * - Mean per mode: a'' + 2 gamma a' + omega^2 a = 0 with gamma = (1-beta)/(2m),
 *   omega^2 = k/m; solutions e^{-gamma t} (cos | cosh)(Omega t), Omega = sqrt|omega^2 - gamma^2|;
 *   the propagator P(t) below is [[c + gamma s, s], [-omega^2 s, c - gamma s]] with
 *   c = e^{-gamma t} cos(Omega t), s = e^{-gamma t} sin(Omega t) / Omega (cosh/sinh when
 *   overdamped, s = t e^{-gamma t} at critical damping).
 * - Transient covariance from a deterministic start: Cov_k = C - M^k C M^kT (discrete),
 *   Cov(t) = C - P(t) C P(t)^T (continuous). */
#include "kenyon/dynamics.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void kn_mode_params_compute(double lr, double momentum, double k, kn_mode_params *o)
{
    o->mass = lr * (1 + momentum) / 2;
    o->gamma = (1 - momentum) / (lr * (1 + momentum));
    o->omega = sqrt(k / o->mass);
    o->big_omega = sqrt(fabs(o->omega * o->omega - o->gamma * o->gamma));
    o->underdamped = o->omega > o->gamma;
}

double kn_oscillation_threshold(double lr, double momentum)
{
    return (1 - momentum) * (1 - momentum) / (2 * lr * (1 + momentum));
}

double kn_speed_law(const kn_sgd_hparams *hp, double trace_sigma)
{
    return hp->lr * hp->lr * trace_sigma / (hp->batch * (1 - hp->momentum * hp->momentum));
}

void kn_closed_form_stationary(const kn_sgd_hparams *hp, double k, double sigma_ii,
                               double *var_a, double *var_v, double *cov_av)
{
    *var_a = hp->lr * sigma_ii / (2 * hp->batch * (1 - hp->momentum) * k);
    *var_v = sigma_ii / (hp->batch * (1 - hp->momentum * hp->momentum));
    *cov_av = 0;
}

/* c = e^{-gamma t} cos(Omega t), s = e^{-gamma t} sin(Omega t)/Omega (or cosh/sinh). */
static void damped_cs(const kn_mode_params *mp, double t, double *c, double *s)
{
    double g = mp->gamma, W = mp->big_omega;
    if (W < 1e-9 * (g + mp->omega)) {
        *c = exp(-g * t);
        *s = t * exp(-g * t);
    } else if (mp->underdamped) {
        double e = exp(-g * t);
        *c = e * cos(W * t);
        *s = e * sin(W * t) / W;
    } else { /* written with exponentials so large gamma t does not overflow cosh */
        double ep = exp((W - g) * t), em = exp(-(W + g) * t);
        *c = 0.5 * (ep + em);
        *s = 0.5 * (ep - em) / W;
    }
}

void kn_closed_form_propagator(double lr, double momentum, double k, double t, double P[4])
{
    kn_mode_params mp;
    kn_mode_params_compute(lr, momentum, k, &mp);
    double c, s;
    damped_cs(&mp, t, &c, &s);
    P[0] = c + mp.gamma * s;
    P[1] = s;
    P[2] = -mp.omega * mp.omega * s;
    P[3] = c - mp.gamma * s;
}

void kn_closed_form_mean(double lr, double momentum, double k, double t, double a0, double v0,
                         double *a_t, double *v_t)
{
    double P[4];
    kn_closed_form_propagator(lr, momentum, k, t, P);
    *a_t = P[0] * a0 + P[1] * v0;
    *v_t = P[2] * a0 + P[3] * v0;
}

void kn_update_matrix(double lr, double momentum, double k, double M[4])
{
    M[0] = 1 - lr * k;
    M[1] = -lr * momentum;
    M[2] = k;
    M[3] = momentum;
}

/* (P (x) Q)[r + 2c][r' + 2c'] = P[c][c'] Q[r][r'] for 2x2 row-major P, Q; adds s times it. */
static void add_kron2(double K[16], const double P[4], const double Q[4], double s)
{
    for (int c = 0; c < 2; c++)
        for (int r = 0; r < 2; r++)
            for (int c2 = 0; c2 < 2; c2++)
                for (int r2 = 0; r2 < 2; r2++)
                    K[(r + 2 * c) * 4 + (r2 + 2 * c2)] += s * P[c * 2 + c2] * Q[r * 2 + r2];
}

/* Solves the 4x4 system K vec X = vec W (column-major vec); X, W row-major 2x2. */
static int solve4(double K[16], const double W[4], double X[4], int i, int j, kn_error *err)
{
    double rhs[4] = {W[0], W[2], W[1], W[3]}; /* column-major vec */
    lapack_int ipiv[4];
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, 4, 1, K, 4, ipiv, rhs, 1);
    if (info != 0)
        return kn_fail(err, KN_EINVAL,
                       "Lyapunov block (%d,%d) is singular (info %d): the update is not stable", i,
                       j, (int)info);
    X[0] = rhs[0];
    X[2] = rhs[1];
    X[1] = rhs[2];
    X[3] = rhs[3];
    return 0;
}

static void store_block(double *C, int d, int i, int j, const double X[4])
{
    size_t n = 2 * (size_t)d;
    C[(size_t)i * n + j] = X[0];
    C[(size_t)i * n + d + j] = X[1];
    C[(size_t)(d + i) * n + j] = X[2];
    C[(size_t)(d + i) * n + d + j] = X[3];
    /* block (j,i) = X^T */
    C[(size_t)j * n + i] = X[0];
    C[(size_t)(d + j) * n + i] = X[1];
    C[(size_t)j * n + d + i] = X[2];
    C[(size_t)(d + j) * n + d + i] = X[3];
}

static int check_hp(const kn_sgd_hparams *hp, kn_error *err)
{
    const char *bad = kn_sgd_hparams_check(hp);
    return bad ? kn_fail(err, KN_EINVAL, "SGD hyperparameters: %s", bad) : 0;
}

/* Spectral radius of a 2x2 matrix, to refuse unstable updates with a clear message. */
static double spectral_radius2(const double M[4])
{
    double tr = M[0] + M[3], det = M[0] * M[3] - M[1] * M[2];
    double disc = tr * tr / 4 - det;
    if (disc >= 0)
        return fmax(fabs(tr / 2 + sqrt(disc)), fabs(tr / 2 - sqrt(disc)));
    return sqrt(det);
}

int kn_lyap_discrete(const kn_linreg *p, const kn_sgd_hparams *hp, double *C, kn_error *err)
{
    int rc = check_hp(hp, err);
    if (rc)
        return rc;
    int d = p->d;
    memset(C, 0, 4 * (size_t)d * d * sizeof(double));
    const double u[2] = {-hp->lr, 1.0};
    for (int i = 0; i < d; i++) {
        double Mi[4];
        kn_update_matrix(hp->lr, hp->momentum, p->h[i] + hp->wd, Mi);
        if (spectral_radius2(Mi) >= 1)
            return kn_fail(err, KN_EINVAL,
                           "SGD is unstable on mode %d (h = %g): lr %g too large for momentum %g",
                           i, p->h[i], hp->lr, hp->momentum);
        for (int j = i; j < d; j++) {
            double s = p->sigma[(size_t)i * d + j] / hp->batch;
            if (s == 0 && i != j)
                continue;
            double Mj[4], K[16] = {0}, Id2[4] = {1, 0, 0, 1}, W[4], X[4] = {0};
            kn_update_matrix(hp->lr, hp->momentum, p->h[j] + hp->wd, Mj);
            add_kron2(K, Id2, Id2, 1.0); /* I_2 (x) I_2 = I_4 */
            add_kron2(K, Mj, Mi, -1.0);
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < 2; c++)
                    W[r * 2 + c] = u[r] * u[c] * s;
            if ((rc = solve4(K, W, X, i, j, err)))
                return rc;
            /* (a, b) -> (a, v = -b): flip the sign of mixed entries. */
            X[1] = -X[1];
            X[2] = -X[2];
            store_block(C, d, i, j, X);
        }
    }
    return 0;
}

int kn_lyap_continuous(const kn_linreg *p, const kn_sgd_hparams *hp, double *C, kn_error *err)
{
    int rc = check_hp(hp, err);
    if (rc)
        return rc;
    int d = p->d;
    memset(C, 0, 4 * (size_t)d * d * sizeof(double));
    double m = hp->lr * (1 + hp->momentum) / 2;
    for (int i = 0; i < d; i++) {
        double Ai[4] = {0, -1, (p->h[i] + hp->wd) / m, (1 - hp->momentum) / m};
        for (int j = i; j < d; j++) {
            double s = p->sigma[(size_t)i * d + j];
            if (s == 0 && i != j)
                continue;
            double Aj[4] = {0, -1, (p->h[j] + hp->wd) / m, (1 - hp->momentum) / m};
            double K[16] = {0}, I2[4] = {1, 0, 0, 1}, X[4] = {0};
            add_kron2(K, I2, Ai, 1.0);
            add_kron2(K, Aj, I2, 1.0);
            double W[4] = {0, 0, 0, hp->lr * s / (hp->batch * m * m)};
            if ((rc = solve4(K, W, X, i, j, err)))
                return rc;
            store_block(C, d, i, j, X);
        }
    }
    return 0;
}

/* Dense Kronecker solvers for cross-checks: n^2 unknowns, row-major X, vec column-major. */
static int dense_solve(int n, double *K, const double *Q, double *X, const char *what,
                       kn_error *err)
{
    size_t nn = (size_t)n * n;
    double *rhs = malloc(nn * sizeof(double));
    lapack_int *ipiv = malloc(nn * sizeof(lapack_int));
    if (!rhs || !ipiv) {
        free(rhs);
        free(ipiv);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", what);
    }
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            rhs[r + (size_t)n * c] = Q[(size_t)r * n + c];
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)nn, 1, K, (lapack_int)nn, ipiv,
                                    rhs, 1);
    if (info == 0)
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                X[(size_t)r * n + c] = rhs[r + (size_t)n * c];
    free(rhs);
    free(ipiv);
    return info ? kn_fail(err, KN_EINVAL, "%s: singular Kronecker system (info %d)", what,
                          (int)info)
                : 0;
}

/* K += s (P (x) Q) for n x n row-major P, Q. */
static void add_kron(int n, double *K, const double *P, const double *Q, double s)
{
    size_t nn = (size_t)n * n;
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++)
            for (int c2 = 0; c2 < n; c2++)
                for (int r2 = 0; r2 < n; r2++)
                    K[(size_t)(r + n * c) * nn + (r2 + (size_t)n * c2)] +=
                        s * P[(size_t)c * n + c2] * Q[(size_t)r * n + r2];
}

static int dense_common(int n, const double *P1, const double *P2, double s2, int plus_identity,
                        const double *Q, double *X, const char *what, kn_error *err)
{
    if (n < 1 || n > 40)
        return kn_fail(err, KN_EINVAL, "%s: size %d out of range 1..40", what, n);
    size_t nn = (size_t)n * n;
    double *K = calloc(nn * nn, sizeof(double));
    double *Id = calloc(nn, sizeof(double));
    if (!K || !Id) {
        free(K);
        free(Id);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", what);
    }
    for (int i = 0; i < n; i++)
        Id[(size_t)i * n + i] = 1;
    if (plus_identity) { /* discrete: Id - M (x) M */
        for (size_t i = 0; i < nn; i++)
            K[i * nn + i] = 1;
        add_kron(n, K, P1, P1, s2);
    } else { /* continuous: Id (x) A + A (x) Id */
        add_kron(n, K, Id, P1, 1.0);
        add_kron(n, K, P2, Id, 1.0);
    }
    int rc = dense_solve(n, K, Q, X, what, err);
    free(K);
    free(Id);
    return rc;
}

int kn_lyap_continuous_dense(int n, const double *A, const double *Q, double *X, kn_error *err)
{
    return dense_common(n, A, A, 1.0, 0, Q, X, "continuous Lyapunov", err);
}

int kn_lyap_discrete_dense(int n, const double *M, const double *Q, double *X, kn_error *err)
{
    return dense_common(n, M, M, -1.0, 1, Q, X, "discrete Lyapunov", err);
}

int kn_msd_theory(const kn_linreg *p, const kn_sgd_hparams *hp, const double *a0, size_t n,
                  double *msd, kn_error *err)
{
    int d = p->d;
    size_t nd = 2 * (size_t)d;
    double *C = malloc(nd * nd * sizeof(double));
    double *P = malloc(4 * (size_t)d * sizeof(double));
    double *X = malloc(4 * (size_t)d * sizeof(double));
    if (!C || !P || !X) {
        free(C);
        free(P);
        free(X);
        return kn_fail(err, KN_ENOMEM, "MSD theory: out of memory");
    }
    int rc = kn_lyap_discrete(p, hp, C, err);
    if (rc == 0) {
        for (int i = 0; i < d; i++) { /* diagonal block in (a, b) coordinates */
            X[4 * i + 0] = C[(size_t)i * nd + i];
            X[4 * i + 1] = -C[(size_t)i * nd + d + i];
            X[4 * i + 2] = -C[(size_t)(d + i) * nd + i];
            X[4 * i + 3] = C[(size_t)(d + i) * nd + d + i];
            P[4 * i + 0] = 1;
            P[4 * i + 1] = 0;
            P[4 * i + 2] = 0;
            P[4 * i + 3] = 1;
        }
        for (size_t step = 0; step < n; step++) {
            double total = 0;
            for (int i = 0; i < d; i++) {
                double *Pi = P + 4 * i, *Xi = X + 4 * i;
                double mean = Pi[0] * a0[i]; /* b0 = 0 */
                /* (P X P^T)[0][0] */
                double r0 = Pi[0] * Xi[0] + Pi[1] * Xi[2], r1 = Pi[0] * Xi[1] + Pi[1] * Xi[3];
                double var = Xi[0] - (r0 * Pi[0] + r1 * Pi[1]);
                total += (mean - a0[i]) * (mean - a0[i]) + var;
                double M[4], Q[4];
                kn_update_matrix(hp->lr, hp->momentum, p->h[i] + hp->wd, M);
                Q[0] = M[0] * Pi[0] + M[1] * Pi[2];
                Q[1] = M[0] * Pi[1] + M[1] * Pi[3];
                Q[2] = M[2] * Pi[0] + M[3] * Pi[2];
                Q[3] = M[2] * Pi[1] + M[3] * Pi[3];
                memcpy(Pi, Q, sizeof Q);
            }
            msd[step] = total;
        }
    }
    free(C);
    free(P);
    free(X);
    return rc;
}

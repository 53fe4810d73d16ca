/* kenyon error reporting: every fallible function returns a status (0 ok, negative = kind) and
 * fills a kn_error whose message names the file, offset or parameter at fault. */
#ifndef KENYON_ERROR_H
#define KENYON_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum kn_status {
    KN_OK = 0,
    KN_EINVAL = -1,  /* a parameter is out of range or inconsistent */
    KN_EIO = -2,     /* a file could not be opened, read or written */
    KN_EFORMAT = -3, /* a file's contents are malformed */
    KN_ENOMEM = -4,  /* an allocation failed or a size would overflow */
    KN_ESTATE = -5,  /* the call is not valid in the object's current state */
};

#define KN_ERROR_MSG_MAX 512

typedef struct kn_error {
    int code;
    char msg[KN_ERROR_MSG_MAX];
} kn_error;

/* Records code and a printf-style message in err (if err is not NULL) and returns code. */
int kn_fail(kn_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to "no error". */
void kn_error_clear(kn_error *err);

/* A short name for a status ("invalid argument", ...). */
const char *kn_status_name(int code);

#ifdef __cplusplus
}
#endif
#endif

/* Error messages: a status code plus a formatted message owned by the caller's kn_error. */
#include "kenyon/error.h"

#include <stdarg.h>
#include <stdio.h>

int kn_fail(kn_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void kn_error_clear(kn_error *err)
{
    if (err) {
        err->code = KN_OK;
        err->msg[0] = '\0';
    }
}

const char *kn_status_name(int code)
{
    switch (code) {
    case KN_OK: return "ok";
    case KN_EINVAL: return "invalid argument";
    case KN_EIO: return "I/O error";
    case KN_EFORMAT: return "malformed input";
    case KN_ENOMEM: return "out of memory";
    case KN_ESTATE: return "invalid state";
    default: return "unknown error";
    }
}

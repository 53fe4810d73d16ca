/* kn_array helpers shared by the IDX and npy readers: element sizes, names, access, release. */
#include "kenyon/formats.h"

#include <stdlib.h>
#include <string.h>

size_t kn_dtype_size(kn_dtype t)
{
    switch (t) {
    case KN_DT_U8: case KN_DT_I8: return 1;
    case KN_DT_I16: return 2;
    case KN_DT_I32: case KN_DT_F32: return 4;
    case KN_DT_I64: case KN_DT_F64: return 8;
    }
    return 0;
}

const char *kn_dtype_name(kn_dtype t)
{
    switch (t) {
    case KN_DT_U8: return "uint8";
    case KN_DT_I8: return "int8";
    case KN_DT_I16: return "int16";
    case KN_DT_I32: return "int32";
    case KN_DT_I64: return "int64";
    case KN_DT_F32: return "float32";
    case KN_DT_F64: return "float64";
    }
    return "unknown";
}

void kn_array_free(kn_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

double kn_array_get(const kn_array *a, size_t i)
{
    const unsigned char *p = (const unsigned char *)a->data + i * kn_dtype_size(a->dtype);
    switch (a->dtype) {
    case KN_DT_U8: return *p;
    case KN_DT_I8: return (int8_t)*p;
    case KN_DT_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case KN_DT_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case KN_DT_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case KN_DT_F32: { float v; memcpy(&v, p, 4); return v; }
    case KN_DT_F64: { double v; memcpy(&v, p, 8); return v; }
    }
    return 0;
}

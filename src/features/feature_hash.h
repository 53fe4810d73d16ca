/* The 64-bit digest the feature caches key their files by (cache.c for LeNet5, resnet18_cache.c
 * for ResNet-18): FNV-1a-style, eight bytes a step then the tail byte by byte, written here
 * because it only has to tell inputs apart, not resist attackers. Streaming input gives the same
 * digest as one call as long as every chunk but the last is a multiple of 8 bytes. */
#ifndef KN_FEATURE_HASH_H
#define KN_FEATURE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KN_FEATURE_HASH_INIT 0xcbf29ce484222325ULL
#define KN_FEATURE_HASH_PRIME 0x100000001b3ULL

static inline uint64_t kn_feature_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * KN_FEATURE_HASH_PRIME;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ p[i]) * KN_FEATURE_HASH_PRIME;
    return h;
}

static inline uint64_t kn_feature_hash_u64(uint64_t h, uint64_t v)
{
    return kn_feature_hash_bytes(h, &v, sizeof v);
}

#endif

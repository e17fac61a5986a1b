/*
 * crc32c.c: CRC-32C, hardware-accelerated where the CPU allows.
 *
 * The portable path is slice-by-8 over tables built once (pthread_once).
 * The x86-64 path uses the SSE4.2 crc32 instruction through a function
 * compiled with the target attribute, so the rest of the library needs no
 * special flags and still runs on CPUs without SSE4.2.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t tables[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        tables[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            tables[t][i] =
                (tables[t - 1][i] >> 8) ^ tables[0][tables[t - 1][i] & 0xff];
}

uint32_t cairn__crc32c_extend_portable(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&tables_once, build_tables);
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = tables[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo = (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
                      ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | ((uint32_t)p[5] << 8) |
                      ((uint32_t)p[6] << 16) | ((uint32_t)p[7] << 24);
        lo ^= c;
        c = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^
            tables[5][(lo >> 16) & 0xff] ^ tables[4][lo >> 24] ^
            tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^
            tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        c = tables[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define CAIRN_HAVE_HW_CRC 1
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t c = ~crc;
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

static int hw_ok = -1;
static pthread_once_t hw_once = PTHREAD_ONCE_INIT;

static void probe_hw(void)
{
    __builtin_cpu_init();
    hw_ok = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    /* Self-test: trust the instruction only if it agrees with the table. */
    if (hw_ok && crc_hw(0, "TestCRCBuffer", 13) !=
                     cairn__crc32c_extend_portable(0, "TestCRCBuffer", 13))
        hw_ok = 0;
}
#endif

int cairn__crc32c_hw_available(void)
{
#ifdef CAIRN_HAVE_HW_CRC
    pthread_once(&hw_once, probe_hw);
    return hw_ok;
#else
    return 0;
#endif
}

uint32_t cairn__crc32c_extend(uint32_t crc, const void *data, size_t n)
{
#ifdef CAIRN_HAVE_HW_CRC
    if (cairn__crc32c_hw_available())
        return crc_hw(crc, data, n);
#endif
    return cairn__crc32c_extend_portable(crc, data, n);
}

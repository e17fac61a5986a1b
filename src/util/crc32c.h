/*
 * crc32c.h: CRC-32C (Castagnoli) and LevelDB's checksum mask.
 *
 * Reflected polynomial 0x82F63B78, initial value and output inverted.
 * The SSE4.2 crc32 instruction is used when the CPU has it (checked once at
 * run time); otherwise a portable slice-by-8 table.
 *
 * Stored checksums are masked (rotate right 15, add 0xa282ead8) because
 * computing a CRC over data that itself holds CRCs is weak (LevelDB).
 */
#ifndef CAIRN_UTIL_CRC32C_H
#define CAIRN_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of data appended to a message whose CRC is `crc` (0 for a fresh
 * start). */
uint32_t cairn__crc32c_extend(uint32_t crc, const void *data, size_t n);

static inline uint32_t cairn__crc32c(const void *data, size_t n)
{
    return cairn__crc32c_extend(0, data, n);
}

/* The portable implementation, exported so tests can compare both paths. */
uint32_t cairn__crc32c_extend_portable(uint32_t crc, const void *data,
                                       size_t n);

/* 1 when the hardware path is in use. */
int cairn__crc32c_hw_available(void);

#define CAIRN__CRC_MASK_DELTA 0xa282ead8u

static inline uint32_t cairn__crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + CAIRN__CRC_MASK_DELTA;
}

static inline uint32_t cairn__crc32c_unmask(uint32_t masked)
{
    uint32_t rot = masked - CAIRN__CRC_MASK_DELTA;
    return (rot >> 17) | (rot << 15);
}

#endif
